package miniprogramapi_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
	miniprogramapi "github.com/siyu-live/siyu/miniprogram-api"
	"github.com/siyu-live/siyu/sandbox/fault"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/testsupport"
)

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

// capture keeps everything the identity suite could leak through: every
// response body and log line, and every session_key the sandbox handed out.
type capture struct {
	mu     sync.Mutex
	out    bytes.Buffer
	keys   []string
	bodies int
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

func (c *capture) response(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out.Write(b)
	c.out.WriteByte('\n')
	c.bodies++
}

// sandboxKeys wraps the sandbox to note the session_key of every
// jscode2session answer.
func (c *capture) sandboxKeys(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/sns/jscode2session") {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var s struct {
			SessionKey string `json:"session_key"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &s) == nil && s.SessionKey != "" {
			c.mu.Lock()
			c.keys = append(c.keys, s.SessionKey)
			c.mu.Unlock()
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// leaks returns the forms of any session_key found in what was captured:
// the base64 WeChat sends, its bytes in hex and in other base64 alphabets,
// and the raw bytes.
func (c *capture) leaks() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	text := c.out.String()
	var found []string
	for _, k := range c.keys {
		raw, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			continue
		}
		for _, form := range []string{k, strings.TrimRight(k, "="), hex.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw), string(raw)} {
			if strings.Contains(text, form) {
				found = append(found, form)
			}
		}
	}
	return found
}

// shop is the shopper API on a real database, Redis and the sandbox
// mini-program. When the test ends it checks that no session_key reached a
// response body or a log line.
type shop struct {
	app *fiber.App
	mp  *miniprogram.Server
	clk *clock
	db  *bun.DB
	doc *edge.Doc
	cap *capture
}

func newShop(t *testing.T, db *bun.DB, limits community.LoginLimits) *shop {
	t.Helper()
	clk := &clock{now: time.Date(2026, 3, 1, 2, 0, 30, 0, time.UTC)}
	cp := &capture{}
	log := slog.New(slog.NewTextHandler(cp, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mp, err := miniprogram.New(miniprogram.Config{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	servePlatform(t, "api.weixin.qq.com", cp.sandboxKeys(mp))
	opt, err := redis.ParseURL(testsupport.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	wx, tokens := miniProgram(t, rdb, miniprogram.DefaultAppID, miniprogram.DefaultAppSecret, clk.Now, log)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	members, err := community.NewMembers(community.MembersConfig{
		DB: db, Redis: rdb, WeChat: community.NewMiniProgramAuth(wx, tokens), SecretKey: key, Now: clk.Now, Limits: limits, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	app := edge.New(edge.Config{BodyLimit: 1 << 20, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, ConsoleOrigin: "http://localhost:8080", Logger: log, Registry: prometheus.NewRegistry()})
	doc := edge.NewDoc("test", "0", "")
	if err := miniprogramapi.New(miniprogramapi.Config{Logger: log, Sessions: members, Members: members}).Mount(app, doc); err != nil {
		t.Fatal(err)
	}
	s := &shop{app: app, mp: mp, clk: clk, db: db, doc: doc, cap: cp}
	t.Cleanup(func() {
		if leaks := cp.leaks(); len(leaks) > 0 {
			t.Errorf("a session_key reached a response or a log line (%d forms found)", len(leaks))
		}
	})
	return s
}

type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.Body, v); err != nil {
		t.Fatalf("answer %d %s: %v", a.Status, a.Body, err)
	}
}

func (a answer) code(t *testing.T) string {
	t.Helper()
	var e edge.ErrorBody
	a.json(t, &e)
	return e.Error.Code
}

// do sends a request to the API and captures the answer's body.
func (s *shop) do(t *testing.T, method, path, token string, body any) answer {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, "/mp/v1"+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.app.Test(req, 15000)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	s.cap.response(b)
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

type sessionAnswer struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	NewMember bool      `json:"new_member"`
	Member    struct {
		ID               string `json:"id"`
		Nickname         string `json:"nickname"`
		AvatarURL        string `json:"avatar_url"`
		Phone            string `json:"phone"`
		PhoneCountryCode string `json:"phone_country_code"`
	} `json:"member"`
}

// login logs openid in through the API.
func (s *shop) login(t *testing.T, openid string, extra map[string]any) sessionAnswer {
	t.Helper()
	body := map[string]any{"code": s.mp.MintLoginCode(openid, "")}
	for k, v := range extra {
		body[k] = v
	}
	a := s.do(t, http.MethodPost, "/session", "", body)
	if a.Status != http.StatusCreated {
		t.Fatalf("login %s: %d %s", openid, a.Status, a.Body)
	}
	var out sessionAnswer
	a.json(t, &out)
	return out
}

func TestSessionAPI(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		s := newShop(t, db, community.LoginLimits{})
		inviter := s.login(t, "o-inviter", nil)
		l := s.login(t, "o-shopper", map[string]any{"scene": 1007, "share": map[string]any{"inviter": inviter.Member.ID, "show": "show-1", "channel": "poster"}})
		if !l.NewMember || l.Member.ID == "" || !strings.HasPrefix(l.Token, "sym_") || !l.ExpiresAt.Equal(s.clk.Now().Add(30*24*time.Hour)) {
			t.Fatalf("login = %+v", l)
		}
		if strings.Contains(string(mustJSON(t, l)), "o-shopper") {
			t.Fatal("the openid is in the login answer")
		}
		used := s.mp.MintLoginCode("o-shopper", "")
		if a := s.do(t, http.MethodPost, "/session", "", map[string]any{"code": used}); a.Status != http.StatusCreated {
			t.Fatalf("second login: %d %s", a.Status, a.Body)
		}
		faulty := func(r fault.Rule) func() { return func() { s.mp.Faults().Add(r) } }
		for _, tc := range []struct {
			name   string
			setup  func()
			body   any
			status int
			code   string
			retry  bool
		}{
			{name: "code reused", body: map[string]any{"code": used}, status: 401, code: "code_used"},
			{name: "code unknown", body: map[string]any{"code": "0123456789abcdef0123456789abcdef"}, status: 401, code: "invalid_code"},
			{name: "no code", body: map[string]any{"scene": 1001}, status: 400, code: "missing_code"},
			{name: "not JSON", body: "code=abc", status: 400, code: "invalid_json"},
			{name: "WeChat rate limit", setup: faulty(fault.Rule{Path: "jscode2session", Errcode: 45011, Times: 1}), status: 429, code: "wechat_rate_limited", retry: true},
			{name: "WeChat unavailable", setup: faulty(fault.Rule{Path: "jscode2session", Status: 502, Times: 1}), status: 503, code: "wechat_unavailable"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.setup != nil {
					tc.setup()
					defer s.mp.Faults().Clear()
				}
				body := tc.body
				if body == nil {
					body = map[string]any{"code": s.mp.MintLoginCode("o-refused", "")}
				}
				a := s.do(t, http.MethodPost, "/session", "", body)
				if a.Status != tc.status || a.code(t) != tc.code {
					t.Fatalf("answer %d %s, want %d %s", a.Status, a.Body, tc.status, tc.code)
				}
				secs, err := strconv.Atoi(a.Header.Get("Retry-After"))
				if got := err == nil && secs >= 1 && secs <= 60; got != tc.retry {
					t.Fatalf("Retry-After %q", a.Header.Get("Retry-After"))
				}
			})
		}
		var n int
		if err := db.NewSelect().Table("members").ColumnExpr("count(*)").Where("openid = ?", "o-refused").Scan(t.Context(), &n); err != nil || n != 0 {
			t.Fatalf("refused logins wrote %d members (%v)", n, err)
		}

		// GET and PATCH /me.
		var me sessionAnswer
		a := s.do(t, http.MethodGet, "/me", l.Token, nil)
		a.json(t, &me.Member)
		if a.Status != 200 || me.Member.ID != l.Member.ID {
			t.Fatalf("GET /me = %d %s", a.Status, a.Body)
		}
		if a := s.do(t, http.MethodPatch, "/me", l.Token, map[string]any{"nickname": "小红", "avatar_url": "https://cdn.example.com/a.png"}); a.Status != 200 {
			t.Fatalf("PATCH /me = %d %s", a.Status, a.Body)
		}
		for _, tc := range []struct {
			name string
			body any
			code string
		}{
			{"other field", map[string]any{"nickname": "黑客", "phone": "13900000000"}, "unknown_field"},
			{"id", map[string]any{"id": "someone-else"}, "unknown_field"},
			{"case-folded field", map[string]any{"Nickname": "黑客"}, "unknown_field"},
			{"not a string", map[string]any{"nickname": 7}, "invalid_field"},
			{"empty nickname", map[string]any{"nickname": ""}, "invalid_profile"},
			{"bad avatar", map[string]any{"avatar_url": "ftp://x/y"}, "invalid_profile"},
			{"array", []string{"nickname"}, "invalid_json"},
		} {
			t.Run("PATCH /me "+tc.name, func(t *testing.T) {
				a := s.do(t, http.MethodPatch, "/me", l.Token, tc.body)
				if a.Status != 400 || a.code(t) != tc.code {
					t.Fatalf("answer %d %s, want 400 %s", a.Status, a.Body, tc.code)
				}
			})
		}
		s.do(t, http.MethodGet, "/me", l.Token, nil).json(t, &me.Member)
		if me.Member.Nickname != "小红" || me.Member.AvatarURL != "https://cdn.example.com/a.png" {
			t.Fatalf("after refused changes: %+v", me.Member)
		}

		// Phone binding.
		code, err := s.mp.MintPhoneCode("13800138000")
		if err != nil {
			t.Fatal(err)
		}
		a = s.do(t, http.MethodPost, "/me/phone", l.Token, map[string]any{"code": code})
		a.json(t, &me.Member)
		if a.Status != 200 || me.Member.Phone != "138****8000" || me.Member.PhoneCountryCode != "86" {
			t.Fatalf("bind phone = %d %s", a.Status, a.Body)
		}
		if a := s.do(t, http.MethodPost, "/me/phone", l.Token, map[string]any{"code": code}); a.Status != 400 || a.code(t) != "invalid_phone_code" {
			t.Fatalf("reused phone code = %d %s", a.Status, a.Body)
		}
		if a := s.do(t, http.MethodPost, "/me/phone", "", map[string]any{"code": code}); a.Status != 401 || a.code(t) != "unauthenticated" {
			t.Fatalf("phone without a token = %d %s", a.Status, a.Body)
		}

		// Logout, then the token is dead.
		if a := s.do(t, http.MethodDelete, "/session", l.Token, nil); a.Status != http.StatusNoContent {
			t.Fatalf("logout = %d %s", a.Status, a.Body)
		}
		if a := s.do(t, http.MethodGet, "/me", l.Token, nil); a.Status != 401 || a.code(t) != "invalid_session" {
			t.Fatalf("after logout = %d %s", a.Status, a.Body)
		}
		if a := s.do(t, http.MethodDelete, "/session", l.Token, nil); a.Status != 401 {
			t.Fatalf("second logout = %d %s", a.Status, a.Body)
		}

		// Expiry: 30 idle days.
		l = s.login(t, "o-shopper", nil)
		s.clk.Advance(29 * 24 * time.Hour)
		if a := s.do(t, http.MethodGet, "/me", l.Token, nil); a.Status != 200 {
			t.Fatalf("after 29 days = %d %s", a.Status, a.Body)
		}
		s.clk.Advance(30 * 24 * time.Hour)
		if a := s.do(t, http.MethodGet, "/me", l.Token, nil); a.Status != 401 || a.code(t) != "session_expired" {
			t.Fatalf("after 30 idle days = %d %s", a.Status, a.Body)
		}
		if a := s.do(t, http.MethodGet, "/me", "", nil); a.Status != 401 || a.code(t) != "unauthenticated" {
			t.Fatalf("no token = %d %s", a.Status, a.Body)
		}

		ops := strings.Join(s.doc.Operations(), "\n")
		for _, op := range []string{"POST /mp/v1/session", "DELETE /mp/v1/session", "GET /mp/v1/me", "PATCH /mp/v1/me", "POST /mp/v1/me/phone"} {
			if !strings.Contains(ops, op) {
				t.Errorf("OpenAPI lacks %s", op)
			}
		}
	})
}

func TestLoginLimitsAPI(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		s := newShop(t, db, community.LoginLimits{PerIP: 3, PerOpenID: 2})
		s.login(t, "o-a", nil)
		s.login(t, "o-a", nil)
		a := s.do(t, http.MethodPost, "/session", "", map[string]any{"code": s.mp.MintLoginCode("o-a", "")})
		if a.Status != 429 || a.code(t) != "login_limited" || a.Header.Get("Retry-After") != "30" {
			t.Fatalf("third login of one openid = %d %q %s", a.Status, a.Header.Get("Retry-After"), a.Body)
		}
		// That refusal counted against the IP too: the fourth attempt.
		a = s.do(t, http.MethodPost, "/session", "", map[string]any{"code": s.mp.MintLoginCode("o-b", "")})
		if a.Status != 429 || a.code(t) != "login_limited" {
			t.Fatalf("fourth login from one IP = %d %s", a.Status, a.Body)
		}
		s.clk.Advance(30 * time.Second)
		s.login(t, "o-b", nil)
	})
}

// TestNoSessionKeyLeaks runs logins through every path, with debug logging
// and failures on the way, and finds no session_key in any response body
// or log line (every test using newShop checks the same when it ends).
func TestNoSessionKeyLeaks(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		s := newShop(t, db, community.LoginLimits{PerIP: 1000, PerOpenID: 4})
		var tokens []string
		for i := range 6 {
			openid := "o-leak-" + strconv.Itoa(i%3)
			a := s.do(t, http.MethodPost, "/session", "", map[string]any{"code": s.mp.MintLoginCode(openid, "u-"+openid), "scene": 1008})
			var l sessionAnswer
			a.json(t, &l)
			tokens = append(tokens, l.Token)
		}
		// A database failure after WeChat answered: the error is logged as a
		// 500 with its chain, which must not carry the key.
		if _, err := db.ExecContext(t.Context(), "ALTER TABLE member_wechat_sessions RENAME TO member_wechat_sessions_gone"); err != nil {
			t.Fatal(err)
		}
		a := s.do(t, http.MethodPost, "/session", "", map[string]any{"code": s.mp.MintLoginCode("o-leak-db", "")})
		if a.Status != 500 {
			t.Fatalf("login without the session table = %d %s", a.Status, a.Body)
		}
		if _, err := db.ExecContext(t.Context(), "ALTER TABLE member_wechat_sessions_gone RENAME TO member_wechat_sessions"); err != nil {
			t.Fatal(err)
		}
		for _, tok := range tokens {
			s.do(t, http.MethodGet, "/me", tok, nil)
			s.do(t, http.MethodDelete, "/session", tok, nil)
		}
		s.mp.Faults().Add(fault.Rule{Path: "jscode2session", Delay: 10 * time.Millisecond})
		s.login(t, "o-leak-slow", nil)
		s.mp.Faults().Clear()
		if len(s.cap.keys) < 7 || s.cap.bodies < 20 || !strings.Contains(s.cap.out.String(), "level=") {
			t.Fatalf("the capture saw %d keys, %d bodies and no log lines: the check would prove nothing", len(s.cap.keys), s.cap.bodies)
		}
		if leaks := s.cap.leaks(); len(leaks) > 0 {
			t.Fatalf("session_key found in responses or logs: %d forms", len(leaks))
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
