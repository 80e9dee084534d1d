package console_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/console"
	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/staff"
	"github.com/siyu-live/siyu/testsupport"
)

// webWorld is the web console over the real staff service.
type webWorld struct {
	app    *fiber.App
	api    *console.API
	svc    *staff.Service
	tokens map[string]string // role → session token
}

func newWeb(t *testing.T, db *bun.DB) *webWorld {
	t.Helper()
	svc, err := staff.New(staff.Config{DB: db, Hashing: staff.Params{Memory: 1024, Time: 1, Threads: 1, SaltLength: 16, KeyLength: 32}})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	app := edge.New(edge.Config{BodyLimit: 1 << 20, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		ConsoleOrigin: "https://console.example.com", Logger: log, Registry: prometheus.NewRegistry()})
	api := console.New(console.Config{Logger: log, Sessions: staffSessions{svc}, SignIns: svc, StaffAccounts: svc, Audit: svc})
	if err := api.Mount(app, edge.NewDoc("test", "0", "")); err != nil {
		t.Fatal(err)
	}
	if err := api.MountWeb(app); err != nil {
		t.Fatal(err)
	}
	w := &webWorld{app: app, api: api, svc: svc, tokens: map[string]string{}}
	for _, role := range staff.Roles() {
		name := "web-" + strings.ReplaceAll(role, "_", "-")
		if _, err := svc.Create(t.Context(), "", staff.NewAccount{Name: name, Role: role, Password: "password for " + role}); err != nil {
			t.Fatal(err)
		}
		s, err := svc.SignIn(t.Context(), name, "password for "+role)
		if err != nil {
			t.Fatal(err)
		}
		w.tokens[role] = s.Token
	}
	return w
}

// page is an answer of the web console.
type page struct {
	status   int
	location string
	body     string
	cookies  map[string]string
}

// request is one request to the web console.
type request struct {
	method, path string
	session      string
	csrf         string // sent as the cookie and the form field
	form         url.Values
	header       map[string]string
}

func (w *webWorld) do(t *testing.T, r request) page {
	t.Helper()
	form := url.Values{}
	for k, v := range r.form {
		form[k] = v
	}
	if r.csrf != "" && r.method == http.MethodPost {
		form.Set("_csrf", r.csrf)
	}
	var body io.Reader
	if r.method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(r.method, r.path, body)
	if r.method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.session != "" {
		req.AddCookie(&http.Cookie{Name: console.SessionCookie, Value: r.session})
	}
	if r.csrf != "" {
		req.AddCookie(&http.Cookie{Name: "siyu_csrf", Value: r.csrf})
	}
	resp, err := w.app.Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b), cookies: map[string]string{}}
	for _, c := range resp.Cookies() {
		p.cookies[c.Name] = c.Value
	}
	return p
}

var metaToken = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// csrf gets a CSRF token the way a browser does: from a page.
func (w *webWorld) csrf(t *testing.T) string {
	t.Helper()
	p := w.do(t, request{method: http.MethodGet, path: "/console/sign-in"})
	m := metaToken.FindStringSubmatch(p.body)
	if m == nil || p.cookies["siyu_csrf"] != m[1] {
		t.Fatalf("the sign-in page gave no CSRF token: cookie %q, page %d", p.cookies["siyu_csrf"], p.status)
	}
	return m[1]
}

// TestWebPagesDeclareRoles: every page names known roles; only sign-in is
// public.
func TestWebPagesDeclareRoles(t *testing.T) {
	pages := console.New(console.Config{}).Pages()
	if len(pages) < 40 {
		t.Fatalf("only %d pages", len(pages))
	}
	for _, p := range pages {
		name := p.Method + " " + p.Path
		switch {
		case p.Public && p.Path != "/sign-in":
			t.Errorf("%s is public; only sign-in may be", name)
		case !p.Public && len(p.Roles) == 0:
			t.Errorf("%s declares no roles", name)
		}
		for _, r := range p.Roles {
			if !slices.Contains(staff.Roles(), r) {
				t.Errorf("%s names an unknown role %q", name, r)
			}
		}
	}
}

