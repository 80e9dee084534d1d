package live

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// Status is where a show is in its life.
type Status string

// The statuses of a show.
const (
	StatusScheduled   Status = "scheduled"
	StatusLive        Status = "live"
	StatusEnded       Status = "ended"
	StatusReplayReady Status = "replay_ready"
	StatusCancelled   Status = "cancelled"
)

// transitions lists, for each status, the statuses a show may move to.
var transitions = map[Status][]Status{
	StatusScheduled: {StatusLive, StatusCancelled},
	StatusLive:      {StatusEnded},
	StatusEnded:     {StatusReplayReady},
}

// CanBecome reports whether a show in status s may move to next.
func (s Status) CanBecome(next Status) bool {
	return slices.Contains(transitions[s], next)
}

// Mode says how viewers watch a show.
type Mode string

// The viewing modes.
const (
	ModeWebRTC Mode = "webrtc" // viewers subscribe to the room
	ModeHLS    Mode = "hls"    // viewers play Egress's live HLS playlist
	ModeBoth   Mode = "both"
)

// HLS reports whether the mode needs a live HLS playlist.
func (m Mode) HLS() bool { return m == ModeHLS || m == ModeBoth }

func (m Mode) valid() bool { return m == ModeWebRTC || m == ModeHLS || m == ModeBoth }

// RecordingStatus says what became of a show's recording.
type RecordingStatus string

// The recording statuses.
const (
	RecordingNone        RecordingStatus = "none"        // not live yet
	RecordingStarting    RecordingStatus = "starting"    // asked of Egress
	RecordingActive      RecordingStatus = "recording"   // Egress is recording
	RecordingUnavailable RecordingStatus = "unavailable" // no Egress service is connected
	RecordingFailed      RecordingStatus = "failed"
	RecordingComplete    RecordingStatus = "complete"
)

// Show is a live show.
type Show struct {
	bun.BaseModel `bun:"table:shows"`

	ID          string    `bun:"id,pk"`
	Title       string    `bun:"title,notnull"`
	CoverURL    string    `bun:"cover_url,notnull"`
	ScheduledAt time.Time `bun:"scheduled_at,notnull"`
	HostStaffID string    `bun:"host_staff_id,notnull"`
	// HostName is the host as shoppers see them (a stage name).
	HostName        string          `bun:"host_name,notnull"`
	AssistantIDs    []string        `bun:"assistant_ids,notnull"`
	Mode            Mode            `bun:"mode,notnull"`
	Status          Status          `bun:"status,notnull"`
	RoomName        string          `bun:"room_name,notnull"`
	LiveAt          *time.Time      `bun:"live_at"`
	EndedAt         *time.Time      `bun:"ended_at"`
	CancelledAt     *time.Time      `bun:"cancelled_at"`
	RecordingStatus RecordingStatus `bun:"recording_status,notnull"`
	RecordingNote   string          `bun:"recording_note,notnull"`
	EgressID        string          `bun:"egress_id,notnull"`
	HLSURL          string          `bun:"hls_url,notnull"`
	PinnedProductID string          `bun:"pinned_product_id,notnull"`
	PinnedAt        *time.Time      `bun:"pinned_at"`
	Announcement    string          `bun:"announcement,notnull"`
	Likes           int64           `bun:"likes,notnull"`
	Viewers         int             `bun:"viewers,notnull"`
	PeakViewers     int             `bun:"peak_viewers,notnull"`
	CreatedBy       string          `bun:"created_by,notnull"`
	CreatedAt       time.Time       `bun:"created_at,notnull"`
	UpdatedAt       time.Time       `bun:"updated_at,notnull"`
}

// IsAssistant reports whether staffID assists the show.
func (s *Show) IsAssistant(staffID string) bool { return slices.Contains(s.AssistantIDs, staffID) }

// RoomName returns the LiveKit room of a show.
func RoomName(showID string) string { return "show-" + showID }

// ShowInput is what staff give to schedule a show.
type ShowInput struct {
	Title        string
	CoverURL     string
	ScheduledAt  time.Time
	HostStaffID  string
	HostName     string
	AssistantIDs []string
	Mode         Mode
}

