package miniprogram_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	wxmp "github.com/silenceper/wechat/v2/miniprogram"
	wxconfig "github.com/silenceper/wechat/v2/miniprogram/config"
	"github.com/silenceper/wechat/v2/util"

	"github.com/siyu-live/siyu/sandbox/miniprogram"
)

// platform routes the SDK's process-global HTTP client to the Server of the
// running test. Tests that use it do not run in parallel.
var platform struct {
	sync.Mutex
	h http.Handler
}

func TestMain(m *testing.M) {
	util.DefaultHTTPClient = &http.Client{Transport: roundTripper{}}
	os.Exit(m.Run())
}

// roundTripper serves api.weixin.qq.com requests with the current test's
// Server, in process, and refuses every other host.
type roundTripper struct{}

func (roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != "api.weixin.qq.com" {
		return nil, fmt.Errorf("test transport: unexpected host %q", r.URL.Host)
	}
	platform.Lock()
	h := platform.h
	platform.Unlock()
	if h == nil {
		return nil, errors.New("test transport: no sandbox server in use")
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
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// clock is a platform clock the test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

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

// start is the fixtures' first instant: a Monday morning in Shanghai.
var start = time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CST", 8*60*60))

// fixture is one sandbox platform, its clock, and an SDK client of it that
// gets its access tokens through stable_token.
type fixture struct {
	srv   *miniprogram.Server
	clock *clock
	mp    *wxmp.MiniProgram
}

// newFixture starts a Server for cfg on a hand-moved clock and routes the
// SDK to it for the rest of the test.
func newFixture(t *testing.T, cfg miniprogram.Config) *fixture {
	t.Helper()
	c := &clock{now: start}
	cfg.Now = c.Now
	srv, err := miniprogram.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	platform.Lock()
	platform.h = srv
	platform.Unlock()
	t.Cleanup(func() {
		platform.Lock()
		platform.h = nil
		platform.Unlock()
	})
	return &fixture{srv: srv, clock: c, mp: newClient(srv, true)}
}

// newClient returns an unmodified SDK client for srv's credentials.
func newClient(srv *miniprogram.Server, stable bool) *wxmp.MiniProgram {
	settings := srv.Settings()
	return wxmp.NewMiniProgram(&wxconfig.Config{
		AppID:       settings[miniprogram.SettingAppID],
		AppSecret:   settings[miniprogram.SettingAppSecret],
		Cache:       cache.NewMemory(),
		UseStableAK: stable,
	})
}

var errcodeText = regexp.MustCompile(`errcode=(-?\d+)`)

// errcode returns the platform errcode an SDK error carries, or 0 for nil.
func errcode(t *testing.T, err error) int64 {
	t.Helper()
	if err == nil {
		return 0
	}
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return ce.ErrCode
	}
	m := errcodeText.FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("error carries no errcode: %v", err)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// call sends one request straight to the platform handler and decodes the
// JSON answer.
func call(t *testing.T, h http.Handler, method, target string, body any) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, rd))
	if rec.Code != http.StatusOK {
		t.Fatalf("%s %s: status %d", method, target, rec.Code)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v: %s", method, target, err, rec.Body.String())
	}
	return out
}

// code returns an answer's errcode, 0 when it has none.
func code(answer map[string]any) int {
	n, _ := answer["errcode"].(float64)
	return int(n)
}

// stableToken gets a stable token straight from the platform.
func stableToken(t *testing.T, srv *miniprogram.Server, force bool) map[string]any {
	t.Helper()
	s := srv.Settings()
	return call(t, srv, http.MethodPost, "/cgi-bin/stable_token", map[string]any{
		"grant_type": "client_credential", "appid": s[miniprogram.SettingAppID],
		"secret": s[miniprogram.SettingAppSecret], "force_refresh": force,
	})
}

// checkWith calls msg_sec_check with token for a known user; it is the
// cheapest authenticated call for token tests.
func checkWith(t *testing.T, srv *miniprogram.Server, token string) int {
	t.Helper()
	srv.MintLoginCode("o-token-probe", "")
	return code(call(t, srv, http.MethodPost, "/wxa/msg_sec_check?access_token="+token, map[string]any{
		"version": 2, "openid": "o-token-probe", "scene": 2, "content": "hello",
	}))
}
