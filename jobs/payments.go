package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/siyu-live/siyu/payments"
)

// Payments is what the payment tasks call.
type Payments interface {
	CloseExpired(ctx context.Context, orderID string) error
	AccrueCommissions(ctx context.Context, orderID string) error
	SubmitRefund(ctx context.Context, refundID string) error
	ReverseCommissions(ctx context.Context, refundID string) error
	UploadShipping(ctx context.Context, orderID string) error
	CloseExpiredOrders(ctx context.Context, limit int) (int, error)
	ReconcileOrders(ctx context.Context, limit int) (int, error)
	ReconcileRefunds(ctx context.Context, limit int) (int, error)
	SettleCommissions(ctx context.Context) (int, error)
}

// batch is how many orders or refunds one periodic pass handles.
const batch = 200

// HandlePayments adds the payment task handlers to mux. Every handler is
// idempotent: the service checks the state under a row lock or relies on
// a unique key, so a task delivered twice acts once.
func HandlePayments(mux *asynq.ServeMux, p Payments) {
	order := func(fn func(context.Context, string) error) asynq.HandlerFunc {
		return func(ctx context.Context, t *asynq.Task) error {
			var in payments.OrderTask
			if err := decode(t, &in); err != nil {
				return err
			}
			if in.OrderID == "" {
				return fmt.Errorf("%s: no order_id: %w", t.Type(), asynq.SkipRetry)
			}
			return fn(ctx, in.OrderID)
		}
	}
	refund := func(fn func(context.Context, string) error) asynq.HandlerFunc {
		return func(ctx context.Context, t *asynq.Task) error {
			var in payments.RefundTask
			if err := decode(t, &in); err != nil {
				return err
			}
			if in.RefundID == "" {
				return fmt.Errorf("%s: no refund_id: %w", t.Type(), asynq.SkipRetry)
			}
			return fn(ctx, in.RefundID)
		}
	}
	pass := func(fn func(context.Context, int) (int, error)) asynq.HandlerFunc {
		return func(ctx context.Context, _ *asynq.Task) error {
			_, err := fn(ctx, batch)
			return err
		}
	}
	mux.Handle(payments.TaskCloseOrder, order(p.CloseExpired))
	mux.Handle(payments.TaskCloseOrders, asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		var in payments.OrdersTask
		if err := decode(t, &in); err != nil {
			return err
		}
		if len(in.OrderIDs) == 0 {
			return fmt.Errorf("%s: no order_ids: %w", t.Type(), asynq.SkipRetry)
		}
		var errs []error
		for _, id := range in.OrderIDs {
			if err := p.CloseExpired(ctx, id); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", id, err))
			}
		}
		return errors.Join(errs...)
	}))
	mux.Handle(payments.TaskAccrueCommissions, order(p.AccrueCommissions))
	mux.Handle(payments.TaskUploadShipping, order(p.UploadShipping))
	mux.Handle(payments.TaskSubmitRefund, refund(p.SubmitRefund))
	mux.Handle(payments.TaskReverseCommission, refund(p.ReverseCommissions))
	mux.Handle(payments.TaskSweepExpired, pass(p.CloseExpiredOrders))
	mux.Handle(payments.TaskReconcileOrders, pass(p.ReconcileOrders))
	mux.Handle(payments.TaskReconcileRefunds, pass(p.ReconcileRefunds))
	mux.Handle(payments.TaskSettleCommissions, asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		_, err := p.SettleCommissions(ctx)
		return err
	}))
}

// Periodic is a task enqueued on a schedule.
type Periodic struct {
	Cronspec string
	TaskType string
	Queue    string
	// Every bounds how long a run may take; it is also how long an enqueued
	// run stays unique, so slow passes never pile up.
	Every time.Duration
}

// PaymentSchedules are the periodic payment tasks: the sweeper behind the
// delayed close of each order, reconciliation with WeChat Pay, and the
// settlement of commissions past the refund window.
func PaymentSchedules() []Periodic {
	return []Periodic{
		{Cronspec: "@every 1m", TaskType: payments.TaskSweepExpired, Queue: "critical", Every: time.Minute},
		{Cronspec: "@every 1m", TaskType: payments.TaskReconcileOrders, Queue: "critical", Every: time.Minute},
		{Cronspec: "@every 2m", TaskType: payments.TaskReconcileRefunds, Queue: "default", Every: 2 * time.Minute},
		{Cronspec: "@every 1h", TaskType: payments.TaskSettleCommissions, Queue: "low", Every: time.Hour},
	}
}

// RegisterSchedules adds schedules to an asynq scheduler.
func RegisterSchedules(s *asynq.Scheduler, schedules []Periodic) error {
	for _, p := range schedules {
		if _, err := s.Register(p.Cronspec, asynq.NewTask(p.TaskType, nil),
			asynq.Queue(p.Queue), asynq.Unique(p.Every), asynq.Timeout(p.Every), asynq.MaxRetry(0)); err != nil {
			return fmt.Errorf("schedule %s: %w", p.TaskType, err)
		}
	}
	return nil
}

// Logger adapts slog to asynq's logger, for the scheduler.
func Logger(l *slog.Logger) asynq.Logger { return asynqLogger{l} }