func (in *ShowInput) normalize() error {
	in.Title = strings.TrimSpace(in.Title)
	in.CoverURL = strings.TrimSpace(in.CoverURL)
	in.HostName = strings.TrimSpace(in.HostName)
	if in.Mode == "" {
		in.Mode = ModeWebRTC
	}
	switch {
	case in.Title == "":
		return invalid("title", "is required")
	case utf8.RuneCountInString(in.Title) > 60:
		return invalid("title", "is longer than 60 characters")
	case len(in.CoverURL) > 1024:
		return invalid("cover_url", "is longer than 1024 bytes")
	case in.CoverURL != "" && !strings.HasPrefix(in.CoverURL, "https://") && !strings.HasPrefix(in.CoverURL, "http://"):
		return invalid("cover_url", "must be an http(s) URL")
	case in.ScheduledAt.IsZero():
		return invalid("scheduled_at", "is required")
	case in.HostStaffID == "":
		return invalid("host_staff_id", "is required")
	case utf8.RuneCountInString(in.HostName) > 20:
		return invalid("host_name", "is longer than 20 characters")
	case !in.Mode.valid():
		return invalid("mode", "must be webrtc, hls or both")
	case len(in.AssistantIDs) > 20:
		return invalid("assistant_ids", "has more than 20 assistants")
	}
	seen := map[string]bool{}
	ids := make([]string, 0, len(in.AssistantIDs))
	for _, id := range in.AssistantIDs {
		id = strings.TrimSpace(id)
		switch {
		case id == "":
			return invalid("assistant_ids", "has an empty id")
		case id == in.HostStaffID:
			return invalid("assistant_ids", "lists the host")
		case seen[id]:
			continue
		}
		seen[id] = true
		ids = append(ids, id)
	}
	in.AssistantIDs = ids
	// Whole seconds: the start is compared with the one a reminder was
	// planned for, and the database keeps microseconds.
	in.ScheduledAt = in.ScheduledAt.UTC().Truncate(time.Second)
	return nil
}

// CreateShow schedules a show.
func (s *Service) CreateShow(ctx context.Context, staffID string, in ShowInput) (*Show, error) {
	if err := in.normalize(); err != nil {
		return nil, err
	}
	now := s.now()
	if in.ScheduledAt.Before(now.Add(-time.Minute)) {
		return nil, invalid("scheduled_at", "is in the past")
	}
	id := newID()
	show := &Show{
		ID: id, Title: in.Title, CoverURL: in.CoverURL, ScheduledAt: in.ScheduledAt,
		HostStaffID: in.HostStaffID, HostName: in.HostName, AssistantIDs: in.AssistantIDs, Mode: in.Mode,
		Status: StatusScheduled, RoomName: RoomName(id), RecordingStatus: RecordingNone,
		CreatedBy: staffID, CreatedAt: now, UpdatedAt: now,
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(show).Exec(ctx); err != nil {
			return fmt.Errorf("insert show: %w", err)
		}
		if err := addEvent(ctx, tx, show.ID, EventScheduled, staffActor(staffID), now, map[string]any{"scheduled_at": show.ScheduledAt}); err != nil {
			return err
		}
		return s.audit(ctx, tx, showAudit(staffID, "show.create", show.ID, map[string]any{"title": show.Title, "scheduled_at": show.ScheduledAt}))
	})
	if err != nil {
		return nil, err
	}
	return show, nil
}

// ShowPatch is an edit of a scheduled show; nil fields stay as they are.
type ShowPatch struct {
	Title        *string
	CoverURL     *string
	ScheduledAt  *time.Time
	HostStaffID  *string
	HostName     *string
	AssistantIDs *[]string
	Mode         *Mode
}

