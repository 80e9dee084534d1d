package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/siyu-live/siyu/live"
)

// Live is what the live tasks call (*live.Service).
type Live interface {
	StartRecording(ctx context.Context, showID string) error
	CloseRoom(ctx context.Context, showID string) error
	SendReminder(ctx context.Context, t live.ReminderTask) error
	FanOutReplayNotices(ctx context.Context, showID string) error
	SendReplayNotice(ctx context.Context, t live.ReplayNoticeTask) error
	Reconcile(ctx context.Context) error
}

// HandleLive adds the live task handlers to mux. Each is idempotent: the
// service checks the show's state under its lock, and notices are sent
// once per key by the consent ledger.
func HandleLive(mux *asynq.ServeMux, l Live) {
	show := func(fn func(context.Context, string) error) asynq.HandlerFunc {
		return func(ctx context.Context, t *asynq.Task) error {
			var in live.ShowTask
			if err := decode(t, &in); err != nil {
				return err
			}
			if in.ShowID == "" {
				return fmt.Errorf("%s: no show_id: %w", t.Type(), asynq.SkipRetry)
			}
			return gone(fn(ctx, in.ShowID))
		}
	}
	mux.Handle(live.TaskStartRecording, show(l.StartRecording))
	mux.Handle(live.TaskCloseRoom, show(l.CloseRoom))
	mux.Handle(live.TaskFanOutReplay, show(l.FanOutReplayNotices))
	mux.HandleFunc(live.TaskSendReminder, func(ctx context.Context, t *asynq.Task) error {
		var in live.ReminderTask
		if err := decode(t, &in); err != nil {
			return err
		}
		if in.ReservationID == "" {
			return fmt.Errorf("%s: no reservation_id: %w", t.Type(), asynq.SkipRetry)
		}
		return gone(l.SendReminder(ctx, in))
	})
	mux.HandleFunc(live.TaskSendReplayNotice, func(ctx context.Context, t *asynq.Task) error {
		var in live.ReplayNoticeTask
		if err := decode(t, &in); err != nil {
			return err
		}
		if in.ShowID == "" || in.MemberID == "" {
			return fmt.Errorf("%s: no show_id or member_id: %w", t.Type(), asynq.SkipRetry)
		}
		return gone(l.SendReplayNotice(ctx, in))
	})
	mux.HandleFunc(live.TaskReconcile, func(ctx context.Context, _ *asynq.Task) error {
		return l.Reconcile(ctx)
	})
}

// gone ends a task about a show that does not exist without retries.
func gone(err error) error {
	if errors.Is(err, live.ErrShowNotFound) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return err
}

// LiveSchedules are the periodic live tasks: reconciling live rooms' viewer
// sessions with LiveKit.
func LiveSchedules() []Periodic {
	return []Periodic{
		{Cronspec: "@every 30s", TaskType: live.TaskReconcile, Queue: "default", Every: 30 * time.Second},
	}
}
