package live

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/outbox"
)

// StartShow takes a scheduled show live: it provisions the LiveKit room
// and moves the show to live, which asks Egress for the recording.
func (s *Service) StartShow(ctx context.Context, staffID, showID string) (*Show, error) {
	show, err := getShow(ctx, s.db, showID)
	if err != nil {
		return nil, err
	}
	if !show.Status.CanBecome(StatusLive) {
		return nil, &TransitionError{ShowID: show.ID, From: show.Status, To: StatusLive}
	}
	// The room first: a show must not be live without one. Creating it
	// makes LiveKit send room_started, which may win the race below; it
	// then finds the show live and does nothing, and so does this.
	if err := s.cfg.Rooms.CreateRoom(ctx, s.roomSpec(show)); err != nil {
		return nil, err
	}
	var out *Show
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		show, err := lockShow(ctx, tx, showID)
		if err != nil {
			return err
		}
		switch {
		case show.Status == StatusLive:
			out = show
			return nil
		case !show.Status.CanBecome(StatusLive):
			return &TransitionError{ShowID: show.ID, From: show.Status, To: StatusLive}
		}
		if err := s.goLive(ctx, tx, show, staffActor(staffID), s.now()); err != nil {
			return err
		}
		out = show
		return s.audit(ctx, tx, showAudit(staffID, "show.start", show.ID, nil))
	})
	if err != nil {
		return nil, err
	}
	s.forget(showID)
	return out, nil
}

// EndShow ends a live show; a job then stops the recording and closes the
// room.
func (s *Service) EndShow(ctx context.Context, staffID, showID string) (*Show, error) {
	var out *Show
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		show, err := lockShow(ctx, tx, showID)
		if err != nil {
			return err
		}
		if !show.Status.CanBecome(StatusEnded) {
			return &TransitionError{ShowID: show.ID, From: show.Status, To: StatusEnded}
		}
		if err := s.end(ctx, tx, show, staffActor(staffID), s.now()); err != nil {
			return err
		}
		out = show
		return s.audit(ctx, tx, showAudit(staffID, "show.end", show.ID, nil))
	})
	if err != nil {
		return nil, err
	}
	s.forget(showID)
	s.dropChat(ctx, showID)
	return out, nil
}

// CancelShow cancels a scheduled show.
func (s *Service) CancelShow(ctx context.Context, staffID, showID string) (*Show, error) {
	var out *Show
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		show, err := lockShow(ctx, tx, showID)
		if err != nil {
			return err
		}
		if !show.Status.CanBecome(StatusCancelled) {
			return &TransitionError{ShowID: show.ID, From: show.Status, To: StatusCancelled}
		}
		now := s.now()
		show.Status, show.CancelledAt, show.UpdatedAt = StatusCancelled, &now, now
		if _, err := tx.NewUpdate().Model(show).Column("status", "cancelled_at", "updated_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("cancel show: %w", err)
		}
		out = show
		if err := addEvent(ctx, tx, show.ID, EventCancelled, staffActor(staffID), now, nil); err != nil {
			return err
		}
		return s.audit(ctx, tx, showAudit(staffID, "show.cancel", show.ID, nil))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// goLive moves a locked scheduled show to live in tx and queues its
// recording.
func (s *Service) goLive(ctx context.Context, tx bun.Tx, show *Show, actor string, at time.Time) error {
	show.Status, show.LiveAt, show.UpdatedAt = StatusLive, &at, s.now()
	show.RecordingStatus, show.RecordingNote = RecordingStarting, ""
	if _, err := tx.NewUpdate().Model(show).Column("status", "live_at", "updated_at", "recording_status", "recording_note").WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("take show live: %w", err)
	}
	if err := addEvent(ctx, tx, show.ID, EventLive, actor, at, nil); err != nil {
		return err
	}
	return outbox.Add(ctx, tx, outbox.Message{
		ID: "live-start-recording:" + show.ID, TaskType: TaskStartRecording, Payload: ShowTask{ShowID: show.ID},
	})
}

// end moves a locked live show to ended in tx: open viewer sessions close
// at the end, the peak is recounted from the sessions, and the room is
// queued for closing. A recording that already completed makes the replay
// ready at once.
func (s *Service) end(ctx context.Context, tx bun.Tx, show *Show, actor string, at time.Time) error {
	if show.LiveAt != nil && at.Before(*show.LiveAt) {
		at = *show.LiveAt
	}
	if err := closeSessions(ctx, tx, show.ID, at); err != nil {
		return err
	}
	peak, err := exactPeak(ctx, tx, show.ID)
	if err != nil {
		return err
	}
	show.Status, show.EndedAt, show.UpdatedAt = StatusEnded, &at, s.now()
	show.Viewers, show.PeakViewers = 0, peak
	if show.PinnedProductID != "" {
		show.PinnedProductID, show.PinnedAt = "", nil
	}
	if _, err := tx.NewUpdate().Model(show).Column("status", "ended_at", "updated_at", "viewers", "peak_viewers", "pinned_product_id", "pinned_at").WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("end show: %w", err)
	}
	if err := addEvent(ctx, tx, show.ID, EventEnded, actor, at, map[string]any{"peak_viewers": peak}); err != nil {
		return err
	}
	if err := outbox.Add(ctx, tx, outbox.Message{
		ID: "live-close-room:" + show.ID, TaskType: TaskCloseRoom, Payload: ShowTask{ShowID: show.ID},
	}); err != nil {
		return err
	}
	rp, err := replayOf(ctx, tx, show.ID)
	switch {
	case errors.Is(err, ErrReplayNotReady):
		return nil
	case err != nil:
		return err
	}
	return s.replayReady(ctx, tx, show, rp, actor)
}

// CloseRoom stops a show's recording and closes its LiveKit room, after
// the show ended.
func (s *Service) CloseRoom(ctx context.Context, showID string) error {
	show, err := getShow(ctx, s.db, showID)
	if err != nil {
		return err
	}
	if show.Status == StatusLive || show.Status == StatusScheduled {
		return nil
	}
	if show.EgressID != "" && show.RecordingStatus == RecordingActive && s.cfg.Recorder != nil {
		if err := s.cfg.Recorder.StopRecording(ctx, show.EgressID); err != nil && !errors.Is(err, ErrEgressUnavailable) {
			return err
		}
	}
	s.dropChat(ctx, showID)
	return s.cfg.Rooms.DeleteRoom(ctx, show.RoomName)
}
