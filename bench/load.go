package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// errDone ends a worker: it has nothing left to send (a scenario with a
// fixed supply of requests, such as pre-signed notifications).
var errDone = errors.New("nothing left to send")

// operation is one worker's next operation; seq counts the worker's own
// operations, so scenarios can vary members, IDs and bodies. It returns
// errDone when the worker has nothing left to do.
type operation func(seq int) error

// result is one measured run.
type result struct {
	Requests   int64              `json:"requests"`
	Errors     int64              `json:"errors"`
	Duration   time.Duration      `json:"duration_ns"`
	Rate       float64            `json:"rate_per_s"`
	P50        time.Duration      `json:"p50_ns"`
	P99        time.Duration      `json:"p99_ns"`
	PeakMB     float64            `json:"server_peak_mb,omitempty"`
	ErrSamples []string           `json:"error_samples,omitempty"`
	Checks     []string           `json:"checks,omitempty"`
	Notes      []string           `json:"notes,omitempty"`
	Values     map[string]float64 `json:"values,omitempty"`
	// window is the machine's CPU at the start and end of the measurement.
	window [2]cpuSample
	// cpu, when set, is what the measurement used, for one measured in
	// turns with another (its windows are not one span).
	cpu *usage
}

// mergeLatencies sorts every worker's latencies into one slice.
func mergeLatencies(all [][]time.Duration) []time.Duration {
	var merged []time.Duration
	for _, l := range all {
		merged = append(merged, l...)
	}
	sort.Slice(merged, func(i, j int) bool { return merged[i] < merged[j] })
	return merged
}

// loop runs a closed loop: concurrency workers, each starting its next
// operation as soon as the previous one ends, for duration after warmup
// (or until every worker is done). Operations that end during the
// measurement are counted, with their latency; errors are sampled.
func loop(ctx context.Context, concurrency int, warmup, duration time.Duration, newWorker func(w int) operation) result {
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		requests  atomic.Int64
		errs      atomic.Int64
		mu        sync.Mutex
		samples   []string
		all       = make([][]time.Duration, concurrency)
		wg        sync.WaitGroup
		finished  = make(chan struct{})
	)
	for w := range concurrency {
		op := newWorker(w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1<<14)
			for seq := 0; !stop.Load() && ctx.Err() == nil; seq++ {
				start := time.Now()
				err := op(seq)
				elapsed := time.Since(start)
				if errors.Is(err, errDone) {
					break
				}
				if !measuring.Load() {
					continue
				}
				requests.Add(1)
				lat = append(lat, elapsed)
				if err != nil {
					errs.Add(1)
					mu.Lock()
					if len(samples) < 5 {
						samples = append(samples, err.Error())
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			all[w] = lat
			mu.Unlock()
		}()
	}
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-time.After(warmup):
	case <-finished:
	case <-ctx.Done():
	}
	cpuStart := sampleCPU()
	measuring.Store(true)
	began := time.Now()
	select {
	case <-time.After(duration):
	case <-finished:
	case <-ctx.Done():
	}
	measuring.Store(false)
	took := time.Since(began)
	cpuEnd := sampleCPU()
	stop.Store(true)
	<-finished
	merged := mergeLatencies(all)
	r := result{Requests: requests.Load(), Errors: errs.Load(), Duration: took, ErrSamples: samples, window: [2]cpuSample{cpuStart, cpuEnd}}
	r.Rate = float64(r.Requests) / took.Seconds()
	if n := len(merged); n > 0 {
		r.P50 = merged[n/2]
		r.P99 = merged[(n*99)/100]
	}
	return r
}

// request fills in one HTTP request of a worker; it returns false when the
// worker has nothing left to send.
type request func(worker, seq int, req *fasthttp.Request) bool

// outcome judges an answer: nil when it is the scenario's right answer.
// It sees every answer, warm-up included, so scenarios can count what
// they created.
type outcome func(status int, body []byte) error

// httpLoad is loop for HTTP requests to addr through a fasthttp client
// with a connection per worker.
func httpLoad(ctx context.Context, addr string, o runOptions, send request, check outcome) result {
	client := newLoadClient(addr, o.concurrency)
	defer client.CloseIdleConnections()
	return loop(ctx, o.concurrency, o.warmup, o.duration, func(w int) operation {
		return httpOperation(client, addr, w, send, check)
	})
}

// httpTurns is turns for HTTP requests to addr: the scenario's (send,
// check) in turns with GET /ping, through one fasthttp client.
func httpTurns(ctx context.Context, addr string, o runOptions, r roles, send request, check outcome) (scenario, ping result) {
	client := newLoadClient(addr, o.concurrency)
	defer client.CloseIdleConnections()
	return turns(ctx, o.concurrency, o.warmup, o.duration, r, func(w int, s side) operation {
		if s == sidePing {
			return httpOperation(client, addr, w, sendPing, statusIs(200))
		}
		return httpOperation(client, addr, w, send, check)
	})
}

// newLoadClient is a fasthttp client of addr with room for a connection
// per worker (twice over, for loads in turns).
func newLoadClient(addr string, concurrency int) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                          addr,
		MaxConns:                      concurrency * 2,
		ReadTimeout:                   30 * time.Second,
		WriteTimeout:                  30 * time.Second,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
	}
}

// httpOperation is worker w's operation: the request send fills in,
// judged by check.
func httpOperation(client *fasthttp.HostClient, addr string, w int, send request, check outcome) operation {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	return func(seq int) error {
		req.Reset()
		if !send(w, seq, req) {
			return errDone
		}
		// After send: setting a relative URI clears the host.
		req.Header.SetHost(addr)
		if err := client.Do(req, resp); err != nil {
			return err
		}
		return check(resp.StatusCode(), resp.Body())
	}
}

// sendPing is GET /ping.
func sendPing(_, _ int, req *fasthttp.Request) bool {
	req.SetRequestURI("/ping")
	return true
}

// statusIs accepts answers with one of the given statuses.
func statusIs(codes ...int) outcome {
	return func(status int, body []byte) error {
		for _, c := range codes {
			if status == c {
				return nil
			}
		}
		return fmt.Errorf("%d %.300s", status, body)
	}
}
