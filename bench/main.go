// Command bench measures Siyu's hot paths against real PostgreSQL, Redis
// and LiveKit on loopback, each as a ratio to a baseline measured in the
// same run, and checks correctness in the same run. `make bench` runs it;
// it prints one table and writes the run as JSON to bench/results/.
//
// It starts a fresh PostgreSQL schema and Redis database (13), the WeChat
// sandbox as a process of its own (WeChat is remote to Siyu), LiveKit, and
// Siyu as production runs it: `bin/siyu serve` and `bin/siyu worker`. On
// a machine with two or more cores Siyu's API (and the naive endpoint)
// run on core 0 and this load generator on core 1, so the two never
// compete for a core; Siyu's worker, PostgreSQL, Redis, LiveKit and the
// sandbox are not pinned. Shoppers log in through the API (the
// sandbox phone's wx.login, then POST /mp/v1/session); staff sign in with
// an owner made by `siyu staff create`; shows, products, flash sales and
// campaigns are made through the console API. Where the API would take
// minutes of work the scenario does not measure, rows are written straight
// to the database (the comments say which and why).
//
// Baselines: GET /ping (the HTTP ceiling: same binary, same middleware);
// the catalog's flash-sale claim script straight against Redis from the
// generator; the SQL transaction of a payment notification straight
// against PostgreSQL; bench/naive, a flash sale decrementing a PostgreSQL
// row behind Siyu's edge middleware. Scenarios: flash-sale purchase
// (winning and sold-out paths), joining a show, comments, likes, payment
// notifications (signed and encrypted as WeChat Pay does), a campaign
// fanning out to -fanout members with /ping measured meanwhile.
//
// A scenario compared with /ping is measured in half-second turns with it
// where it can be (turns.go): this machine's speed drifts between one
// minute and the next, and the turns put the drift into both rates
// alike. The others are compared with the mean of a /ping measured right
// before and one right after them.
//
// Flags: -run selects scenarios by regexp (with their baselines),
// -duration and -warmup set each measurement, -concurrency the requests in
// flight, -profile records Siyu's CPU with perf into data/bench/profiles/
// (for a scenario in turns, /ping's turns included).
// Each row also says what every process used of the CPU while it was
// measured: a run where "other" is high was disturbed and should be
// repeated. Before each scenario the tables are vacuumed and the run
// waits for Siyu and the stores to idle, so no scenario pays for the
// work an earlier one left behind.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime"
	"strconv"
	"time"

	"github.com/siyu-live/siyu/testsupport"
)

func main() {
	if os.Getenv(roleEnv) == roleWeChat {
		os.Exit(runWeChat())
	}
	os.Exit(run())
}

