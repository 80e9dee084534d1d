package miniprogramapi_test

import (
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/siyu-live/siyu/sandbox"
)

// platforms routes silenceper/wechat's process-global HTTP client to the
// sandbox servers of the running test, by host. Every test of this package
// that talks to WeChat uses servePlatform; such tests do not run in parallel.
var platforms = &sandbox.Router{}

func TestMain(m *testing.M) {
	util.DefaultHTTPClient = &http.Client{Transport: platforms, Timeout: 10 * time.Second}
	os.Exit(m.Run())
}

// servePlatform makes host answer with h until the test ends.
func servePlatform(t *testing.T, host string, h http.Handler) {
	t.Helper()
	t.Cleanup(platforms.Handle(host, h))
}
