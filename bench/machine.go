package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

type machine struct {
	Cores     int     `json:"cores"`
	CPU       string  `json:"cpu"`
	MemoryGB  float64 `json:"memory_gb"`
	GoVersion string  `json:"go_version"`
	Kernel    string  `json:"kernel"`
}

func describeMachine() machine {
	m := machine{Cores: machineCores(), MemoryGB: machineMemoryGB(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// machineCores counts the machine's cores (not this process's affinity).
func machineCores() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "processor") {
			n++
		}
	}
	return n
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

// benchProcesses are the programs a benchmark runs on: everything else is
// someone else's work competing for the cores.
var benchProcesses = map[string]bool{
	"bench": true, "siyu": true, "naive": true, "postgres": true, "redis-server": true, "livekit-server": true, "taskset": true,
}

// cpuSample is the machine's busy time and the benchmark processes' CPU
// time at one moment, in clock ticks.
type cpuSample struct {
	at    time.Time
	busy  int64
	irq   int64
	steal int64
	ours  map[int]int64
	comm  map[int]string
	ticks float64
}

// sampleCPU reads /proc/stat and every process's CPU time.
func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now(), ours: map[int]int64{}, comm: map[int]string{}, ticks: 100}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		// cpu user nice system idle iowait irq softirq steal …: interrupts
		// (mostly loopback traffic, the benchmark's own) and steal (time
		// the host gave to other machines) are counted apart.
		for i, v := range f[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			switch {
			case i <= 2:
				s.busy += n
			case i == 5 || i == 6:
				s.irq += n
			case i == 7:
				s.steal += n
			}
		}
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		open, close := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(string(b[close+1:]))
		if len(f) < 13 {
			continue
		}
		// Kernel threads (children of kthreadd, pid 2) flush the disk and
		// the network for whoever asked, mostly the benchmark.
		if !benchProcesses[string(b[open+1:close])] && f[1] != "2" && f[1] != "0" {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		s.ours[pid] = u + st
		s.comm[pid] = string(b[open+1 : close])
		if f[1] == "2" || f[1] == "0" {
			s.comm[pid] = "kernel"
		}
	}
	return s
}

// roles names the benchmark's own processes by pid.
type roles struct {
	generator, server, worker, wechat int
}

// usage is the CPU each part of the benchmark used since before, in
// percent of one core: the generator (this process), the server (Siyu's
// API or the naive endpoint), Siyu's worker, PostgreSQL, Redis, the
// WeChat sandbox (WeChat's servers, which production does not run), the
// rest of the benchmark's processes (LiveKit, kernel threads) and
// everything else on the machine.
type usage struct {
	Generator float64 `json:"generator"`
	Server    float64 `json:"server"`
	Worker    float64 `json:"worker"`
	Postgres  float64 `json:"postgres"`
	Redis     float64 `json:"redis"`
	WeChat    float64 `json:"wechat_sandbox"`
	Rest      float64 `json:"rest"`
	// Interrupts is interrupt and softirq time, mostly the loopback
	// network stack carrying the benchmark's own traffic.
	Interrupts float64 `json:"interrupts"`
	Other      float64 `json:"other"`
	// Steal is the time the host ran something else while this machine's
	// cores had work: the cores were slower by that much.
	Steal float64 `json:"steal"`
}

// total is every part's CPU but everything else's: what the benchmark
// itself used.
func (u usage) total() float64 {
	return u.Generator + u.Server + u.Worker + u.Postgres + u.Redis + u.WeChat + u.Rest + u.Interrupts
}

// perOp is the benchmark's CPU per operation at rate, in microseconds.
func (u usage) perOp(rate float64) float64 {
	if rate <= 0 {
		return 0
	}
	return u.total() / 100 / rate * 1e6
}

func (s cpuSample) usageSince(before cpuSample, r roles) usage {
	secs := s.at.Sub(before.at).Seconds()
	var u usage
	if secs <= 0 {
		return u
	}
	pct := func(t int64) float64 { return float64(t) / s.ticks / secs * 100 }
	ours := int64(0)
	for pid, t := range s.ours {
		d := t - before.ours[pid]
		ours += d
		switch {
		case pid == r.generator:
			u.Generator += pct(d)
		case pid == r.server || s.comm[pid] == "naive":
			u.Server += pct(d)
		case pid == r.worker:
			u.Worker += pct(d)
		case pid == r.wechat:
			u.WeChat += pct(d)
		case s.comm[pid] == "postgres":
			u.Postgres += pct(d)
		case s.comm[pid] == "redis-server":
			u.Redis += pct(d)
		default:
			u.Rest += pct(d)
		}
	}
	u.Other = max(pct(s.busy-before.busy-ours), 0)
	u.Interrupts = pct(s.irq - before.irq)
	u.Steal = pct(s.steal - before.steal)
	return u
}
