package accesstoken_test

import (
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/siyu-live/siyu/sandbox"
)

// platforms routes the SDK's process-global HTTP client to the sandbox
// servers of the running test, by host, and counts the calls per path.
// Tests that use it do not run in parallel.
var platforms = &sandbox.Router{}

func TestMain(m *testing.M) {
	util.DefaultHTTPClient = &http.Client{Transport: platforms, Timeout: 10 * time.Second}
	os.Exit(m.Run())
}

// serve makes host answer with h for the rest of the test.
func serve(t *testing.T, host string, h http.Handler) {
	t.Helper()
	t.Cleanup(platforms.Handle(host, h))
}

// calls returns how many requests reached path (on any host) so far.
func calls(path string) int64 { return platforms.Calls(path) }

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
