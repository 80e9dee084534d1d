// Command bench measures Siyu's hot paths against real PostgreSQL, Redis
// and LiveKit on loopback, each as a ratio to a baseline measured in the
// same run, and checks correctness in the same run. `make bench` runs it.
//
// On a machine with two or more cores the Siyu server is pinned to core 0
// and this load generator to core 1, so the two never compete for a core;
// PostgreSQL, Redis and LiveKit are not pinned.
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
	"time"

	"github.com/siyu-live/siyu/testsupport"
)

func main() {
	os.Exit(run())
}

func run() int {
	duration := flag.Duration("duration", 5*time.Second, "how long each scenario is measured")
	warmup := flag.Duration("warmup", time.Second, "unmeasured load before each measurement")
	concurrency := flag.Int("concurrency", 64, "concurrent requests in flight")
	only := flag.String("run", "", "only scenarios whose name matches this regexp")
	flag.Parse()

	if cpus := machineCores(); cpus >= 2 && os.Getenv("SIYU_BENCH_PINNED") == "" {
		if _, err := exec.LookPath("taskset"); err == nil {
			// Re-run this program on core 1; Siyu will run on core 0.
			cmd := exec.Command("taskset", append([]string{"-c", "1", os.Args[0]}, os.Args[1:]...)...)
			cmd.Env = append(os.Environ(), "SIYU_BENCH_PINNED=1")
			cmd.Stdout, cmd.Stderr, cmd.Stdin = os.Stdout, os.Stderr, os.Stdin
			if err := cmd.Run(); err != nil {
				if ee, ok := err.(*exec.ExitError); ok {
					return ee.ExitCode()
				}
				fmt.Fprintln(os.Stderr, "bench:", err)
				return 1
			}
			return 0
		}
	}
	serverCPU, sharing := "", "server and generator share every core (taskset unavailable or one core)"
	if os.Getenv("SIYU_BENCH_PINNED") == "1" {
		serverCPU, sharing = "0", "server pinned to core 0, load generator to core 1; PostgreSQL, Redis and LiveKit unpinned"
	}
	filter, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -run:", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root := testsupport.ModuleRoot()
	e, err := start(ctx, root, serverCPU)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer e.close()

	opts := runOptions{duration: *duration, warmup: *warmup, concurrency: *concurrency}
	rep := report{
		Started:     time.Now().UTC(),
		Machine:     machine{Cores: machineCores(), MemoryGB: machineMemoryGB(), GoVersion: runtime.Version()},
		CoreSharing: sharing,
		Duration:    opts.duration.String(),
		Concurrency: opts.concurrency,
	}
	for _, sc := range scenarios() {
		if !filter.MatchString(sc.name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s…\n", sc.name)
		e.resetPeak()
		res, err := sc.run(ctx, e, opts)
		row := row{Scenario: sc.name, Baseline: sc.baseline, Target: sc.target, Result: res, PeakMB: e.peakMB()}
		if err != nil {
			row.Failure = err.Error()
		}
		rep.Rows = append(rep.Rows, row)
		if ctx.Err() != nil {
			break
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

// runOptions are the load settings every HTTP scenario uses.
type runOptions struct {
	duration, warmup time.Duration
	concurrency      int
}
