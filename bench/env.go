package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/testsupport"
)

// env is everything a benchmark run talks to: Siyu's API started as its
// own process on the server core, Siyu's job worker as another process,
// its database and Redis, LiveKit and the WeChat sandbox.
type env struct {
	root      string
	dataDir   string
	dbURL     string
	schema    string
	redisURL  string
	db        *bun.DB
	redis     *redis.Client
	livekit   *testsupport.LiveKit
	wechat    *weChatProcess
	pay       *payKeys
	naiveBin  string
	siyu      *exec.Cmd
	siyuAddr  string
	worker    *exec.Cmd
	serverCPU string
	logs      []*os.File
	stops     []func()
}

// start brings up the WeChat sandbox, LiveKit, Siyu's API and Siyu's
// worker against a fresh PostgreSQL schema and a flushed Redis database,
// as production runs them: `siyu serve` and `siyu worker`. Nothing it
// starts is pinned except the API (to serverCPU, when set): the bench
// process pins itself after this returns, and children inherit their
// parent's affinity.
func start(ctx context.Context, root, serverCPU string, fanout int) (*env, error) {
	e := &env{root: root, serverCPU: serverCPU, dataDir: filepath.Join(root, "data", "bench")}
	if err := os.MkdirAll(e.dataDir, 0o750); err != nil {
		return nil, err
	}
	base := getenvDefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	admin, err := database.Open(ctx, base)
	if err != nil {
		return nil, fmt.Errorf("BENCH_DATABASE_URL: %w", err)
	}
	e.schema = fmt.Sprintf("bench_%d", time.Now().Unix())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+e.schema); err != nil {
		admin.Close()
		return nil, err
	}
	e.stops = append(e.stops, func() {
		_, _ = admin.Exec("DROP SCHEMA " + e.schema + " CASCADE")
		admin.Close()
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", e.schema)
	u.RawQuery = q.Encode()
	e.dbURL = u.String()

	e.redisURL = getenvDefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
	opt, err := redis.ParseURL(e.redisURL)
	if err != nil {
		e.close()
		return nil, fmt.Errorf("BENCH_REDIS_URL: %w", err)
	}
	opt.PoolSize = 128
	e.redis = redis.NewClient(opt)
	if err := e.redis.FlushDB(ctx).Err(); err != nil {
		e.close()
		return nil, fmt.Errorf("BENCH_REDIS_URL: %w", err)
	}

	// Built now, while this process may still use every core.
	e.naiveBin = filepath.Join(e.dataDir, "naive")
	build := exec.CommandContext(ctx, "go", "build", "-o", e.naiveBin, "./bench/naive")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		e.close()
		return nil, fmt.Errorf("build bench/naive: %w: %s", err, out)
	}

	keysPath := filepath.Join(e.dataDir, "wxpay-keys.json")
	if e.pay, err = newPayKeys(keysPath); err != nil {
		e.close()
		return nil, err
	}
	wlog, err := e.logFile("wechat.log")
	if err != nil {
		e.close()
		return nil, err
	}
	if e.wechat, err = startWeChat(keysPath, fanout, wlog); err != nil {
		e.close()
		return nil, err
	}
	e.stops = append(e.stops, e.wechat.stop)
	e.pay.appID, e.pay.mchID = e.wechat.settings["WECHAT_APP_ID"], e.wechat.settings["WECHATPAY_MCH_ID"]

	lk, stop, err := testsupport.LaunchLiveKit(testsupport.LiveKitOptions{})
	if err != nil {
		e.close()
		return nil, err
	}
	e.livekit = lk
	e.stops = append(e.stops, stop)

	if err := e.startSiyu(ctx); err != nil {
		e.close()
		return nil, err
	}
	if err := e.startWorker(ctx); err != nil {
		e.close()
		return nil, err
	}
	if e.db, err = database.Open(ctx, e.dbURL); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) logFile(name string) (*os.File, error) {
	f, err := os.Create(filepath.Join(e.dataDir, name))
	if err != nil {
		return nil, err
	}
	e.logs = append(e.logs, f)
	return f, nil
}

// pinned returns a command running bin on the server core when the run is
// pinned.
func (e *env) pinned(ctx context.Context, bin string, args ...string) *exec.Cmd {
	if e.serverCPU != "" {
		return exec.CommandContext(ctx, "taskset", append([]string{"-c", e.serverCPU, bin}, args...)...)
	}
	return exec.CommandContext(ctx, bin, args...)
}

// siyuEnv is Siyu's environment: the bench's stores, LiveKit and WeChat
// sandbox, and extra settings.
func (e *env) siyuEnv(addr string, extra ...string) []string {
	env := append(os.Environ(),
		"SIYU_ENV=dev",
		"SIYU_HTTP_ADDR="+addr,
		"SIYU_PUBLIC_URL=http://"+addr,
		"SIYU_DATA_DIR="+e.dataDir,
		// Access logs stay in the middleware but are filtered by level, as
		// a busy production deployment would run; every scenario and the
		// /ping baseline pay the same.
		"SIYU_LOG_LEVEL=warn",
		"DATABASE_URL="+e.dbURL,
		"REDIS_URL="+e.redisURL,
		"LIVEKIT_URL="+e.livekit.URL,
		"LIVEKIT_API_KEY="+e.livekit.APIKey,
		"LIVEKIT_API_SECRET="+e.livekit.APISecret,
		"WECHAT_SANDBOX=http://"+e.wechat.addr,
	)
	for k, v := range e.wechat.settings {
		env = append(env, k+"="+v)
	}
	return append(env, extra...)
}