// TestWebPagesEnforceRoles walks every page: without a session a page asks
// to sign in (a form is refused), a role the page does not allow is
// refused with 403, and a form without its CSRF token is refused even for
// an allowed role.
func TestWebPagesEnforceRoles(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		w := newWeb(t, db)
		token := w.csrf(t)
		for _, p := range w.api.Pages() {
			if p.Public {
				continue
			}
			path := console.WebPrefix + regexp.MustCompile(`:[a-z_]+`).ReplaceAllString(p.Path, "x-1")
			name := p.Method + " " + p.Path
			anon := w.do(t, request{method: p.Method, path: path, csrf: token})
			switch {
			case p.Method == http.MethodGet && strings.HasSuffix(p.Path, "/events"):
				if anon.status != http.StatusUnauthorized {
					t.Errorf("%s without a session = %d, want 401", name, anon.status)
				}
			case p.Method == http.MethodGet:
				if anon.status != http.StatusSeeOther || !strings.HasPrefix(anon.location, "/console/sign-in?next=") {
					t.Errorf("%s without a session = %d → %q, want the sign-in page", name, anon.status, anon.location)
				}
			default:
				if anon.status != http.StatusUnauthorized {
					t.Errorf("%s without a session = %d, want 401", name, anon.status)
				}
			}
			for _, role := range staff.Roles() {
				if slices.Contains(p.Roles, role) {
					continue
				}
				got := w.do(t, request{method: p.Method, path: path, session: w.tokens[role], csrf: token})
				if got.status != http.StatusForbidden {
					t.Errorf("%s as %s = %d, want 403", name, role, got.status)
				}
			}
			if p.Method == http.MethodPost {
				got := w.do(t, request{method: p.Method, path: path, session: w.tokens[p.Roles[0]]})
				if got.status != http.StatusForbidden || !strings.Contains(got.body, "表单已过期") {
					t.Errorf("%s without a CSRF token = %d, want 403 saying the form expired", name, got.status)
				}
			}
		}
	})
}

// TestWebSignIn: wrong passwords are refused on the page, a right one
// sets the session cookie and goes where the visitor was headed (never to
// another site), and signing out ends the session.
func TestWebSignIn(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		w := newWeb(t, db)
		token := w.csrf(t)
		for _, tc := range []struct {
			name, user, password, next string
			status                     int
			location, text             string
		}{
			{"empty", "", "", "", http.StatusUnprocessableEntity, "", "必填"},
			{"wrong password", "web-owner", "not the password", "", http.StatusUnauthorized, "", "账号或密码不正确"},
			{"right password", "web-host", "password for host", "/console/shows", http.StatusSeeOther, "/console/shows", ""},
			{"next elsewhere", "web-host", "password for host", "//evil.example/console/", http.StatusSeeOther, "/console/", ""},
			{"next to the JSON API", "web-host", "password for host", "/console/api/v1/staff", http.StatusSeeOther, "/console/", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := w.do(t, request{method: http.MethodPost, path: "/console/sign-in", csrf: token,
					form: url.Values{"name": {tc.user}, "password": {tc.password}, "next": {tc.next}}})
				if p.status != tc.status || p.location != tc.location || !strings.Contains(p.body, tc.text) {
					t.Fatalf("= %d → %q\n%s", p.status, p.location, p.body)
				}
				if tc.status == http.StatusSeeOther && p.cookies[console.SessionCookie] == "" {
					t.Fatal("no session cookie")
				}
			})
		}
		p := w.do(t, request{method: http.MethodPost, path: "/console/sign-out", session: w.tokens[staff.RoleHost], csrf: token})
		if p.status != http.StatusSeeOther || p.location != "/console/sign-in" {
			t.Fatalf("sign out = %d → %q", p.status, p.location)
		}
		if p := w.do(t, request{method: http.MethodGet, path: "/console/shows", session: w.tokens[staff.RoleHost]}); p.status != http.StatusSeeOther {
			t.Fatalf("after signing out, the shows page = %d", p.status)
		}
	})
}

