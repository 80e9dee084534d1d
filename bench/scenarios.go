package main

import (
	"context"
	"fmt"

	"github.com/valyala/fasthttp"
)

// scenario is one measurement. A scenario with a baseline is reported as a
// ratio to that baseline's rate in the same run and judged against target.
type scenario struct {
	name     string
	baseline string
	target   float64
	run      func(ctx context.Context, e *env, o runOptions) (result, error)
}

// scenarios lists every measurement in the order they run: baselines first.
func scenarios() []scenario {
	return []scenario{
		{name: "ping", run: httpScenario(func(_, _ int, req *fasthttp.Request) {
			req.SetRequestURI("/ping")
		}, statusIs(200), nil)},
	}
}

// httpScenario runs a closed-loop HTTP load against Siyu and then, if
// given, a correctness check.
func httpScenario(send request, check outcome, verify func(ctx context.Context, e *env) error) func(context.Context, *env, runOptions) (result, error) {
	return func(ctx context.Context, e *env, o runOptions) (result, error) {
		res := load(ctx, e.siyuAddr, o.concurrency, o.warmup, o.duration, send, check)
		if res.Requests == 0 {
			return res, fmt.Errorf("no request was answered")
		}
		if verify != nil {
			if err := verify(ctx, e); err != nil {
				return res, err
			}
		}
		return res, nil
	}
}
