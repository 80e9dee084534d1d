package jobs

import (
	"context"
	"errors"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/siyu-live/siyu/live"
)

// liveCalls records which live method each task reached.
type liveCalls struct {
	calls []string
	err   error
}

func (l *liveCalls) note(name string) error { l.calls = append(l.calls, name); return l.err }

func (l *liveCalls) StartRecording(_ context.Context, id string) error { return l.note("record " + id) }
func (l *liveCalls) CloseRoom(_ context.Context, id string) error      { return l.note("close " + id) }
func (l *liveCalls) SendReminder(_ context.Context, t live.ReminderTask) error {
	return l.note("remind " + t.ReservationID)
}
func (l *liveCalls) FanOutReplayNotices(_ context.Context, id string) error {
	return l.note("fan-out " + id)
}
func (l *liveCalls) SendReplayNotice(_ context.Context, t live.ReplayNoticeTask) error {
	return l.note("notice " + t.ShowID + "/" + t.MemberID)
}
func (l *liveCalls) Reconcile(context.Context) error { return l.note("reconcile") }

func TestLiveHandlers(t *testing.T) {
	cases := []struct {
		name     string
		task     string
		payload  string
		err      error
		call     string
		skip     bool
		failWith bool
	}{
		{"start recording", live.TaskStartRecording, `{"show_id":"s1"}`, nil, "record s1", false, false},
		{"close room", live.TaskCloseRoom, `{"show_id":"s1"}`, nil, "close s1", false, false},
		{"reminder", live.TaskSendReminder, `{"reservation_id":"r1","starts_at":"2026-01-01T12:00:00Z"}`, nil, "remind r1", false, false},
		{"fan out", live.TaskFanOutReplay, `{"show_id":"s1"}`, nil, "fan-out s1", false, false},
		{"replay notice", live.TaskSendReplayNotice, `{"show_id":"s1","member_id":"m1"}`, nil, "notice s1/m1", false, false},
		{"reconcile", live.TaskReconcile, ``, nil, "reconcile", false, false},
		{"unreadable payload", live.TaskCloseRoom, `{`, nil, "", true, true},
		{"no show id", live.TaskStartRecording, `{}`, nil, "", true, true},
		{"no member id", live.TaskSendReplayNotice, `{"show_id":"s1"}`, nil, "", true, true},
		{"a show that is gone", live.TaskCloseRoom, `{"show_id":"s9"}`, live.ErrShowNotFound, "close s9", true, true},
		{"a passing failure is retried", live.TaskStartRecording, `{"show_id":"s1"}`, live.ErrLiveKitUnavailable, "record s1", false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := &liveCalls{err: c.err}
			mux := asynq.NewServeMux()
			HandleLive(mux, l)
			err := mux.ProcessTask(context.Background(), asynq.NewTask(c.task, []byte(c.payload)))
			if (err != nil) != c.failWith || errors.Is(err, asynq.SkipRetry) != c.skip {
				t.Fatalf("err = %v, want failure %v, skip %v", err, c.failWith, c.skip)
			}
			var got string
			if len(l.calls) > 0 {
				got = l.calls[0]
			}
			if got != c.call || len(l.calls) > 1 {
				t.Fatalf("called %v, want %q", l.calls, c.call)
			}
		})
	}
	if got := LiveSchedules(); len(got) != 1 || got[0].TaskType != live.TaskReconcile {
		t.Fatalf("schedules = %+v", got)
	}
}
