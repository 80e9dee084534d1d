package main

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// request is one HTTP request a scenario sends; worker is the index of the
// load worker and seq its own counter, so scenarios can vary members, IDs
// and bodies deterministically.
type request func(worker, seq int, req *fasthttp.Request)

// outcome classifies an answer: ok, expected (a right answer that is not
// the scenario's main path, such as sold_out), or error.
type outcome func(status int, body []byte) (ok bool)

// result is one measured run.
type result struct {
	Requests   int64         `json:"requests"`
	Errors     int64         `json:"errors"`
	Duration   time.Duration `json:"duration_ns"`
	Rate       float64       `json:"rate_per_s"`
	P50        time.Duration `json:"p50_ns"`
	P99        time.Duration `json:"p99_ns"`
	ErrSamples []string      `json:"error_samples,omitempty"`
}

// load runs a closed loop: concurrency workers, each sending its next
// request as soon as the previous answers, for duration (after warmup),
// against addr. Latencies are kept per worker and merged at the end.
func load(ctx context.Context, addr string, concurrency int, warmup, duration time.Duration, send request, check outcome) result {
	client := &fasthttp.HostClient{
		Addr:                          addr,
		MaxConns:                      concurrency * 2,
		ReadTimeout:                   10 * time.Second,
		WriteTimeout:                  10 * time.Second,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
	}
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		requests  atomic.Int64
		errs      atomic.Int64
		mu        sync.Mutex
		samples   []string
		all       [][]time.Duration
		wg        sync.WaitGroup
	)
	all = make([][]time.Duration, concurrency)
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			lat := make([]time.Duration, 0, 1<<14)
			for seq := 0; !stop.Load() && ctx.Err() == nil; seq++ {
				req.Reset()
				send(w, seq, req)
				// After send: setting a relative URI clears the host.
				req.Header.SetHost(addr)
				start := time.Now()
				err := client.Do(req, resp)
				elapsed := time.Since(start)
				if !measuring.Load() {
					continue
				}
				requests.Add(1)
				lat = append(lat, elapsed)
				if err != nil || !check(resp.StatusCode(), resp.Body()) {
					errs.Add(1)
					mu.Lock()
					if len(samples) < 5 {
						if err != nil {
							samples = append(samples, err.Error())
						} else {
							samples = append(samples, string(resp.Body()))
						}
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			all[w] = lat
			mu.Unlock()
		}()
	}
	time.Sleep(warmup)
	measuring.Store(true)
	began := time.Now()
	select {
	case <-time.After(duration):
	case <-ctx.Done():
	}
	measuring.Store(false)
	took := time.Since(began)
	stop.Store(true)
	wg.Wait()
	var merged []time.Duration
	for _, l := range all {
		merged = append(merged, l...)
	}
	sort.Slice(merged, func(i, j int) bool { return merged[i] < merged[j] })
	r := result{Requests: requests.Load(), Errors: errs.Load(), Duration: took, ErrSamples: samples}
	r.Rate = float64(r.Requests) / took.Seconds()
	if n := len(merged); n > 0 {
		r.P50 = merged[n/2]
		r.P99 = merged[(n*99)/100]
	}
	return r
}

// statusIs accepts answers with one of the given statuses.
func statusIs(codes ...int) outcome {
	return func(status int, _ []byte) bool {
		for _, c := range codes {
			if status == c {
				return true
			}
		}
		return false
	}
}