func (e *env) startSiyu(ctx context.Context) error {
	logs, err := e.logFile("siyu.log")
	if err != nil {
		return err
	}
	// A port chosen up front, so SIYU_PUBLIC_URL (callback URLs) is right.
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := e.pinned(ctx, filepath.Join(e.root, "bin", "siyu"), "serve", "--migrate")
	cmd.Env = e.siyuEnv(addr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start siyu: %w", err)
	}
	e.siyu = cmd
	listening := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "siyu: listening on http://") {
				listening <- true
			}
		}
		close(listening)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case ok := <-listening:
		if !ok {
			return errors.New("siyu exited before listening; see data/bench/siyu.log")
		}
	case <-time.After(120 * time.Second):
		return errors.New("siyu did not listen within 120s; see data/bench/siyu.log")
	}
	e.siyuAddr = addr
	if err := waitReady("http://"+addr+"/readyz", 30*time.Second); err != nil {
		return fmt.Errorf("siyu: %w; see data/bench/siyu.log", err)
	}
	return nil
}

// startWorker starts `siyu worker` (jobs, the outbox relay, comment
// moderation, the chat broadcaster), unpinned, once the API has migrated
// the schema.
func (e *env) startWorker(ctx context.Context) error {
	logs, err := e.logFile("worker.log")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(e.root, "bin", "siyu"), "worker")
	cmd.Env = e.siyuEnv(e.siyuAddr)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start siyu worker: %w", err)
	}
	e.worker = cmd
	return nil
}

// pauseWorker stops the worker process until the returned function
// resumes it: a scenario measuring what the API accepts, with what the
// worker does with it measured after.
func (e *env) pauseWorker() (resume func(), err error) {
	if err := e.worker.Process.Signal(syscall.SIGSTOP); err != nil {
		return nil, fmt.Errorf("pause siyu worker: %w", err)
	}
	return func() { _ = e.worker.Process.Signal(syscall.SIGCONT) }, nil
}

// quiesce lets the work earlier scenarios left behind end before the next
// is measured: it vacuums and analyzes the bench's tables (as autovacuum
// would have, in its own time, in a database not written a moment ago),
// checkpoints, and waits, at most 30 s, for Siyu and the stores to idle.
func (e *env) quiesce(ctx context.Context) {
	var tables []string
	if err := e.db.NewSelect().TableExpr("pg_tables").Column("tablename").Where("schemaname = ?", e.schema).Scan(ctx, &tables); err == nil && len(tables) > 0 {
		for i, t := range tables {
			tables[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
		}
		_, _ = e.db.ExecContext(ctx, "VACUUM ANALYZE "+strings.Join(tables, ", "))
	}
	_, _ = e.db.ExecContext(ctx, "CHECKPOINT")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; {
		before := sampleCPU()
		time.Sleep(500 * time.Millisecond)
		u := sampleCPU().usageSince(before, e.roles())
		if u.Server+u.Worker+u.Postgres+u.Redis+u.WeChat < 10 {
			return
		}
	}
}

// roles names the benchmark's processes for the CPU accounting.
func (e *env) roles() roles {
	r := roles{generator: os.Getpid(), server: e.siyuPID(), worker: e.workerPID()}
	if e.wechat != nil && e.wechat.cmd.Process != nil {
		r.wechat = e.wechat.cmd.Process.Pid
	}
	return r
}

// workerPID is the worker process's id.
func (e *env) workerPID() int {
	if e.worker == nil || e.worker.Process == nil {
		return 0
	}
	return e.worker.Process.Pid
}

// waitReady polls url until it answers 200.
func waitReady(url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s answered %d", url, resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s: %w", within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// siyuPID is the Siyu process's id (taskset execs it in place).
func (e *env) siyuPID() int { return e.siyu.Process.Pid }

// resetPeak starts a new peak-memory window for process pid.
func resetPeak(pid int) {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// peakMB is process pid's peak resident memory since the last resetPeak.
func peakMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
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
	if e.worker != nil && e.worker.Process != nil {
		_ = e.worker.Process.Signal(syscall.SIGCONT)
		stopProcess(e.worker, 10*time.Second)
	}
	if e.siyu != nil && e.siyu.Process != nil {
		stopProcess(e.siyu, 10*time.Second)
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
	for _, f := range e.logs {
		f.Close()
	}
}

// stopProcess interrupts cmd and kills it when it has not exited within
// grace.
func stopProcess(cmd *exec.Cmd, grace time.Duration) {
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func getenvDefault(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// describeStores names the PostgreSQL and Redis versions and the settings
// that bound their rates (commit durability, persistence).
func (e *env) describeStores(ctx context.Context) string {
	var version, syncCommit string
	_ = e.db.QueryRowContext(ctx, "SHOW server_version").Scan(&version)
	_ = e.db.QueryRowContext(ctx, "SHOW synchronous_commit").Scan(&syncCommit)
	redisVersion, aof := "?", "?"
	if info, err := e.redis.Info(ctx, "server", "persistence").Result(); err == nil {
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "redis_version:"); ok {
				redisVersion = v
			}
			if v, ok := strings.CutPrefix(line, "aof_enabled:"); ok {
				aof = map[string]string{"0": "off", "1": "on"}[v]
			}
		}
	}
	return fmt.Sprintf("PostgreSQL %s (synchronous_commit %s), Redis %s (AOF %s)", version, syncCommit, redisVersion, aof)
}
