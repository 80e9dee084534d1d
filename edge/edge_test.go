package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/siyu-live/siyu/edge"
)

var errThingNotFound = errors.New("thing not found")

type limited struct{}

func (limited) Error() string             { return "slow down" }
func (limited) RetryAfter() time.Duration { return 1500 * time.Millisecond }

func newApp(t *testing.T, logs io.Writer) *fiber.App {
	t.Helper()
	reg := prometheus.NewRegistry()
	app := edge.New(edge.Config{
		BodyLimit:     64,
		ReadTimeout:   time.Second,
		WriteTimeout:  time.Second,
		ConsoleOrigin: "https://console.example",
		Logger:        slog.New(slog.NewJSONHandler(logs, nil)),
		Registry:      reg,
		Errors: []edge.Mapping{
			{Err: errThingNotFound, Status: http.StatusNotFound, Code: "thing_not_found"},
			{Err: limited{}, Status: http.StatusTooManyRequests, Code: "rate_limited"},
		},
	})
	edge.MountOps(app, []edge.Check{
		{Name: "good", Fn: func(context.Context) error { return nil }},
		{Name: "bad", Fn: func(context.Context) error { return errors.New("down") }},
	}, reg)
	app.Get("/problem", func(c *fiber.Ctx) error { return edge.BadRequest("bad_thing", "the thing is bad") })
	app.Get("/sentinel", func(c *fiber.Ctx) error { return fmt.Errorf("load 42: %w", errThingNotFound) })
	app.Get("/limited", func(c *fiber.Ctx) error { return limited{} })
	app.Get("/secret", func(c *fiber.Ctx) error { return errors.New("pq: password=hunter2 failed") })
	app.Get("/panic", func(c *fiber.Ctx) error { panic("kaboom") })
	app.Post("/echo", func(c *fiber.Ctx) error { return c.Send(c.Body()) })
	return app
}

func TestErrorContract(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
		header, headerValue      string
	}{
		{name: "problem", method: "GET", path: "/problem", status: 400, code: "bad_thing"},
		{name: "sentinel", method: "GET", path: "/sentinel", status: 404, code: "thing_not_found"},
		{name: "retry after", method: "GET", path: "/limited", status: 429, code: "rate_limited", header: "Retry-After", headerValue: "2"},
		{name: "unknown error", method: "GET", path: "/secret", status: 500, code: "internal_error"},
		{name: "panic", method: "GET", path: "/panic", status: 500, code: "internal_error"},
		{name: "no route", method: "GET", path: "/nowhere", status: 404, code: "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			app := newApp(t, &logs)
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			resp, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, raw)
			}
			var body edge.ErrorBody
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("not the error contract: %s", raw)
			}
			if body.Error.Code != tt.code || body.Error.Message == "" {
				t.Fatalf("error %+v, want code %s", body.Error, tt.code)
			}
			rid := resp.Header.Get(edge.HeaderRequestID)
			if rid == "" || body.Error.RequestID != rid {
				t.Fatalf("request id %q in body, %q in header", body.Error.RequestID, rid)
			}
			if tt.header != "" && resp.Header.Get(tt.header) != tt.headerValue {
				t.Fatalf("%s = %q, want %q", tt.header, resp.Header.Get(tt.header), tt.headerValue)
			}
			if tt.status == 500 {
				if strings.Contains(string(raw), "hunter2") || strings.Contains(string(raw), "kaboom") {
					t.Fatalf("500 leaks details: %s", raw)
				}
				if !strings.Contains(logs.String(), rid) {
					t.Fatalf("the 500 was not logged with its request id:\n%s", logs.String())
				}
			}
		})
	}
}

func TestReadyNamesEveryCheck(t *testing.T) {
	app := newApp(t, io.Discard)
	resp, err := app.Test(httptest.NewRequest("GET", "/readyz", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	var r edge.Readiness
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 503 || r.Status != "unavailable" || r.Checks["good"] != "ok" || r.Checks["bad"] != "error: down" {
		t.Fatalf("readyz %d %+v", resp.StatusCode, r)
	}
}

func TestMetricsCountRoutes(t *testing.T) {
	app := newApp(t, io.Discard)
	for range 3 {
		if _, err := app.Test(httptest.NewRequest("GET", "/sentinel", nil), -1); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := app.Test(httptest.NewRequest("GET", "/metrics", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	want := `siyu_http_request_duration_seconds_count{method="GET",route="/sentinel",status="404"} 3`
	if !strings.Contains(string(raw), want) {
		t.Fatalf("metrics lack %s", want)
	}
}

func TestCORSForConsoleOrigin(t *testing.T) {
	app := newApp(t, io.Discard)
	req := httptest.NewRequest("OPTIONS", "/echo", nil)
	req.Header.Set("Origin", "https://console.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://console.example" {
		t.Fatalf("allow origin %q", got)
	}
	req = httptest.NewRequest("OPTIONS", "/echo", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err = app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("foreign origin allowed: %q", got)
	}
}

// TestBodyLimit sends an oversized body to a real listener: fasthttp rejects
// it before any handler, and the answer still follows the contract.
func TestBodyLimit(t *testing.T) {
	app := newApp(t, io.Discard)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln) //nolint:errcheck // ends with Shutdown
	defer app.Shutdown()
	resp, err := http.Post("http://"+ln.Addr().String()+"/echo", "text/plain", strings.NewReader(strings.Repeat("x", 100)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body edge.ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge || body.Error.Code != "body_too_large" {
		t.Fatalf("%d %+v", resp.StatusCode, body)
	}
}
