package accesstoken_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// platforms routes the SDK's process-global HTTP client to the sandbox
// servers of the running test, by host, and counts the calls per path.
// Tests that use it do not run in parallel.
var platforms struct {
	sync.Mutex
	hosts map[string]http.Handler
	calls map[string]*atomic.Int64
}

func TestMain(m *testing.M) {
	util.DefaultHTTPClient = &http.Client{Transport: roundTripper{}, Timeout: 10 * time.Second}
	os.Exit(m.Run())
}

// serve makes host answer with h for the rest of the test.
func serve(t *testing.T, host string, h http.Handler) {
	t.Helper()
	platforms.Lock()
	defer platforms.Unlock()
	if platforms.hosts == nil {
		platforms.hosts = map[string]http.Handler{}
		platforms.calls = map[string]*atomic.Int64{}
	}
	platforms.hosts[host] = h
	t.Cleanup(func() {
		platforms.Lock()
		defer platforms.Unlock()
		delete(platforms.hosts, host)
		platforms.calls = map[string]*atomic.Int64{}
	})
}

// calls returns how many requests reached path (on any host) so far.
func calls(path string) int64 {
	platforms.Lock()
	defer platforms.Unlock()
	if c := platforms.calls[path]; c != nil {
		return c.Load()
	}
	return 0
}

type roundTripper struct{}

func (roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	platforms.Lock()
	h := platforms.hosts[r.URL.Host]
	c := platforms.calls[r.URL.Path]
	if c == nil && platforms.calls != nil {
		c = &atomic.Int64{}
		platforms.calls[r.URL.Path] = c
	}
	platforms.Unlock()
	if h == nil {
		return nil, fmt.Errorf("test transport: no server for host %q", r.URL.Host)
	}
	c.Add(1)
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	in := r.Clone(r.Context())
	in.Body = io.NopCloser(bytes.NewReader(body))
	in.RequestURI = r.URL.RequestURI()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, in)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// clock is a test clock shared by the sandbox and the caches.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
