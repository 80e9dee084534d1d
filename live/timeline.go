package live

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// EventKind names a timeline event.
type EventKind string

// The timeline's events.
const (
	EventScheduled            EventKind = "scheduled"
	EventRescheduled          EventKind = "rescheduled"
	EventLive                 EventKind = "live"
	EventEnded                EventKind = "ended"
	EventCancelled            EventKind = "cancelled"
	EventReplayReady          EventKind = "replay_ready"
	EventRecordingStarted     EventKind = "recording_started"
	EventRecordingUnavailable EventKind = "recording_unavailable"
	EventRecordingFailed      EventKind = "recording_failed"
	EventProductPinned        EventKind = "product_pinned"
	EventProductUnpinned      EventKind = "product_unpinned"
	EventFlashSale            EventKind = "flash_sale"
	EventCouponDropped        EventKind = "coupon_dropped"
	EventAnnouncementPinned   EventKind = "announcement_pinned"
	EventAnnouncementUnpinned EventKind = "announcement_unpinned"
	EventViewerMuted          EventKind = "viewer_muted"
	EventViewerUnmuted        EventKind = "viewer_unmuted"
	EventViewerRemoved        EventKind = "viewer_removed"
	EventCommentDeleted       EventKind = "comment_deleted"
)

// TimelineEvent is one stamp on a show's timeline.
type TimelineEvent struct {
	bun.BaseModel `bun:"table:show_events"`

	ID     string    `bun:"id,pk"`
	ShowID string    `bun:"show_id,notnull"`
	Kind   EventKind `bun:"kind,notnull"`
	// Actor is "staff:ID", "livekit" or "system".
	Actor string    `bun:"actor,notnull"`
	At    time.Time `bun:"at,notnull"`
	// Data is the event's details as JSON.
	Data json.RawMessage `bun:"data,type:text,notnull"`
}

// The actors of events that no staff member caused.
const (
	ActorLiveKit = "livekit"
	ActorSystem  = "system"
)

func staffActor(staffID string) string { return "staff:" + staffID }

// addEvent stamps an event on a show's timeline through db, the
// transaction of the change it records.
func addEvent(ctx context.Context, db bun.IDB, showID string, kind EventKind, actor string, at time.Time, data any) error {
	raw := json.RawMessage("{}")
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return fmt.Errorf("timeline data of %s: %w", kind, err)
		}
		raw = b
	}
	ev := &TimelineEvent{ID: newID(), ShowID: showID, Kind: kind, Actor: actor, At: at.UTC(), Data: raw}
	if _, err := db.NewInsert().Model(ev).Exec(ctx); err != nil {
		return fmt.Errorf("stamp %s on the timeline: %w", kind, err)
	}
	return nil
}

// Timeline returns a show's events, oldest first.
func (s *Service) Timeline(ctx context.Context, showID string) ([]TimelineEvent, error) {
	if _, err := getShow(ctx, s.db, showID); err != nil {
		return nil, err
	}
	return timeline(ctx, s.db, showID)
}

func timeline(ctx context.Context, db bun.IDB, showID string) ([]TimelineEvent, error) {
	var evs []TimelineEvent
	if err := db.NewSelect().Model(&evs).Where("show_id = ?", showID).OrderExpr("at ASC, id ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("read timeline: %w", err)
	}
	return evs, nil
}
