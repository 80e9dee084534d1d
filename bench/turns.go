package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// A scenario measured in turns with /ping shares its measurement with it:
// the same workers send the scenario's requests for half a second, then
// /ping's for the next half second, and so on. This machine's speed
// drifts by a fifth from one minute to the next (the host's other
// tenants), more than the margin of most targets; in turns the drift
// falls on both rates alike, and their ratio keeps only what the routes
// cost.
const (
	turnLength = 500 * time.Millisecond
	// turnSettle opens a turn's window once the other side's requests
	// still in flight have ended (their p99 is a few milliseconds).
	turnSettle = 25 * time.Millisecond
)

// side is one of the two loads taking turns.
type side int

const (
	sideScenario side = iota
	sidePing
)

// turnSide is what one side measured over its windows.
type turnSide struct {
	requests, errs int64
	samples        []string
	lat            [][]time.Duration // per worker
	took           time.Duration
	cpu            usage // summed as % × seconds; divided by took at the end
}

// turns runs two closed loops in turns: concurrency workers each send the
// current turn's operation as soon as their previous one ends, the
// scenario's in even turns and /ping's in odd ones, until each side has
// been measured for duration (after warmup, in turns too) or the
// scenario has nothing left to send. A turn's window opens turnSettle
// after it begins and closes as it ends; an operation counts for its side
// when it began in that turn and ended in its window. Each result has the
// CPU its side's windows used (result.cpu).
func turns(ctx context.Context, concurrency int, warmup, duration time.Duration, r roles, newWorker func(w int, s side) operation) (scenario, ping result) {
	var (
		turn   atomic.Int64
		open   atomic.Bool
		stop   atomic.Bool
		mu     sync.Mutex
		sides  [2]turnSide
		wg     sync.WaitGroup
		noMore = make(chan struct{})
		once   sync.Once
	)
	for s := range sides {
		sides[s].lat = make([][]time.Duration, concurrency)
	}
	for w := range concurrency {
		ops := [2]operation{newWorker(w, sideScenario), newWorker(w, sidePing)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var (
				seq  [2]int
				n    [2]int64
				errs [2]int64
				lat  [2][]time.Duration
			)
			defer func() {
				mu.Lock()
				for s := range sides {
					sides[s].requests += n[s]
					sides[s].errs += errs[s]
					sides[s].lat[w] = lat[s]
				}
				mu.Unlock()
			}()
			for !stop.Load() && ctx.Err() == nil {
				t := turn.Load()
				s := side(t % 2)
				start := time.Now()
				err := ops[s](seq[s])
				elapsed := time.Since(start)
				seq[s]++
				if errors.Is(err, errDone) {
					once.Do(func() { close(noMore) })
					return
				}
				if !open.Load() || turn.Load() != t {
					continue
				}
				n[s]++
				lat[s] = append(lat[s], elapsed)
				if err != nil {
					errs[s]++
					mu.Lock()
					if len(sides[s].samples) < 5 {
						sides[s].samples = append(sides[s].samples, err.Error())
					}
					mu.Unlock()
				}
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	wait := func(d time.Duration) bool {
		select {
		case <-time.After(d):
			return true
		case <-noMore:
		case <-finished:
		case <-ctx.Done():
		}
		return false
	}
	warm := time.Now().Add(warmup)
	for going := true; going; {
		s := side(turn.Add(1) % 2)
		if going = wait(turnSettle); !going {
			break
		}
		measuring := time.Now().After(warm)
		var before cpuSample
		if measuring {
			before = sampleCPU()
			open.Store(true)
		}
		going = wait(turnLength - turnSettle)
		open.Store(false)
		if measuring {
			after := sampleCPU()
			secs := after.at.Sub(before.at)
			sides[s].took += secs
			sides[s].cpu = sides[s].cpu.plus(after.usageSince(before, r).times(secs.Seconds()))
		}
		if sides[sideScenario].took >= duration && sides[sidePing].took >= duration {
			going = false
		}
	}
	stop.Store(true)
	<-finished
	out := [2]result{}
	for s := range sides {
		sd := &sides[s]
		res := result{Requests: sd.requests, Errors: sd.errs, Duration: sd.took, ErrSamples: sd.samples}
		if sd.took > 0 {
			res.Rate = float64(sd.requests) / sd.took.Seconds()
			cpu := sd.cpu.times(1 / sd.took.Seconds())
			res.cpu = &cpu
		}
		merged := mergeLatencies(sd.lat)
		if n := len(merged); n > 0 {
			res.P50 = merged[n/2]
			res.P99 = merged[(n*99)/100]
		}
		out[s] = res
	}
	return out[sideScenario], out[sidePing]
}

// times scales every part of u by f.
func (u usage) times(f float64) usage {
	return usage{Generator: u.Generator * f, Server: u.Server * f, Worker: u.Worker * f, Postgres: u.Postgres * f,
		Redis: u.Redis * f, WeChat: u.WeChat * f, Rest: u.Rest * f, Interrupts: u.Interrupts * f, Other: u.Other * f, Steal: u.Steal * f}
}

// plus adds v to u, part by part.
func (u usage) plus(v usage) usage {
	return usage{Generator: u.Generator + v.Generator, Server: u.Server + v.Server, Worker: u.Worker + v.Worker, Postgres: u.Postgres + v.Postgres,
		Redis: u.Redis + v.Redis, WeChat: u.WeChat + v.WeChat, Rest: u.Rest + v.Rest, Interrupts: u.Interrupts + v.Interrupts, Other: u.Other + v.Other, Steal: u.Steal + v.Steal}
}
