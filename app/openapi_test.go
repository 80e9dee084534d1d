package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/testsupport"
)

// testHTTP builds the real application's fiber app on a fresh SQLite
// database and miniredis (or TEST_REDIS_URL), as serve would.
func testHTTP(t *testing.T) (*application, *fiber.App) {
	t.Helper()
	env := map[string]string{
		"DATABASE_URL":  testsupport.DatabaseURL(t, testsupport.SQLite),
		"REDIS_URL":     testsupport.Redis(t),
		"SIYU_DATA_DIR": t.TempDir(),
	}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := openStores(t.Context(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := requireMigrated(t.Context(), st.db, true, log); err != nil {
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

// jsonAPIPrefixes are the route prefixes the OpenAPI document must cover.
var jsonAPIPrefixes = []string{"/mp/v1/", "/console/api/v1/"}

// TestOpenAPICoversEveryRoute fails when a JSON route is registered but not
// documented, or documented but not registered.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	a, app := testHTTP(t)
	// fiber adds a mounted app's routes to the root at startup; Handler()
	// runs that step without listening.
	app.Handler()
	registered := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		if r.Method == fiber.MethodHead || r.Method == fiber.MethodOptions {
			continue
		}
		for _, p := range jsonAPIPrefixes {
			if strings.HasPrefix(r.Path, p) {
				registered[r.Method+" "+edge.OpenAPIPath(r.Path)] = true
			}
		}
	}
	documented := map[string]bool{}
	for _, op := range a.doc.Operations() {
		documented[op] = true
	}
	var missing, extra []string
	for op := range registered {
		if !documented[op] {
			missing = append(missing, op)
		}
	}
	for op := range documented {
		if !registered[op] {
			extra = append(extra, op)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, op := range missing {
		t.Errorf("registered but not in /openapi.json: %s", op)
	}
	for _, op := range extra {
		t.Errorf("in /openapi.json but not registered: %s", op)
	}

	// The served document is valid JSON naming OpenAPI 3.1 and every route.
	resp, err := app.Test(httptest.NewRequest("GET", "/openapi.json", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("decode /openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	for op := range documented {
		method, path, _ := strings.Cut(op, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("served document lacks %s", op)
		}
	}
}