func run() int {
	duration := flag.Duration("duration", 5*time.Second, "how long each scenario is measured")
	warmup := flag.Duration("warmup", time.Second, "unmeasured load before each measurement")
	concurrency := flag.Int("concurrency", 64, "concurrent requests in flight")
	members := flag.Int("members", 2000, "shoppers logged in through the API, one session each")
	fanout := flag.Int("fanout", 100000, "members a campaign fans out to")
	profile := flag.Bool("profile", false, "record the server's CPU profile of every measurement with perf into data/bench/profiles/")
	only := flag.String("run", "", "only scenarios whose name matches this regexp (and the baselines they are compared with)")
	flag.Parse()

	filter, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -run:", err)
		return 2
	}
	serverCPU, generatorCPU := "", ""
	sharing := "server and generator share every core (taskset unavailable or one core)"
	if _, err := exec.LookPath("taskset"); err == nil && machineCores() >= 2 {
		serverCPU, generatorCPU = "0", "1"
		sharing = "Siyu's API (and the naive endpoint) pinned to core 0, the load generator to core 1; Siyu's worker, PostgreSQL, Redis, LiveKit and the WeChat sandbox unpinned"
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root := testsupport.ModuleRoot()
	fmt.Fprintln(os.Stderr, "bench: starting PostgreSQL schema, Redis DB, WeChat sandbox, LiveKit and Siyu…")
	e, err := start(ctx, root, serverCPU, *fanout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer e.close()
	if generatorCPU != "" {
		// Everything this process started is running, unpinned or on the
		// server core; from now on it runs on the generator core only.
		if err := exec.Command("taskset", "-a", "-p", "-c", generatorCPU, strconv.Itoa(os.Getpid())).Run(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: pin the generator:", err)
			return 1
		}
		runtime.GOMAXPROCS(1)
	}

	opts := runOptions{duration: *duration, warmup: *warmup, concurrency: *concurrency}
	w := newWorld(e, opts, *members, *fanout)
	if *profile {
		if w.prof, err = newProfiler(e.dataDir); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 2
		}
	}
	rep := report{
		Started:     time.Now().UTC(),
		Machine:     describeMachine(),
		CoreSharing: sharing,
		Stores:      e.describeStores(ctx),
		Duration:    opts.duration.String(),
		Warmup:      opts.warmup.String(),
		Concurrency: opts.concurrency,
		Members:     *members,
	}
	all := scenarios()
	wanted := map[string]bool{}
	for _, sc := range all {
		if filter.MatchString(sc.name) {
			wanted[sc.name] = true
			if sc.baseline != "" {
				wanted[sc.baseline] = true
			}
			for _, b := range sc.needs {
				wanted[b] = true
			}
		}
	}
	// A ping-relative row is compared with the /ping measured in turns
	// with it (turns.go), or, for a scenario that cannot take turns, with
	// the mean of the /ping measured right before and right after it: the
	// machine's speed drifts over a run (other tenants of its host), and a
	// ping taken minutes earlier would put that drift into the ratio.
	var lastPing float64 // the ping just measured; 0 once anything else ran
	ping := func() bool {
		rw := measure(ctx, e, w, scenarios()[0])
		if rw.Failure != "" {
			rep.Rows = append(rep.Rows, rw)
			return false
		}
		if len(rep.Rows) == 0 {
			rep.Rows = append(rep.Rows, rw)
		} else {
			rep.PairedPings = append(rep.PairedPings, rw.Result.Rate)
		}
		lastPing = rw.Result.Rate
		return true
	}
	for _, sc := range all {
		if !wanted[sc.name] || ctx.Err() != nil {
			continue
		}
		if sc.name == basePing {
			if !ping() {
				break
			}
			continue
		}
		paired := sc.baseline == basePing && !sc.turns && wanted[basePing]
		if paired && lastPing == 0 && !ping() {
			break
		}
		before := lastPing
		w.inTurns = sc.turns
		first := measure(ctx, e, w, sc)
		w.inTurns = false
		if p := w.turnPing; p != nil {
			first.BaselineRates = []float64{p.Rate}
			first.Result.Notes = append(first.Result.Notes, fmt.Sprintf("measured in %s turns with /ping: /ping ran %.0f/s (p50 %s, p99 %s, %d errors) in its turns",
				turnLength, p.Rate, ms(p.P50), ms(p.P99), p.Errors))
			w.turnPing = nil
		}
		rows := append([]row{first}, w.derived...)
		w.derived = nil
		lastPing = 0
		var after []int
		for _, rw := range rows {
			if rw.Baseline == basePing && len(rw.BaselineRates) == 0 && before > 0 {
				rw.BaselineRates = []float64{before}
				after = append(after, len(rep.Rows))
			}
			rep.Rows = append(rep.Rows, rw)
		}
		if len(after) > 0 && ctx.Err() == nil && ping() {
			for _, i := range after {
				rep.Rows[i].BaselineRates = append(rep.Rows[i].BaselineRates, lastPing)
			}
		}
	}
	rep.resolve()
	rep.print(os.Stdout)
	path, err := rep.save(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: save results:", err)
		return 1
	}
	fmt.Printf("\nresults: %s\n", path)
	if rep.failed() {
		return 1
	}
	return 0
}

// measure runs one scenario after the machine idles and returns its row,
// with the CPU each process used while it was measured; the rows the
// scenario derived stay in w.derived, given the same CPU where they have
// none of their own.
func measure(ctx context.Context, e *env, w *world, sc scenario) row {
	e.quiesce(ctx)
	fmt.Fprintf(os.Stderr, "bench: %s…\n", sc.name)
	w.current = sc.name
	before := sampleCPU()
	res, err := sc.run(ctx, w)
	after := sampleCPU()
	if !res.window[0].at.IsZero() {
		// The measured window, not the setup and checks around it.
		before, after = res.window[0], res.window[1]
	}
	rw := row{Scenario: sc.name, Kind: sc.kind, Baseline: sc.baseline, Target: sc.target, Result: res, CPU: after.usageSince(before, e.roles())}
	if res.cpu != nil {
		// Measured in turns: the CPU of the scenario's own windows.
		rw.CPU = *res.cpu
	}
	if err != nil {
		rw.Failure = err.Error()
		fmt.Fprintf(os.Stderr, "bench: %s FAILED: %v\n", sc.name, err)
	} else {
		fmt.Fprintf(os.Stderr, "bench: %s: %.0f/s p50 %s p99 %s errors %d\n", sc.name, res.Rate, ms(res.P50), ms(res.P99), res.Errors)
	}
	for i := range w.derived {
		if w.derived[i].CPU == (usage{}) {
			w.derived[i].CPU = rw.CPU
		}
	}
	return rw
}

// runOptions are the load settings every HTTP scenario uses.
type runOptions struct {
	duration, warmup time.Duration
	concurrency      int
}
