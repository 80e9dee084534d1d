package edge

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// HeaderRequestID carries the request ID in requests and answers.
const HeaderRequestID = "X-Request-ID"

// requestIDKey is where the request ID is kept in fiber's locals.
const requestIDKey = "requestid"

// RequestID returns the current request's ID.
func RequestID(c *fiber.Ctx) string {
	if v, ok := c.Locals(requestIDKey).(string); ok {
		return v
	}
	return ""
}

// Config configures the edge.
type Config struct {
	BodyLimit     int
	ReadTimeout   time.Duration
	WriteTimeout  time.Duration
	ConsoleOrigin string
	Logger        *slog.Logger
	Registry      *prometheus.Registry
	// Errors maps sentinels of routes mounted directly on the root app.
	Errors []Mapping
}

// New returns the root fiber app with the edge middleware installed.
func New(cfg Config) *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "siyu",
		BodyLimit:             cfg.BodyLimit,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           2 * time.Minute,
		DisableStartupMessage: true,
		// Without it, the strings fiber hands out (path parameters, headers,
		// query values) point into fasthttp's request buffer and change
		// under any code that keeps them past the request: caches keyed by
		// a show or sale id, batches that outlive the answer. A session
		// cache once answered as another shopper that way.
		Immutable: true,
		// goccy/go-json decodes and encodes as encoding/json does, in about
		// half the time; fiber's own guide recommends it. Every request
		// body and JSON answer goes through it.
		JSONEncoder:  json.Marshal,
		JSONDecoder:  json.Unmarshal,
		ErrorHandler: ErrorHandler(cfg.Logger, cfg.Errors),
	})
	app.Use(requestid.New(requestid.Config{
		Header:     HeaderRequestID,
		ContextKey: requestIDKey,
		Generator:  func() string { return uuid.NewString() },
	}))
	app.Use(recoverPanics(cfg.Logger))
	app.Use(observe(cfg.Logger, newHTTPMetrics(cfg.Registry)))
	app.Use(cors.New(cors.Config{
		AllowOrigins:     cfg.ConsoleOrigin,
		AllowCredentials: true,
		AllowHeaders:     "Content-Type, Authorization, Idempotency-Key, X-CSRF-Token, X-Request-ID",
		ExposeHeaders:    "X-Request-ID, Retry-After",
	}))
	return app
}

// recoverPanics turns a panic into a logged 500; the stack goes to the log,
// never to the client.
func recoverPanics(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic", "request_id", RequestID(c), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return c.Next()
	}
}

type httpMetrics struct {
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "siyu_http_request_duration_seconds",
			Help:    "HTTP requests by route and status, with their latency.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
	}
	if reg != nil {
		reg.MustRegister(m.duration)
	}
	return m
}

// unmatched reports whether err is fiber's answer to a path no route
// matches; such requests are labelled "unmatched" rather than by raw path.
func unmatched(err error) bool {
	var fe *fiber.Error
	return errors.As(err, &fe) && fe.Code == fiber.StatusNotFound && strings.HasPrefix(fe.Message, "Cannot ")
}

// observe logs every request once and records its latency by route (the
// route pattern, never the raw path, so IDs do not explode the series).
func observe(log *slog.Logger, m *httpMetrics) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		route := c.Route().Path
		if unmatched(err) {
			route = "unmatched"
		}
		if err != nil {
			// Let the error handler write the answer now, so the status we
			// record and log is the one the client sees.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		elapsed := time.Since(start)
		status := c.Response().StatusCode()
		// fiber's strings point into buffers reused by the next request;
		// a label value outlives this one, so it gets its own copy.
		method := strings.Clone(c.Method())
		m.duration.WithLabelValues(method, strings.Clone(route), strconv.Itoa(status)).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		log.Log(c.UserContext(), level, "http",
			"request_id", RequestID(c),
			"method", method,
			"route", route,
			"path", c.Path(),
			"status", status,
			"duration_ms", float64(elapsed.Microseconds())/1000,
			"ip", c.IP(),
		)
		return nil
	}
}
