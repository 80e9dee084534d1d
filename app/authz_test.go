package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/console"
	miniprogramapi "github.com/siyu-live/siyu/miniprogram-api"
	"github.com/siyu-live/siyu/staff"
	"github.com/siyu-live/siyu/testsupport"
)

// ownedObject makes an object that belongs to member A (e.A) for one
// /mp/v1 route with path parameters, and says how to ask for it.
type ownedObject func(t *testing.T, e *authzEnv) ownedRequest

// ownedRequest names A's object in a route's path parameters, with the
// body the route needs (nil for none). Shared, instead, says why the ID
// names something every member may see (a show, a flash sale), so the
// route has no member-owned object to protect.
type ownedRequest struct {
	Params map[string]string
	Body   any
	Shared string
}

// shared is the entry of a route whose ID names an object every member
// may see; reason says why, for the reviewer.
func shared(reason string) ownedObject {
	return func(*testing.T, *authzEnv) ownedRequest { return ownedRequest{Shared: reason} }
}

// memberObjects is how to make "an object of member A" for every /mp/v1
// route that takes an ID, keyed by "METHOD /mp/v1/path" in fiber syntax
// (GET /mp/v1/orders/:id). TestMemberRoutesOwnOnly fails for a route with
// a path parameter that is missing here, so add your routes' entries here
// when you add the routes (in your area's block). A route whose ID names
// something every member may see is listed with shared("why").
func memberObjects() map[string]ownedObject {
	return map[string]ownedObject{
		// --- identity ---
		// No identity route takes an ID: /me is always the caller.

		// --- payments ---
		"GET /mp/v1/orders/:id":                  ordersOfA,
		"GET /mp/v1/orders/:id/refunds":          ordersOfA,
		"POST /mp/v1/orders/:id/cancel":          ordersOfA,
		"POST /mp/v1/orders/:id/pay":             ordersOfA,
		"POST /mp/v1/orders/:id/refund-requests": ordersOfA,
		"GET /mp/v1/flash-sales/:id":             shared("a flash sale is shown to every member"),
		"POST /mp/v1/flash-sales/:id/orders":     shared("a flash sale is open to every member; the order it makes is the caller's"),

		// --- live ---
		"GET /mp/v1/shows/:id":              shared("a show is shown to every member"),
		"POST /mp/v1/shows/:id/join":        shared("every member may watch a live show; the token is the caller's"),
		"GET /mp/v1/shows/:id/comments":     shared("a show's chat is seen by everyone in the room"),
		"POST /mp/v1/shows/:id/comments":    shared("every member may comment; the comment is the caller's"),
		"POST /mp/v1/shows/:id/likes":       shared("every member may like a show"),
		"POST /mp/v1/shows/:id/reservation": shared("every member may reserve a show; the reservation is the caller's"),
		"GET /mp/v1/shows/:id/replay":       shared("a replay is shown to every member"),

		// --- community ---
		"GET /mp/v1/shows/:id/coupon-drops":                 shared("a show's coupon drops are shown to every member"),
		"POST /mp/v1/shows/:id/coupon-drops/:drop_id/claim": shared("every member may claim a drop's coupon; the coupon is the caller's"),

		// --- analytics ---
		"POST /mp/v1/shows/:id/product-clicks": shared("every member may open a show's product cards; the click is the caller's"),
	}
}

// authzEnv is the whole application with two logged-in members, A and B.
type authzEnv struct {
	a    *application
	http *fiber.App
	A, B testMember
}

// testMember is a logged-in shopper.
type testMember struct {
	ID    string
	Token string
}

