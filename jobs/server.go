package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// Queues and their priorities: payment and stock work first.
var Queues = map[string]int{"critical": 6, "default": 3, "low": 1}

// ServerConfig configures a worker.
type ServerConfig struct {
	Concurrency     int
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	Registry        prometheus.Registerer
}

// NewServer returns an asynq server for the given Redis with Siyu's queues,
// logging and metrics. Handlers are added to the returned mux.
func NewServer(redis asynq.RedisConnOpt, cfg ServerConfig) (*asynq.Server, *asynq.ServeMux) {
	log := cfg.Logger
	srv := asynq.NewServer(redis, asynq.Config{
		Concurrency:     cfg.Concurrency,
		Queues:          Queues,
		ShutdownTimeout: cfg.ShutdownTimeout,
		// An idle worker looks for new tasks ten times a second (asynq's
		// default is once a second, plus jitter): a task the outbox relays
		// at once, such as a campaign's start, runs at once.
		TaskCheckInterval: 100 * time.Millisecond,
		Logger:            asynqLogger{log},
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, task *asynq.Task, err error) {
			retried, _ := asynq.GetRetryCount(ctx)
			log.Warn("job failed", "type", task.Type(), "retried", retried, "err", err)
		}),
	})
	mux := asynq.NewServeMux()
	mux.Use(countOutcomes(cfg.Registry))
	return srv, mux
}

// countOutcomes counts every task by type and outcome (ok, error, skipped).
func countOutcomes(reg prometheus.Registerer) asynq.MiddlewareFunc {
	counter := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "siyu_jobs_total",
		Help: "Jobs run, by type and outcome.",
	}, []string{"type", "outcome"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "siyu_job_duration_seconds",
		Help:    "Job run time by type.",
		Buckets: prometheus.DefBuckets,
	}, []string{"type"})
	if reg != nil {
		reg.MustRegister(counter, duration)
	}
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			start := time.Now()
			err := next.ProcessTask(ctx, t)
			duration.WithLabelValues(t.Type()).Observe(time.Since(start).Seconds())
			outcome := "ok"
			switch {
			case errors.Is(err, asynq.SkipRetry):
				outcome = "skipped"
			case err != nil:
				outcome = "error"
			}
			counter.WithLabelValues(t.Type(), outcome).Inc()
			return err
		})
	}
}

// asynqLogger adapts slog to asynq's logger.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(sprint(args)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(sprint(args)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(sprint(args)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(sprint(args)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(sprint(args)) }
