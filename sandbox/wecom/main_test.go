package wecom

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/util"
	"github.com/silenceper/wechat/v2/work"
	workconfig "github.com/silenceper/wechat/v2/work/config"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// route sends the SDK's requests for qyapi.weixin.qq.com to the sandbox the
// running test installed. silenceper uses the process-global
// util.DefaultHTTPClient, so it is set once here and tests swap the handler.
type route struct {
	mu sync.Mutex
	h  http.Handler
}

func (rt *route) set(h http.Handler) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.h = h
}

func (rt *route) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != "qyapi.weixin.qq.com" {
		return nil, errors.New("test transport: only qyapi.weixin.qq.com is served, not " + r.URL.Host)
	}
	rt.mu.Lock()
	h := rt.h
	rt.mu.Unlock()
	if h == nil {
		return nil, errors.New("test transport: no sandbox installed")
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
	in.RemoteAddr = "203.0.113.7:40000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

var sdkRoute = &route{}

func TestMain(m *testing.M) {
	flag.Parse()
	util.DefaultHTTPClient = &http.Client{Transport: sdkRoute}
	os.Exit(m.Run())
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newSandbox builds a server, routes the SDK to it and closes it at the end.
func newSandbox(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	sdkRoute.set(s)
	t.Cleanup(func() {
		s.Close()
		sdkRoute.set(nil)
	})
	return s
}

// newWork returns an SDK client for the sandbox's corp with its own token cache.
func newWork(s *Server) *work.Work {
	st := s.Settings()
	return work.NewWork(&workconfig.Config{
		CorpID:         st["WECOM_CORP_ID"],
		CorpSecret:     st["WECOM_CORP_SECRET"],
		AgentID:        st["WECOM_AGENT_ID"],
		Token:          st["WECOM_CALLBACK_TOKEN"],
		EncodingAESKey: st["WECOM_CALLBACK_AES_KEY"],
		Cache:          cache.NewMemory(),
	})
}
