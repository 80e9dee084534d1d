package edge

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one dependency /readyz asks about.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Readiness is the answer of /readyz.
type Readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// Ready runs every check at once, each bounded by timeout, and reports "ok"
// or the error for each.
func Ready(ctx context.Context, checks []Check, timeout time.Duration) Readiness {
	out := Readiness{Status: "ok", Checks: make(map[string]string, len(checks))}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ch := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			res := "ok"
			if err := ch.Fn(cctx); err != nil {
				res = "error: " + err.Error()
			}
			mu.Lock()
			defer mu.Unlock()
			out.Checks[ch.Name] = res
			if res != "ok" {
				out.Status = "unavailable"
			}
		}()
	}
	wg.Wait()
	return out
}

// MountOps adds /healthz (the process is alive), /readyz (every dependency
// answers), /metrics (Prometheus) and /ping (the cheapest route behind the
// full middleware: the benchmarks' HTTP ceiling) to app.
func MountOps(app *fiber.App, checks []Check, reg *prometheus.Registry) {
	app.Get("/ping", func(c *fiber.Ctx) error {
		return c.SendString("pong")
	})
	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	app.Get("/readyz", func(c *fiber.Ctx) error {
		r := Ready(c.UserContext(), checks, 3*time.Second)
		if r.Status != "ok" {
			c.Status(fiber.StatusServiceUnavailable)
		}
		return c.JSON(r)
	})
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
}

// HTTPHandler serves a net/http handler (a platform callback whose SDK
// verifies an *http.Request) from fiber. The handler gets a context of its
// own: fasthttp's request context is recycled when the request ends, and
// anything derived from it (database/sql's cancel propagation, for one)
// would read it afterwards.
func HTTPHandler(h http.Handler, timeout time.Duration) fiber.Handler {
	return adaptor.HTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	}))
}