// TestWebLanguage: Chinese by default, English by Accept-Language, and a
// ?lang= choice is remembered in a cookie.
func TestWebLanguage(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		w := newWeb(t, db)
		for _, tc := range []struct {
			name   string
			path   string
			header map[string]string
			cookie string
			want   string
		}{
			{"default", "/console/sign-in", nil, "", "<title>登录 · 私域直播控制台</title>"},
			{"accept-language", "/console/sign-in", map[string]string{"Accept-Language": "en-US,en;q=0.9"}, "", "<title>Sign in · Siyu console</title>"},
			{"chinese first", "/console/sign-in", map[string]string{"Accept-Language": "zh-CN,en;q=0.5"}, "", `<html lang="zh-CN">`},
			{"query", "/console/sign-in?lang=en", nil, "en", `<html lang="en">`},
			{"query back", "/console/sign-in?lang=zh-CN", map[string]string{"Accept-Language": "en"}, "zh-CN", `<html lang="zh-CN">`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := w.do(t, request{method: http.MethodGet, path: tc.path, header: tc.header})
				if p.status != http.StatusOK || !strings.Contains(p.body, tc.want) {
					t.Fatalf("= %d, want %q in\n%s", p.status, tc.want, p.body)
				}
				if p.cookies["siyu_lang"] != tc.cookie {
					t.Errorf("language cookie %q, want %q", p.cookies["siyu_lang"], tc.cookie)
				}
			})
		}
		req := httptest.NewRequest(http.MethodGet, "/console/sign-in", nil)
		req.AddCookie(&http.Cookie{Name: "siyu_lang", Value: "en"})
		resp, err := w.app.Test(req, 10000)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `<html lang="en">`) {
			t.Error("the remembered language was not used")
		}
	})
}

// TestWebStaffManagement: an admin disables, enables and resets the
// password of another account from the staff page; their own row has no
// actions, and refusals are shown on the page.
func TestWebStaffManagement(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		w := newWeb(t, db)
		token := w.csrf(t)
		admin := w.tokens[staff.RoleAdmin]
		host, err := w.svc.ByName(t.Context(), "web-host")
		if err != nil {
			t.Fatal(err)
		}
		me, err := w.svc.ByName(t.Context(), "web-admin")
		if err != nil {
			t.Fatal(err)
		}
		p := w.do(t, request{method: http.MethodGet, path: "/console/staff", session: admin})
		if p.status != http.StatusOK || !strings.Contains(p.body, `action="/console/staff/`+host.ID+`"`) || strings.Contains(p.body, `action="/console/staff/`+me.ID+`"`) {
			t.Fatalf("staff page = %d, want actions for others only", p.status)
		}
		cases := []struct {
			name     string
			target   string
			form     url.Values
			status   int
			text     string
			disabled bool
		}{
			{"disable", host.ID, url.Values{"action": {"disable"}}, http.StatusSeeOther, "", true},
			{"enable", host.ID, url.Values{"action": {"enable"}}, http.StatusSeeOther, "", false},
			{"short password", host.ID, url.Values{"action": {"password"}, "password": {"short"}}, http.StatusUnprocessableEntity, "", false},
			{"new password", host.ID, url.Values{"action": {"password"}, "password": {"another host password"}}, http.StatusSeeOther, "", false},
			{"oneself", me.ID, url.Values{"action": {"disable"}}, http.StatusForbidden, "不能在这里修改自己的账号", false},
			{"an owner, as an admin", mustID(t, w, "web-owner"), url.Values{"action": {"disable"}}, http.StatusForbidden, "", false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p := w.do(t, request{method: http.MethodPost, path: "/console/staff/" + c.target, session: admin, csrf: token, form: c.form})
				if p.status != c.status || !strings.Contains(p.body, c.text) {
					t.Fatalf("= %d → %q\n%.2000s", p.status, p.location, p.body)
				}
				a, err := w.svc.Get(t.Context(), host.ID)
				if err != nil || (a.DisabledAt != nil) != c.disabled {
					t.Fatalf("host = %+v, %v; want disabled %v", a, err, c.disabled)
				}
			})
		}
		if _, err := w.svc.SignIn(t.Context(), "web-host", "another host password"); err != nil {
			t.Fatalf("the reset password does not sign in: %v", err)
		}
	})
}

func mustID(t *testing.T, w *webWorld, name string) string {
	t.Helper()
	a, err := w.svc.ByName(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}
