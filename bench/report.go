package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

type machine struct {
	Cores     int     `json:"cores"`
	MemoryGB  float64 `json:"memory_gb"`
	GoVersion string  `json:"go_version"`
}

// row is one scenario's measurement and verdict.
type row struct {
	Scenario string  `json:"scenario"`
	Baseline string  `json:"baseline,omitempty"`
	Target   float64 `json:"target_ratio,omitempty"`
	Result   result  `json:"result"`
	PeakMB   float64 `json:"server_peak_mb"`
	Ratio    float64 `json:"ratio,omitempty"`
	Met      *bool   `json:"met,omitempty"`
	Failure  string  `json:"failure,omitempty"`
}

type report struct {
	Started     time.Time `json:"started"`
	Machine     machine   `json:"machine"`
	CoreSharing string    `json:"core_sharing"`
	Duration    string    `json:"duration"`
	Concurrency int       `json:"concurrency"`
	Rows        []row     `json:"rows"`
}

// resolve computes every ratio against its baseline from the same run.
func (r *report) resolve() {
	rates := map[string]float64{}
	for _, rw := range r.Rows {
		rates[rw.Scenario] = rw.Result.Rate
	}
	for i := range r.Rows {
		rw := &r.Rows[i]
		if rw.Baseline == "" || rw.Failure != "" {
			continue
		}
		base := rates[rw.Baseline]
		if base == 0 {
			continue
		}
		rw.Ratio = rw.Result.Rate / base
		met := rw.Ratio >= rw.Target
		rw.Met = &met
	}
}

func (r *report) failed() bool {
	for _, rw := range r.Rows {
		if rw.Failure != "" {
			return true
		}
	}
	return false
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "Siyu benchmarks — %d cores, %.0f GB, %s; %s; %s per scenario, %d in flight\n\n",
		r.Machine.Cores, r.Machine.MemoryGB, r.Machine.GoVersion, r.CoreSharing, r.Duration, r.Concurrency)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trate/s\tp50\tp99\terrors\tpeak MB\tbaseline\tratio\ttarget\t")
	for _, rw := range r.Rows {
		ratio, target := "—", "—"
		if rw.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", rw.Ratio)
		}
		if rw.Target > 0 {
			mark := "✗"
			if rw.Met != nil && *rw.Met {
				mark = "✓"
			}
			target = fmt.Sprintf("≥%.2f %s", rw.Target, mark)
		}
		base := rw.Baseline
		if base == "" {
			base = "—"
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%d\t%.0f\t%s\t%s\t%s\t\n", rw.Scenario, rw.Result.Rate,
			ms(rw.Result.P50), ms(rw.Result.P99), rw.Result.Errors, rw.PeakMB, base, ratio, target)
	}
	tw.Flush()
	for _, rw := range r.Rows {
		if rw.Failure != "" {
			fmt.Fprintf(w, "\n%s FAILED: %s\n", rw.Scenario, rw.Failure)
		}
		for _, s := range rw.Result.ErrSamples {
			fmt.Fprintf(w, "  %s error sample: %.200s\n", rw.Scenario, s)
		}
	}
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) + "ms"
}

func (r *report) save(root string) (string, error) {
	dir := filepath.Join(root, "bench", "results")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	path := filepath.Join(dir, r.Started.Format("20060102-150405")+".json")
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, b, 0o644)
}

// machineCores counts the machine's cores (not this process's affinity).
func machineCores() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\nprocessor") + boolInt(strings.HasPrefix(string(b), "processor"))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func machineMemoryGB() float64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024 / 1024
		}
	}
	return 0
}
