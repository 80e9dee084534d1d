package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

// TestRoutesDeclareRoles: every console route names the roles allowed to
// call it, with known role names; only sign-in is public.
func TestRoutesDeclareRoles(t *testing.T) {
	known := staff.Roles()
	routes := console.New(console.Config{}).Routes()
	if len(routes) == 0 {
		t.Fatal("no console routes")
	}
	for _, r := range routes {
		name := r.Method + " " + r.Path
		switch {
		case r.Public && name != "POST /session":
			t.Errorf("%s is public; only sign-in may be", name)
		case r.Public && len(r.Roles) > 0:
			t.Errorf("%s is public and declares roles", name)
		case !r.Public && len(r.Roles) == 0:
			t.Errorf("%s declares no roles", name)
		}
		for _, role := range r.Roles {
			if !slices.Contains(known, role) {
				t.Errorf("%s allows unknown role %q", name, role)
			}
		}
	}
}

// staffSessions adapts staff.Service to console.Sessions, as app does.
type staffSessions struct{ s *staff.Service }

func (a staffSessions) AuthenticateStaff(ctx context.Context, token string) (console.Staff, error) {
	acc, err := a.s.Authenticate(ctx, token)
	if err != nil {
		return console.Staff{}, err
	}
	return console.Staff{ID: acc.ID, Name: acc.Name, Role: acc.Role}, nil
}

type consoleWorld struct {
	app *fiber.App
	svc *staff.Service
	doc *edge.Doc
}

func newConsole(t *testing.T, db *bun.DB, secure bool) *consoleWorld {
	t.Helper()
	svc, err := staff.New(staff.Config{DB: db, Hashing: staff.Params{Memory: 1024, Time: 1, Threads: 1, SaltLength: 16, KeyLength: 32}})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	app := edge.New(edge.Config{BodyLimit: 1 << 20, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		ConsoleOrigin: "https://console.example.com", Logger: log, Registry: prometheus.NewRegistry()})
	doc := edge.NewDoc("test", "0", "")
	api := console.New(console.Config{Logger: log, Sessions: staffSessions{svc}, SignIns: svc, StaffAccounts: svc, Audit: svc, SecureCookie: secure})
	if err := api.Mount(app, doc); err != nil {
		t.Fatal(err)
	}
	return &consoleWorld{app: app, svc: svc, doc: doc}
}

type reply struct {
	status int
	header http.Header
	body   []byte
	cookie *http.Cookie
}

func (w *consoleWorld) do(t *testing.T, method, path, cookie, contentType, body string) reply {
	t.Helper()
	req := httptest.NewRequest(method, console.Prefix+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: console.SessionCookie, Value: cookie})
	}
	resp, err := w.app.Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, body: b}
	for _, c := range resp.Cookies() {
		if c.Name == console.SessionCookie {
			r.cookie = c
		}
	}
	return r
}

