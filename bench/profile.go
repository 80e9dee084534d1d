package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// profiler records where a server process spends its CPU during a
// measurement, with perf (software cpu-clock events, so it works in
// virtual machines): the flat and the inclusive top functions go to
// data/bench/profiles/NAME.txt, the evidence for a missed target.
type profiler struct {
	dir string
}

func newProfiler(dataDir string) (*profiler, error) {
	if _, err := exec.LookPath("perf"); err != nil {
		return nil, fmt.Errorf("-profile needs perf: %w", err)
	}
	dir := filepath.Join(dataDir, "profiles")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	return &profiler{dir: dir}, nil
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// record profiles pid for d, starting after delay, in the background; the
// returned function waits for it and writes the report.
func (p *profiler) record(ctx context.Context, name string, pid int, delay, d time.Duration) func() {
	if p == nil {
		return func() {}
	}
	base := filepath.Join(p.dir, strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(name), "-"), "-"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return
		}
		secs := strconv.FormatFloat(d.Seconds(), 'f', 1, 64)
		rec := exec.CommandContext(ctx, "perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g", "-p", strconv.Itoa(pid), "-o", base+".data", "--", "sleep", secs)
		if out, err := rec.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: perf record %s: %v: %s\n", name, err, out)
			return
		}
		var report strings.Builder
		for _, args := range [][]string{
			{"report", "-i", base + ".data", "--stdio", "--no-children", "--sort", "symbol", "-g", "none", "--percent-limit", "0.7"},
			{"report", "-i", base + ".data", "--stdio", "--children", "--sort", "symbol", "-g", "none", "--percent-limit", "3"},
		} {
			out, err := exec.CommandContext(ctx, "perf", args...).Output()
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: perf report %s: %v\n", name, err)
				return
			}
			report.Write(out)
		}
		_ = os.WriteFile(base+".txt", []byte(report.String()), 0o644)
	}()
	return func() { <-done }
}
