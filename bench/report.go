package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"
)

// The kinds of row.
const (
	kindBaseline = "baseline"
	kindScenario = "scenario"
)

// row is one scenario's measurement and verdict.
type row struct {
	Scenario string `json:"scenario"`
	Kind     string `json:"kind"`
	Baseline string `json:"baseline,omitempty"`
	// BaselineRates are the /ping rates the row is compared with: the one
	// measured in turns with it, or those right before and right after
	// it. The ratio is to their mean.
	BaselineRates []float64 `json:"baseline_rates,omitempty"`
	Target        float64   `json:"target_ratio,omitempty"`
	Result        result    `json:"result"`
	// Goal is a target that is not a ratio (a time), met or not.
	Goal    string  `json:"goal,omitempty"`
	GoalMet bool    `json:"goal_met,omitempty"`
	Ratio   float64 `json:"ratio,omitempty"`
	Met     *bool   `json:"met,omitempty"`
	Failure string  `json:"failure,omitempty"`
	// CPU is what each process used while the scenario was measured, in
	// percent of one core; CPU.Other is everything
	// outside the benchmark: numbers taken while it is high are not worth
	// publishing.
	CPU usage `json:"cpu_percent"`
}

type report struct {
	Started     time.Time `json:"started"`
	Machine     machine   `json:"machine"`
	CoreSharing string    `json:"core_sharing"`
	Stores      string    `json:"stores"`
	Duration    string    `json:"duration"`
	Warmup      string    `json:"warmup"`
	Concurrency int       `json:"concurrency"`
	Members     int       `json:"members"`
	Rows        []row     `json:"rows"`
	// PairedPings are the /ping rates measured between scenarios, after
	// the first (the ping row).
	PairedPings []float64 `json:"paired_ping_rates,omitempty"`
}

// baseRate is the rate a row is compared with: the mean of its paired
// baseline measurements, or else its baseline's row.
func (rw *row) baseRate(rates map[string]float64) float64 {
	if len(rw.BaselineRates) == 0 {
		return rates[rw.Baseline]
	}
	sum := 0.0
	for _, r := range rw.BaselineRates {
		sum += r
	}
	return sum / float64(len(rw.BaselineRates))
}

// resolve computes every ratio against its baseline from the same run. A
// scenario may carry its own ratio (a rate during fan-out against the
// idle rate) in Values["ratio"].
func (r *report) resolve() {
	rates := map[string]float64{}
	perOp := map[string]float64{}
	for _, rw := range r.Rows {
		rates[rw.Scenario] = rw.Result.Rate
		perOp[rw.Scenario] = rw.CPU.perOp(rw.Result.Rate)
	}
	for i := range r.Rows {
		rw := &r.Rows[i]
		if rw.Failure != "" || (rw.Target == 0 && rw.Baseline == "") {
			continue
		}
		if v, ok := rw.Result.Values["ratio"]; ok {
			rw.Ratio = v
		} else if base := rw.baseRate(rates); base > 0 && rw.Baseline != "" {
			rw.Ratio = rw.Result.Rate / base
		} else {
			continue
		}
		if rw.Target == 0 {
			continue
		}
		met := rw.Ratio >= rw.Target
		if v, ok := rw.Result.Values["met"]; ok {
			met = met && v == 1
		}
		rw.Met = &met
		if !met {
			r.storesBound(rw, rw.baseRate(rates), perOp[rw.Baseline])
		}
	}
}

