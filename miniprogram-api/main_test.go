package miniprogramapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// platforms routes silenceper/wechat's process-global HTTP client to the
// sandbox servers of the running test, by host (api.weixin.qq.com,
// qyapi.weixin.qq.com). Every test of this package that talks to WeChat
// uses servePlatform; such tests do not run in parallel.
var platforms struct {
	sync.Mutex
	hosts map[string]http.Handler
}

func TestMain(m *testing.M) {
	util.DefaultHTTPClient = &http.Client{Transport: platformTransport{}, Timeout: 10 * time.Second}
	os.Exit(m.Run())
}

// servePlatform makes host answer with h until the test ends.
func servePlatform(t *testing.T, host string, h http.Handler) {
	t.Helper()
	platforms.Lock()
	defer platforms.Unlock()
	if platforms.hosts == nil {
		platforms.hosts = map[string]http.Handler{}
	}
	platforms.hosts[host] = h
	t.Cleanup(func() {
		platforms.Lock()
		defer platforms.Unlock()
		delete(platforms.hosts, host)
	})
}

type platformTransport struct{}

func (platformTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	platforms.Lock()
	h := platforms.hosts[r.URL.Host]
	platforms.Unlock()
	if h == nil {
		return nil, fmt.Errorf("test transport: no server for host %q", r.URL.Host)
	}
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
