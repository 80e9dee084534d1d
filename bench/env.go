package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/testsupport"
)

// env is everything a benchmark run talks to: Siyu started as its own
// process on the server core, its database and Redis, and LiveKit.
type env struct {
	root      string
	dbURL     string
	redisURL  string
	db        *bun.DB
	redis     *redis.Client
	livekit   *testsupport.LiveKit
	siyu      *exec.Cmd
	siyuAddr  string
	serverCPU string
	logs      *os.File
	stops     []func()
}

// start brings up LiveKit and Siyu against a fresh PostgreSQL schema and a
// flushed Redis database.
func start(ctx context.Context, root, serverCPU string) (*env, error) {
	e := &env{root: root, serverCPU: serverCPU}
	base := getenvDefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	admin, err := database.Open(ctx, base)
	if err != nil {
		return nil, fmt.Errorf("BENCH_DATABASE_URL: %w", err)
	}
	schema := fmt.Sprintf("bench_%d", time.Now().Unix())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		return nil, err
	}
	e.stops = append(e.stops, func() {
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	e.dbURL = u.String()

	e.redisURL = getenvDefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
	opt, err := redis.ParseURL(e.redisURL)
	if err != nil {
		return nil, fmt.Errorf("BENCH_REDIS_URL: %w", err)
	}
	e.redis = redis.NewClient(opt)
	if err := e.redis.FlushDB(ctx).Err(); err != nil {
		return nil, fmt.Errorf("BENCH_REDIS_URL: %w", err)
	}

	lk, stop, err := testsupport.LaunchLiveKit(testsupport.LiveKitOptions{})
	if err != nil {
		return nil, err
	}
	e.livekit = lk
	e.stops = append(e.stops, stop)

	if err := e.startSiyu(ctx); err != nil {
		e.close()
		return nil, err
	}
	if e.db, err = database.Open(ctx, e.dbURL); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) startSiyu(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(e.root, "data", "bench"), 0o750); err != nil {
		return err
	}
	logs, err := os.Create(filepath.Join(e.root, "data", "bench", "siyu.log"))
	if err != nil {
		return err
	}
	e.logs = logs
	bin := filepath.Join(e.root, "bin", "siyu")
	args := []string{"serve", "--migrate", "--with-worker"}
	var cmd *exec.Cmd
	if e.serverCPU != "" {
		cmd = exec.CommandContext(ctx, "taskset", append([]string{"-c", e.serverCPU, bin}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	cmd.Env = append(os.Environ(),
		"SIYU_ENV=dev",
		"SIYU_HTTP_ADDR=127.0.0.1:0",
		"SIYU_DATA_DIR="+filepath.Join(e.root, "data", "bench"),
		// Access logs stay in the middleware but are filtered by level, as
		// a busy production deployment would run; every scenario and the
		// /ping baseline pay the same.
		"SIYU_LOG_LEVEL=warn",
		"DATABASE_URL="+e.dbURL,
		"REDIS_URL="+e.redisURL,
		"LIVEKIT_URL="+e.livekit.URL,
		"LIVEKIT_API_KEY="+e.livekit.APIKey,
		"LIVEKIT_API_SECRET="+e.livekit.APISecret,
	)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start siyu: %w", err)
	}
	e.siyu = cmd
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "siyu: listening on http://"); ok {
				addr <- a
			}
		}
		close(addr)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			return fmt.Errorf("siyu exited before listening; see data/bench/siyu.log")
		}
		e.siyuAddr = a
	case <-time.After(60 * time.Second):
		return fmt.Errorf("siyu did not listen within 60s")
	}
	for range 100 {
		resp, err := http.Get("http://" + e.siyuAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("siyu never became ready; see data/bench/siyu.log")
}

// resetPeak starts a new peak-memory window for the Siyu process.
func (e *env) resetPeak() {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", e.siyu.Process.Pid), []byte("5"), 0)
}

// peakMB is Siyu's peak resident memory since the last resetPeak.
func (e *env) peakMB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.siyu.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

func (e *env) close() {
	if e.siyu != nil && e.siyu.Process != nil {
		_ = e.siyu.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = e.siyu.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = e.siyu.Process.Kill()
		}
	}
	if e.db != nil {
		e.db.Close()
	}
	if e.redis != nil {
		e.redis.Close()
	}
	for i := len(e.stops) - 1; i >= 0; i-- {
		e.stops[i]()
	}
	if e.logs != nil {
		e.logs.Close()
	}
}

func getenvDefault(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