// storesBound notes, for a missed target measured against a rate, the
// most this machine could do from the row's own measurement: first if
// only PostgreSQL and Redis cost CPU (their CPU per operation across
// every core), then if each request also cost the machine what one
// operation of the baseline costs (baseUs: a /ping does strictly less
// than any route). A bound under the target proves it out of reach on
// this machine while the stores share its cores; a row whose bounds are
// both above its target gets no note, as they prove nothing.
func (r *report) storesBound(rw *row, base, baseUs float64) {
	if _, own := rw.Result.Values["ratio"]; own || base <= 0 || rw.Result.Rate <= 0 || r.Machine.Cores == 0 {
		return
	}
	us := (rw.CPU.Postgres + rw.CPU.Redis) / 100 / rw.Result.Rate * 1e6
	if us <= 0 {
		return
	}
	cores := float64(r.Machine.Cores) * 1e6
	if cores/(us+baseUs)/base >= rw.Target {
		return
	}
	note := fmt.Sprintf("PostgreSQL and Redis used %.0f µs of CPU per operation: %d cores could do at most %.0f/s, %.2f of %s, if Siyu, the generator and the network cost nothing",
		us, r.Machine.Cores, cores/us, cores/us/base, rw.Baseline)
	if baseUs > 0 {
		note += fmt.Sprintf("; %.0f/s, %.2f, if each cost no more than one %s (%.0f µs)", cores/(us+baseUs), cores/(us+baseUs)/base, rw.Baseline, baseUs)
		// What would reach it: the stores on cores of their own. The rest
		// of the work is then what the machine spends per operation.
		if rest := rw.CPU.perOp(rw.Result.Rate) - us; rest > 0 {
			est := baseUs / rest
			note += fmt.Sprintf(". With PostgreSQL and Redis on cores of their own, the rest (Siyu, the generator, the network: %.0f µs per operation against %.0f for one %s) would allow about %.2f", rest, baseUs, rw.Baseline, est)
			if est < rw.Target {
				note += fmt.Sprintf(", so that rest would also have to fall by %.0f µs per operation", rest-baseUs/rw.Target)
			}
		}
	}
	rw.Result.Notes = append(rw.Result.Notes, note)
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
	fmt.Fprintf(w, "Siyu benchmarks — %s: %d cores (%s), %.1f GB, Linux %s, %s\n", r.Started.Format("2006-01-02 15:04 MST"),
		r.Machine.Cores, r.Machine.CPU, r.Machine.MemoryGB, r.Machine.Kernel, r.Machine.GoVersion)
	fmt.Fprintf(w, "%s; %s.\n%s measured after %s of warm-up, %d requests in flight, %d shoppers logged in through the API.\n\n",
		r.CoreSharing, r.Stores, r.Duration, r.Warmup, r.Concurrency, r.Members)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trate/s\tp50\tp99\terrors\tpeak MB\tbaseline\tratio\ttarget\tCPU µs/op\tCPU% gen/api/worker/pg/redis/wechat/irq/other/steal\t")
	for _, rw := range r.Rows {
		ratio, target, base, peak := "—", "—", "—", "—"
		if rw.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", rw.Ratio)
			if rw.Ratio < 0.1 || (rw.Met != nil && !*rw.Met && ratio == fmt.Sprintf("%.2f", rw.Target)) {
				// Three places where two would show a missed target as met.
				ratio = fmt.Sprintf("%.3f", rw.Ratio)
			}
		}
		if rw.Target > 0 {
			mark := "✗"
			if rw.Met != nil && *rw.Met {
				mark = "✓"
			}
			target = fmt.Sprintf("≥%.2f %s", rw.Target, mark)
		}
		if rw.Goal != "" {
			mark := "✗"
			if rw.GoalMet && rw.Failure == "" {
				mark = "✓"
			}
			target = rw.Goal + " " + mark
		}
		if rw.Baseline != "" {
			base = rw.Baseline
			if len(rw.BaselineRates) > 0 {
				base = fmt.Sprintf("%s %.0f", rw.Baseline, rw.baseRate(nil))
			}
		}
		if rw.Result.PeakMB > 0 {
			peak = fmt.Sprintf("%.0f", rw.Result.PeakMB)
		}
		name := rw.Scenario
		if rw.Failure != "" {
			name += " (FAILED)"
		}
		perOp := "—"
		if us := rw.CPU.perOp(rw.Result.Rate); us > 0 {
			perOp = fmt.Sprintf("%.0f", us)
		}
		c := rw.CPU
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%.0f/%.0f/%.0f/%.0f/%.0f/%.0f/%.0f/%.0f/%.0f\t\n", name, rw.Result.Rate,
			ms(rw.Result.P50), ms(rw.Result.P99), rw.Result.Errors, peak, base, ratio, target, perOp,
			c.Generator, c.Server, c.Worker, c.Postgres, c.Redis, c.WeChat, c.Interrupts, c.Other, c.Steal)
	}
	tw.Flush()
	fmt.Fprintln(w, "\npeak MB: the server's peak resident memory. CPU µs/op: the CPU the whole benchmark (generator, Siyu, stores, sandbox, interrupts) used per operation measured. CPU%: what the generator, Siyu's API (or the naive endpoint), Siyu's worker, PostgreSQL, Redis, the WeChat sandbox, interrupts (the loopback network) and everything outside the benchmark used during the measurement, and what the host took from this machine (steal), in % of one core. baseline: a rate after the name is the /ping the row is compared with: measured in turns with it (said under the row), or else the mean of the /ping measured right before and right after it.")
	if len(r.PairedPings) > 0 && len(r.Rows) > 0 && r.Rows[0].Scenario == basePing {
		lo, hi := r.PairedPings[0], r.PairedPings[0]
		for _, p := range r.PairedPings {
			lo, hi = min(lo, p), max(hi, p)
		}
		fmt.Fprintf(w, "/ping, measured again between the scenarios (%d times): %.0f to %.0f a second; the first, %.0f.\n", len(r.PairedPings), lo, hi, r.Rows[0].Result.Rate)
	}
	for _, rw := range r.Rows {
		if rw.Failure == "" && len(rw.Result.Checks) == 0 && len(rw.Result.Notes) == 0 && len(rw.Result.ErrSamples) == 0 && len(rw.Result.Values) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", rw.Scenario)
		if rw.Failure != "" {
			fmt.Fprintf(w, "  FAILED: %s\n", rw.Failure)
		}
		for _, c := range rw.Result.Checks {
			fmt.Fprintf(w, "  check: %s\n", c)
		}
		for _, n := range rw.Result.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		keys := make([]string, 0, len(rw.Result.Values))
		for k := range rw.Result.Values {
			if k != "met" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s: %s\n", k, strconv.FormatFloat(rw.Result.Values[k], 'f', -1, 64))
		}
		for _, s := range rw.Result.ErrSamples {
			fmt.Fprintf(w, "  error sample: %.300s\n", s)
		}
	}
}

func ms(d time.Duration) string {
	if d == 0 {
		return "—"
	}
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