func (r reply) errCode(t *testing.T) string {
	t.Helper()
	var e edge.ErrorBody
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

const jsonType = "application/json"

func signInBody(name, pw string) string {
	b, _ := json.Marshal(map[string]string{"name": name, "password": pw})
	return string(b)
}

func TestConsoleSessions(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		w := newConsole(t, db, false)
		ctx := t.Context()
		for _, a := range []staff.NewAccount{
			{Name: "owner", Role: staff.RoleOwner, Password: "owner password 1"},
			{Name: "host", Role: staff.RoleHost, Password: "host password 12"},
		} {
			if _, err := w.svc.Create(ctx, "", a); err != nil {
				t.Fatal(err)
			}
		}
		r := w.do(t, http.MethodPost, "/session", "", jsonType, signInBody("Owner", "owner password 1"))
		if r.status != 200 || r.cookie == nil {
			t.Fatalf("sign in = %d %s", r.status, r.body)
		}
		c := r.cookie
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/console" || !strings.HasPrefix(c.Value, "sys_") {
			t.Fatalf("cookie = %+v", c)
		}
		owner := c.Value
		host := w.do(t, http.MethodPost, "/session", "", jsonType, signInBody("host", "host password 12")).cookie.Value

		var me struct {
			Staff struct{ ID, Name, Role string }
		}
		r = w.do(t, http.MethodGet, "/session", owner, "", "")
		if err := json.Unmarshal(r.body, &me); err != nil || r.status != 200 || me.Staff.Role != "owner" {
			t.Fatalf("GET /session = %d %s", r.status, r.body)
		}
		for _, tc := range []struct {
			name, method, path, cookie, ctype, body string
			status                                  int
			code                                    string
		}{
			{"no cookie", http.MethodGet, "/session", "", "", "", 401, "unauthenticated"},
			{"unknown cookie", http.MethodGet, "/session", "sys_nope", "", "", 401, "invalid_session"},
			{"host reads audit", http.MethodGet, "/audit", host, "", "", 403, "forbidden"},
			{"host lists staff", http.MethodGet, "/staff", host, "", "", 403, "forbidden"},
			{"form post (CSRF)", http.MethodPost, "/staff", owner, "application/x-www-form-urlencoded", "name=evil&role=owner&password=0123456789abc", 415, "json_required"},
			{"text post (CSRF)", http.MethodPost, "/staff", owner, "text/plain", `{"name":"evil","role":"owner","password":"0123456789abc"}`, 415, "json_required"},
			{"form sign-in", http.MethodPost, "/session", "", "application/x-www-form-urlencoded", "name=owner&password=x", 415, "json_required"},
			{"weak password", http.MethodPost, "/staff", owner, jsonType, `{"name":"zhang","role":"host","password":"short"}`, 400, "weak_password"},
			{"duplicate", http.MethodPost, "/staff", owner, jsonType, `{"name":"HOST","role":"host","password":"0123456789abc"}`, 409, "name_taken"},
			{"create", http.MethodPost, "/staff", owner, "application/json; charset=utf-8", `{"name":"zhang","role":"assistant","password":"0123456789abc"}`, 201, ""},
			{"list", http.MethodGet, "/staff", owner, "", "", 200, ""},
			{"bad limit", http.MethodGet, "/audit?limit=500", owner, "", "", 400, "invalid_limit"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := w.do(t, tc.method, tc.path, tc.cookie, tc.ctype, tc.body)
				if r.status != tc.status || r.errCode(t) != tc.code {
					t.Fatalf("%d %s, want %d %s", r.status, r.body, tc.status, tc.code)
				}
			})
		}
		if accs, _ := w.svc.List(ctx); len(accs) != 3 {
			t.Fatalf("%d accounts: a refused request created one", len(accs))
		}

		var page struct {
			Entries []struct {
				StaffName string         `json:"staff_name"`
				Action    string         `json:"action"`
				Detail    map[string]any `json:"detail"`
			}
			Next string
		}
		r = w.do(t, http.MethodGet, "/audit?action=staff.create&limit=1", owner, "", "")
		if err := json.Unmarshal(r.body, &page); err != nil || len(page.Entries) != 1 || page.Entries[0].StaffName != "owner" ||
			page.Entries[0].Detail["name"] != "zhang" || page.Next == "" {
			t.Fatalf("audit = %d %s", r.status, r.body)
		}
		r = w.do(t, http.MethodGet, "/audit?action=staff.create&before="+page.Next, owner, "", "")
		if err := json.Unmarshal(r.body, &page); err != nil || len(page.Entries) != 2 || page.Entries[0].StaffName != "" {
			t.Fatalf("audit page 2 = %d %s", r.status, r.body)
		}

		r = w.do(t, http.MethodDelete, "/session", owner, "", "")
		if r.status != 204 || r.cookie == nil || r.cookie.Value != "" || r.cookie.MaxAge >= 0 {
			t.Fatalf("sign out = %d %+v", r.status, r.cookie)
		}
		if r := w.do(t, http.MethodGet, "/session", owner, "", ""); r.status != 401 {
			t.Fatalf("after sign-out = %d %s", r.status, r.body)
		}

		for i := range 5 {
			r = w.do(t, http.MethodPost, "/session", "", jsonType, signInBody("host", "wrong password"))
			if i < 4 && (r.status != 401 || r.errCode(t) != "invalid_credentials") {
				t.Fatalf("wrong password %d = %d %s", i, r.status, r.body)
			}
		}
		if r.status != 429 || r.errCode(t) != "account_locked" || r.header.Get("Retry-After") != "900" {
			t.Fatalf("fifth wrong password = %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
		}
		if r := w.do(t, http.MethodPost, "/session", "", jsonType, signInBody("nobody", "wrong password")); r.status != 401 || r.errCode(t) != "invalid_credentials" {
			t.Fatalf("unknown name = %d %s", r.status, r.body)
		}

		ops := strings.Join(w.doc.Operations(), "\n")
		for _, op := range []string{"POST /console/api/v1/session", "GET /console/api/v1/audit", "POST /console/api/v1/staff"} {
			if !strings.Contains(ops, op) {
				t.Errorf("OpenAPI lacks %s", op)
			}
		}
	})
}

func TestSecureCookie(t *testing.T) {
	db := testsupport.DB(t, testsupport.SQLite)
	w := newConsole(t, db, true)
	if _, err := w.svc.Create(t.Context(), "", staff.NewAccount{Name: "owner", Role: staff.RoleOwner, Password: "owner password 1"}); err != nil {
		t.Fatal(err)
	}
	r := w.do(t, http.MethodPost, "/session", "", jsonType, signInBody("owner", "owner password 1"))
	if r.cookie == nil || !r.cookie.Secure || !r.cookie.HttpOnly || r.cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie = %+v", r.cookie)
	}
	if bytes.Contains(r.body, []byte(r.cookie.Value)) {
		t.Fatal("the session token is in the answer body, where scripts can read it")
	}
}