// UpdateShow edits a scheduled show. A new start time reschedules the
// reservations' reminders.
func (s *Service) UpdateShow(ctx context.Context, staffID, showID string, p ShowPatch) (*Show, error) {
	var out *Show
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		show, err := lockShow(ctx, tx, showID)
		if err != nil {
			return err
		}
		if show.Status != StatusScheduled {
			return ErrShowNotEditable
		}
		in := ShowInput{Title: show.Title, CoverURL: show.CoverURL, ScheduledAt: show.ScheduledAt,
			HostStaffID: show.HostStaffID, HostName: show.HostName, AssistantIDs: show.AssistantIDs, Mode: show.Mode}
		if p.Title != nil {
			in.Title = *p.Title
		}
		if p.CoverURL != nil {
			in.CoverURL = *p.CoverURL
		}
		if p.ScheduledAt != nil {
			in.ScheduledAt = *p.ScheduledAt
			if in.ScheduledAt.Before(s.now().Add(-time.Minute)) {
				return invalid("scheduled_at", "is in the past")
			}
		}
		if p.HostStaffID != nil {
			in.HostStaffID = *p.HostStaffID
		}
		if p.HostName != nil {
			in.HostName = *p.HostName
		}
		if p.AssistantIDs != nil {
			in.AssistantIDs = *p.AssistantIDs
		}
		if p.Mode != nil {
			in.Mode = *p.Mode
		}
		if err := in.normalize(); err != nil {
			return err
		}
		rescheduled := !in.ScheduledAt.Equal(show.ScheduledAt)
		now := s.now()
		show.Title, show.CoverURL, show.ScheduledAt = in.Title, in.CoverURL, in.ScheduledAt
		show.HostStaffID, show.HostName, show.AssistantIDs, show.Mode = in.HostStaffID, in.HostName, in.AssistantIDs, in.Mode
		show.UpdatedAt = now
		if _, err := tx.NewUpdate().Model(show).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("update show: %w", err)
		}
		if rescheduled {
			if err := addEvent(ctx, tx, show.ID, EventRescheduled, staffActor(staffID), now, map[string]any{"scheduled_at": show.ScheduledAt}); err != nil {
				return err
			}
			if err := s.rescheduleReminders(ctx, tx, show); err != nil {
				return err
			}
		}
		out = show
		return s.audit(ctx, tx, showAudit(staffID, "show.update", show.ID, map[string]any{"title": show.Title, "scheduled_at": show.ScheduledAt, "mode": show.Mode}))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Show returns a show.
func (s *Service) Show(ctx context.Context, showID string) (*Show, error) {
	return getShow(ctx, s.db, showID)
}

// ShowFilter narrows ListShows.
type ShowFilter struct {
	// Statuses keeps shows in one of these statuses; empty keeps all.
	Statuses []Status
	// Limit is at most 100 (20 when zero).
	Limit  int
	Offset int
}

// ListShows lists shows, the soonest scheduled first.
func (s *Service) ListShows(ctx context.Context, f ShowFilter) ([]Show, error) {
	if f.Limit <= 0 {
		f.Limit = 20
	}
	if f.Limit > 100 {
		f.Limit = 100
	}
	var shows []Show
	q := s.db.NewSelect().Model(&shows).OrderExpr("scheduled_at DESC, id DESC").Limit(int64(f.Limit)).Offset(int64(max(f.Offset, 0)))
	if len(f.Statuses) > 0 {
		q = q.Where("status IN (?)", bun.In(f.Statuses))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list shows: %w", err)
	}
	return shows, nil
}

func getShow(ctx context.Context, db bun.IDB, showID string) (*Show, error) {
	show := new(Show)
	if err := db.NewSelect().Model(show).Where("id = ?", showID).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrShowNotFound
		}
		return nil, fmt.Errorf("read show: %w", err)
	}
	return show, nil
}

// lockShow reads a show under its row lock (PostgreSQL; SQLite's write
// transaction is already exclusive).
func lockShow(ctx context.Context, tx bun.IDB, showID string) (*Show, error) {
	show := new(Show)
	if err := database.ForUpdate(tx.NewSelect().Model(show).Where("id = ?", showID)).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrShowNotFound
		}
		return nil, fmt.Errorf("lock show: %w", err)
	}
	return show, nil
}

// showByRoom finds the show of a LiveKit room under its row lock.
func showByRoom(ctx context.Context, tx bun.IDB, room string) (*Show, error) {
	show := new(Show)
	if err := database.ForUpdate(tx.NewSelect().Model(show).Where("room_name = ?", room)).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrShowNotFound
		}
		return nil, fmt.Errorf("lock show of room %s: %w", room, err)
	}
	return show, nil
}
