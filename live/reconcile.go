package live

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// joinSkew is how recent a session may be and still be left open when
// ListParticipants does not show it: its participant may have joined after
// the list was taken.
const joinSkew = 10 * time.Second

// Reconcile compares every live show's viewer sessions with the
// participants LiveKit lists, which repairs missed webhooks: sessions of
// viewers no longer in the room are closed, viewers in the room without a
// session get one, and the peak is recounted from the sessions. A live
// show whose room is gone (room_finished was missed) ends.
func (s *Service) Reconcile(ctx context.Context) error {
	var ids []string
	if err := s.db.NewSelect().Model((*Show)(nil)).Column("id").Where("status = ?", StatusLive).Scan(ctx, &ids); err != nil {
		return fmt.Errorf("list live shows: %w", err)
	}
	var errs []error
	for _, id := range ids {
		if err := s.ReconcileShow(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("reconcile show %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// ReconcileShow reconciles one live show.
func (s *Service) ReconcileShow(ctx context.Context, showID string) error {
	show, err := getShow(ctx, s.db, showID)
	if err != nil {
		return err
	}
	if show.Status != StatusLive {
		return nil
	}
	listedAt := s.now()
	ps, err := s.cfg.Rooms.Participants(ctx, show.RoomName)
	roomGone := errors.Is(err, ErrRoomNotFound)
	if err != nil && !roomGone {
		return err
	}
	if roomGone && show.LiveAt != nil && listedAt.Sub(*show.LiveAt) < s.cfg.EmptyTimeout+time.Minute {
		// A show started by staff before the host arrived has no room yet;
		// LiveKit would close an empty room only after EmptyTimeout.
		return nil
	}
	if roomGone {
		// The show may end below; joins and chat must see it at once.
		defer s.forget(showID)
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		show, err := lockShow(ctx, tx, showID)
		if err != nil {
			return err
		}
		if show.Status != StatusLive {
			return nil
		}
		now := s.now()
		if roomGone {
			return s.end(ctx, tx, show, ActorSystem, listedAt)
		}
		present := map[string]Participant{}
		for _, p := range ps {
			if isViewer(p) && p.SID != "" {
				present[p.SID] = p
			}
		}
		var open []ViewerSession
		if err := tx.NewSelect().Model(&open).Where("show_id = ? AND left_at IS NULL", showID).Scan(ctx); err != nil {
			return fmt.Errorf("read open sessions: %w", err)
		}
		known := map[string]bool{}
		for _, v := range open {
			known[v.ParticipantSID] = true
			if _, ok := present[v.ParticipantSID]; ok {
				continue
			}
			if v.JoinedAt != nil && v.JoinedAt.After(listedAt.Add(-joinSkew)) {
				continue
			}
			if err := touchSession(ctx, tx, showID, v.Identity, v.ParticipantSID, nil, &listedAt, now); err != nil {
				return err
			}
		}
		for sid, p := range present {
			if known[sid] {
				continue
			}
			joined := p.JoinedAt
			// A closed session stays closed: its leave was seen after the
			// list was taken.
			if err := touchSession(ctx, tx, showID, p.Identity, sid, &joined, nil, now); err != nil {
				return err
			}
		}
		current, err := openSessions(ctx, tx, showID)
		if err != nil {
			return err
		}
		peak, err := exactPeak(ctx, tx, showID)
		if err != nil {
			return err
		}
		show.Viewers, show.PeakViewers = current, max(peak, current)
		return updateShow(ctx, tx, show, now, "viewers", "peak_viewers")
	})
}