// newTestApplication builds the whole application on a fresh database of
// dialect d and Redis, with the in-process sandbox, as serve does.
func newTestApplication(t *testing.T, d testsupport.Dialect) (*application, *fiber.App) {
	t.Helper()
	env := map[string]string{
		"DATABASE_URL":  testsupport.DatabaseURL(t, d),
		"REDIS_URL":     testsupport.Redis(t),
		"SIYU_DATA_DIR": t.TempDir(),
	}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	st, err := openStores(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := requireMigrated(ctx, st.db, true, log); err != nil {
		t.Fatal(err)
	}
	a, err := newApplication(cfg, log, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	app, err := a.httpApp()
	if err != nil {
		t.Fatal(err)
	}
	return a, app
}

// do sends a request with a member's token (or none) and returns the status
// and body.
func (e *authzEnv) do(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.http.Test(req, 20000)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// login logs a shopper in through the sandbox phone and POST /mp/v1/session.
func (e *authzEnv) login(t *testing.T, openid string) testMember {
	t.Helper()
	code := e.a.wechat.sandbox.MiniProgram.MintLoginCode(openid, "")
	status, body := e.do(t, http.MethodPost, miniprogramapi.Prefix+"/session", "", map[string]any{"code": code})
	if status != http.StatusCreated {
		t.Fatalf("login %s: %d %s", openid, status, body)
	}
	var out struct {
		Token  string `json:"token"`
		Member struct {
			ID string `json:"id"`
		} `json:"member"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return testMember{ID: out.Member.ID, Token: out.Token}
}

// routeKey names a route as memberObjects does.
type routeKey struct{ Method, Path string }

func (k routeKey) String() string { return k.Method + " " + k.Path }

// paramRoutes lists the routes of app under prefix whose path has a
// parameter.
func paramRoutes(app *fiber.App, prefix string) []routeKey {
	app.Handler() // mounts sub-apps' routes into app
	seen := map[routeKey]bool{}
	var out []routeKey
	for _, r := range app.GetRoutes(true) {
		k := routeKey{r.Method, r.Path}
		if r.Method == http.MethodHead || !strings.HasPrefix(r.Path, prefix+"/") || !strings.Contains(r.Path, ":") || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// fill puts params into a fiber path.
func fill(path string, params map[string]string) (string, error) {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if name, ok := strings.CutPrefix(p, ":"); ok {
			name = strings.TrimSuffix(name, "?")
			v, ok := params[name]
			if !ok {
				return "", fmt.Errorf("no value for :%s", name)
			}
			parts[i] = v
		}
	}
	return strings.Join(parts, "/"), nil
}

// walkMemberRoutes asks, for every route, for member A's object as member B
// (which must be 404) and then as A (which must not be), and returns what
// went wrong.
func walkMemberRoutes(t *testing.T, e *authzEnv, routes []routeKey, objects map[string]ownedObject) []string {
	var failures []string
	for _, rk := range routes {
		create, ok := objects[rk.String()]
		if !ok {
			failures = append(failures, rk.String()+": takes an ID but has no entry in memberObjects (app/authz_test.go)")
			continue
		}
		req := create(t, e)
		if req.Shared != "" {
			t.Logf("%s: not member-owned: %s", rk, req.Shared)
			continue
		}
		path, err := fill(rk.Path, req.Params)
		if err != nil {
			failures = append(failures, rk.String()+": "+err.Error())
			continue
		}
		if status, body := e.do(t, rk.Method, path, e.B.Token, req.Body); status != http.StatusNotFound {
			failures = append(failures, fmt.Sprintf("%s: member B asking for member A's object got %d %s, want 404", rk, status, body))
		}
		if status, body := e.do(t, rk.Method, path, e.A.Token, req.Body); status == http.StatusNotFound {
			failures = append(failures, fmt.Sprintf("%s: member A asking for their own object got 404 %s: the entry does not make what the route reads", rk, body))
		}
	}
	return failures
}

// TestMemberRoutesOwnOnly walks every /mp/v1 route that takes an ID: member
// B asking for member A's object gets 404.
func TestMemberRoutesOwnOnly(t *testing.T) {
	for _, d := range testsupport.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			a, app := newTestApplication(t, d)
			e := &authzEnv{a: a, http: app}
			e.A, e.B = e.login(t, "o-member-a"), e.login(t, "o-member-b")
			routes := paramRoutes(app, miniprogramapi.Prefix)
			for _, f := range walkMemberRoutes(t, e, routes, memberObjects()) {
				t.Error(f)
			}
			t.Logf("walked %d /mp/v1 routes with IDs", len(routes))
		})
	}
}

// TestWalkerCatchesLeaks: the walker reports a route that serves anyone's
// object, a route missing from the table and a broken entry, and passes a
// route that checks ownership.
func TestWalkerCatchesLeaks(t *testing.T) {
	app := fiber.New()
	owner := func(c *fiber.Ctx) error {
		if c.Get("Authorization") == "Bearer token-a" && c.Params("id") == "obj-a" {
			return c.SendString("yours")
		}
		return c.SendStatus(http.StatusNotFound)
	}
	app.Get("/mp/v1/good/:id", owner)
	app.Get("/mp/v1/leaky/:id", func(c *fiber.Ctx) error { return c.SendString("anyone's") })
	app.Post("/mp/v1/untabled/:id/things", owner)
	app.Get("/mp/v1/broken/:id", owner)
	app.Get("/mp/v1/plain", owner)
	app.Get("/mp/v1/public/:id", func(c *fiber.Ctx) error { return c.SendString("everyone's") })
	e := &authzEnv{http: app, A: testMember{Token: "token-a"}, B: testMember{Token: "token-b"}}
	objA := func(*testing.T, *authzEnv) ownedRequest {
		return ownedRequest{Params: map[string]string{"id": "obj-a"}}
	}
	failures := walkMemberRoutes(t, e, paramRoutes(app, "/mp/v1"), map[string]ownedObject{
		"GET /mp/v1/good/:id":   objA,
		"GET /mp/v1/leaky/:id":  objA,
		"GET /mp/v1/public/:id": shared("a public thing"),
		"GET /mp/v1/broken/:id": func(*testing.T, *authzEnv) ownedRequest {
			return ownedRequest{Params: map[string]string{"id": "obj-x"}}
		},
	})
	want := []string{"GET /mp/v1/broken/:id: member A", "GET /mp/v1/leaky/:id: member B", "POST /mp/v1/untabled/:id/things: takes an ID"}
	if len(failures) != len(want) {
		t.Fatalf("failures:\n%s", strings.Join(failures, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(failures[i], w) {
			t.Errorf("failure %d = %q, want it to start %q", i, failures[i], w)
		}
	}
}

// TestConsoleRoutesEnforceRoles walks every console route of the running
// application: without a session it is 401, and for a role the route does
// not allow it is 403 — so every route is guarded, not only declared.
func TestConsoleRoutesEnforceRoles(t *testing.T) {
	for _, d := range testsupport.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			a, app := newTestApplication(t, d)
			ctx := t.Context()
			roles := map[routeKey][]string{}
			for _, r := range console.New(console.Config{}).Routes() {
				roles[routeKey{r.Method, console.Prefix + r.Path}] = r.Roles
			}
			app.Handler()
			cookies := map[string]string{}
			for _, role := range staff.Roles() {
				pw := "password for " + role
				if _, err := a.staff.Create(ctx, "", staff.NewAccount{Name: "t-" + strings.ReplaceAll(role, "_", "-"), Role: role, Password: pw}); err != nil {
					t.Fatal(err)
				}
				s, err := a.staff.SignIn(ctx, "t-"+strings.ReplaceAll(role, "_", "-"), pw)
				if err != nil {
					t.Fatal(err)
				}
				cookies[role] = s.Token
			}
			walked := 0
			for _, r := range app.GetRoutes(true) {
				k := routeKey{r.Method, r.Path}
				if r.Method == http.MethodHead || !strings.HasPrefix(r.Path, console.Prefix+"/") || k.String() == "POST "+console.Prefix+"/session" {
					continue
				}
				allowed, ok := roles[k]
				if !ok {
					t.Errorf("%s is served but not among the console's declared routes", k)
					continue
				}
				path := strings.NewReplacer(":", "x-").Replace(r.Path)
				send := func(cookie string) int {
					req := httptest.NewRequest(r.Method, path, strings.NewReader("{}"))
					req.Header.Set("Content-Type", "application/json")
					if cookie != "" {
						req.AddCookie(&http.Cookie{Name: console.SessionCookie, Value: cookie})
					}
					resp, err := app.Test(req, 20000)
					if err != nil {
						t.Fatalf("%s: %v", k, err)
					}
					resp.Body.Close()
					return resp.StatusCode
				}
				if status := send(""); status != http.StatusUnauthorized {
					t.Errorf("%s without a session = %d, want 401", k, status)
				}
				for _, role := range staff.Roles() {
					if slices.Contains(allowed, role) {
						continue
					}
					if status := send(cookies[role]); status != http.StatusForbidden {
						t.Errorf("%s as %s (not allowed) = %d, want 403", k, role, status)
					}
				}
				walked++
			}
			if walked == 0 {
				t.Fatal("no console routes walked")
			}
		})
	}
}
