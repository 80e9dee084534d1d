package live

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/outbox"
)

// Reservation is a shopper's reservation (预约) of a show.
type Reservation struct {
	bun.BaseModel `bun:"table:show_reservations"`

	ID          string    `bun:"id,pk"`
	ShowID      string    `bun:"show_id,notnull"`
	MemberID    string    `bun:"member_id,notnull"`
	TemplateIDs []string  `bun:"template_ids,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
	UpdatedAt   time.Time `bun:"updated_at,notnull"`
}

// MaxConsentTemplates is how many templates wx.requestSubscribeMessage may
// ask at once.
const MaxConsentTemplates = 3

// Reserve records a shopper's reservation of a scheduled show and the
// subscribe-message templates they accepted (one consent each), and plans
// the start reminder, all in one transaction. Reserving again adds the
// newly accepted consents and keeps one reservation.
func (s *Service) Reserve(ctx context.Context, showID, memberID string, templateIDs []string) (*Reservation, error) {
	if len(templateIDs) > MaxConsentTemplates {
		return nil, invalid("template_ids", fmt.Sprintf("has more than %d templates", MaxConsentTemplates))
	}
	accepted := make([]string, 0, len(templateIDs))
	for _, id := range templateIDs {
		switch {
		case id == "" || len(id) > 128:
			return nil, invalid("template_ids", "holds an empty or over-long id")
		case slices.Contains(accepted, id):
			continue
		}
		accepted = append(accepted, id)
	}
	if len(accepted) > 0 && s.cfg.Consents == nil {
		return nil, errors.New("live: no consent ledger is connected")
	}
	var out *Reservation
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		show, err := lockShow(ctx, tx, showID)
		if err != nil {
			return err
		}
		if show.Status != StatusScheduled {
			return ErrNotReservable
		}
		now := s.now()
		r := &Reservation{ID: newID(), ShowID: showID, MemberID: memberID, TemplateIDs: accepted, CreatedAt: now, UpdatedAt: now}
		if _, err := tx.NewInsert().Model(r).On("CONFLICT (show_id, member_id) DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("record reservation: %w", err)
		}
		if err := tx.NewSelect().Model(r).Where("show_id = ? AND member_id = ?", showID, memberID).Scan(ctx); err != nil {
			return fmt.Errorf("read reservation: %w", err)
		}
		merged := slices.Clone(r.TemplateIDs)
		for _, id := range accepted {
			if !slices.Contains(merged, id) {
				merged = append(merged, id)
			}
		}
		if len(merged) != len(r.TemplateIDs) {
			r.TemplateIDs, r.UpdatedAt = merged, now
			if _, err := tx.NewUpdate().Model(r).Column("template_ids", "updated_at").WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("update reservation: %w", err)
			}
		}
		if len(accepted) > 0 {
			if err := s.cfg.Consents.Grant(ctx, tx, memberID, accepted); err != nil {
				return err
			}
		}
		out = r
		return s.planReminder(ctx, tx, show, r)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// planReminder queues a reservation's reminder for the show's current
// start. The message id names the start, so planning twice for the same
// start queues one reminder.
func (s *Service) planReminder(ctx context.Context, tx bun.IDB, show *Show, r *Reservation) error {
	return outbox.Add(ctx, tx, outbox.Message{
		ID:        fmt.Sprintf("live-reminder:%s:%d", r.ID, show.ScheduledAt.Unix()),
		TaskType:  TaskSendReminder,
		Payload:   ReminderTask{ReservationID: r.ID, StartsAt: show.ScheduledAt},
		ProcessAt: show.ScheduledAt.Add(-s.cfg.ReminderLead),
	})
}

// rescheduleReminders plans every reservation's reminder again for a new
// start; the old reminders find the start moved and do nothing.
func (s *Service) rescheduleReminders(ctx context.Context, tx bun.IDB, show *Show) error {
	var rs []Reservation
	if err := tx.NewSelect().Model(&rs).Where("show_id = ?", show.ID).Scan(ctx); err != nil {
		return fmt.Errorf("read reservations: %w", err)
	}
	for i := range rs {
		if err := s.planReminder(ctx, tx, show, &rs[i]); err != nil {
			return err
		}
	}
	return nil
}

// Reservation returns a member's reservation of a show.
func (s *Service) Reservation(ctx context.Context, showID, memberID string) (*Reservation, error) {
	r := new(Reservation)
	if err := s.db.NewSelect().Model(r).Where("show_id = ? AND member_id = ?", showID, memberID).Scan(ctx); err != nil {
		if isNoRows(err) {
			return nil, fmt.Errorf("%w: no reservation", ErrShowNotFound)
		}
		return nil, fmt.Errorf("read reservation: %w", err)
	}
	return r, nil
}

// SendReminder sends one reservation's start reminder, once: a show no
// longer scheduled, or rescheduled since the reminder was planned, gets
// none from this task, and a member without consent gets none at all.
func (s *Service) SendReminder(ctx context.Context, t ReminderTask) error {
	r := new(Reservation)
	if err := s.db.NewSelect().Model(r).Where("id = ?", t.ReservationID).Scan(ctx); err != nil {
		if isNoRows(err) {
			return nil
		}
		return fmt.Errorf("read reservation: %w", err)
	}
	show, err := getShow(ctx, s.db, r.ShowID)
	if err != nil {
		return err
	}
	if show.Status != StatusScheduled || !show.ScheduledAt.Equal(t.StartsAt) {
		return nil
	}
	return s.notify(ctx, "live-reminder:"+r.ID, r.MemberID, s.cfg.ReminderTemplate, show)
}

// notify sends a member one notice about a show through the Notifier.
func (s *Service) notify(ctx context.Context, key, memberID string, tpl NoticeTemplate, show *Show) error {
	if tpl.ID == "" || s.cfg.Notifier == nil {
		s.log.Info("notice not configured; nothing sent", "key", key)
		return nil
	}
	if s.cfg.Members == nil {
		return errors.New("live: no member directory is connected")
	}
	m, err := s.cfg.Members.Member(ctx, memberID)
	if err != nil {
		return fmt.Errorf("look up member %s: %w", memberID, err)
	}
	outcome, err := s.cfg.Notifier.Notify(ctx, Notice{
		Key: key, MemberID: memberID, OpenID: m.OpenID, TemplateID: tpl.ID,
		Page: s.page(show.ID), Data: tpl.fill(show),
	})
	if err != nil {
		return err
	}
	s.log.Info("notice", "key", key, "outcome", outcome)
	return nil
}
