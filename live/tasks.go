package live

import "time"

// The asynq task types the live domain adds to the outbox. jobs/live.go
// handles each with one Service method.
const (
	// TaskStartRecording asks Egress to record a show that went live
	// (payload ShowTask; StartRecording).
	TaskStartRecording = "live:start-recording"
	// TaskCloseRoom stops the recording and closes the room of a show that
	// ended (payload ShowTask; CloseRoom).
	TaskCloseRoom = "live:close-room"
	// TaskSendReminder sends one reservation's start reminder (payload
	// ReminderTask; SendReminder).
	TaskSendReminder = "live:send-reminder"
	// TaskFanOutReplay queues a replay notice for everyone who should get
	// one (payload ShowTask; FanOutReplayNotices).
	TaskFanOutReplay = "live:fan-out-replay"
	// TaskSendReplayNotice sends one member's replay notice (payload
	// ReplayNoticeTask; SendReplayNotice).
	TaskSendReplayNotice = "live:send-replay-notice"
	// TaskReconcile compares live rooms with the viewer sessions; it is
	// periodic, not in the outbox (no payload; Reconcile).
	TaskReconcile = "live:reconcile"
)

// ShowTask is the payload of tasks about one show.
type ShowTask struct {
	ShowID string `json:"show_id"`
}

// ReminderTask is the payload of TaskSendReminder. StartsAt is the start
// the reminder was planned for: a show rescheduled since has a newer task.
type ReminderTask struct {
	ReservationID string    `json:"reservation_id"`
	StartsAt      time.Time `json:"starts_at"`
}

// ReplayNoticeTask is the payload of TaskSendReplayNotice.
type ReplayNoticeTask struct {
	ShowID   string `json:"show_id"`
	MemberID string `json:"member_id"`
}
