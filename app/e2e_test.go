package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyu-live/siyu/testsupport"
)

// siyu is the real program started in-process by startSiyu.
type siyu struct {
	URL    string
	stderr *lockedBuffer
	done   chan struct{} // closed when run returns
	code   int           // run's exit code, once done is closed
	cancel context.CancelFunc
}

// Logs returns what the program logged so far.
func (s *siyu) Logs() string { return s.stderr.String() }

// Stop sends the equivalent of SIGTERM and waits for the exit code.
func (s *siyu) Stop(t testing.TB) int {
	t.Helper()
	s.cancel()
	select {
	case <-s.done:
		return s.code
	case <-time.After(30 * time.Second):
		t.Fatalf("siyu did not stop within 30s\n%s", s.Logs())
		return -1
	}
}

// startSiyu runs `siyu args…` (default: serve --migrate --with-worker) with
// env as its whole environment on 127.0.0.1:0, waits until it listens, and
// stops it when the test ends.
func startSiyu(t testing.TB, env map[string]string, args ...string) *siyu {
	t.Helper()
	if len(args) == 0 {
		args = []string{"serve", "--migrate", "--with-worker"}
	}
	full := map[string]string{
		"SIYU_HTTP_ADDR":        "127.0.0.1:0",
		"SIYU_DATA_DIR":         t.TempDir(),
		"SIYU_SHUTDOWN_TIMEOUT": "5s",
		"SIYU_LOG_LEVEL":        "debug",
	}
	for k, v := range env {
		full[k] = v
	}
	getenv := func(k string) string { return full[k] }
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	s := &siyu{stderr: &lockedBuffer{}, done: make(chan struct{}), cancel: cancel}
	go func() {
		s.code = run(ctx, append([]string{"siyu"}, args...), getenv, outW, s.stderr)
		outW.Close()
		close(s.done)
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "siyu: listening on "); ok {
				addr <- u
			}
		}
		close(addr)
	}()
	select {
	case u, ok := <-addr:
		if !ok {
			<-s.done
			t.Fatalf("siyu exited with %d before listening\n%s", s.code, s.Logs())
		}
		s.URL = u
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("siyu did not listen within 60s\n%s", s.Logs())
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
		}
	})
	return s
}

// getJSON GETs url and decodes the JSON answer into v, returning the status.
func getJSON(t testing.TB, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: decode: %v", url, err)
		}
	}
	return resp.StatusCode
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeReady runs the real program against each database with real
// Redis (or miniredis outside CI) and a real LiveKit, and expects /readyz
// to name every dependency ok, then a clean shutdown.
func TestServeReady(t *testing.T) {
	lk := testsupport.StartLiveKit(t, testsupport.LiveKitOptions{})
	for _, d := range testsupport.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			s := startSiyu(t, map[string]string{
				"DATABASE_URL":       testsupport.DatabaseURL(t, d),
				"REDIS_URL":          testsupport.Redis(t),
				"LIVEKIT_URL":        lk.URL,
				"LIVEKIT_API_KEY":    lk.APIKey,
				"LIVEKIT_API_SECRET": lk.APISecret,
			})
			var ready struct {
				Status string            `json:"status"`
				Checks map[string]string `json:"checks"`
			}
			if code := getJSON(t, s.URL+"/readyz", &ready); code != http.StatusOK {
				t.Fatalf("/readyz = %d %+v\n%s", code, ready, s.Logs())
			}
			for _, name := range []string{"database", "redis", "livekit"} {
				if ready.Checks[name] != "ok" {
					t.Errorf("check %s = %q", name, ready.Checks[name])
				}
			}
			if code := s.Stop(t); code != 0 {
				t.Fatalf("exit code %d\n%s", code, s.Logs())
			}
		})
	}
}
