package live_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/testsupport"
)

// sentTo returns the subscribe messages the sandbox accepted for openid.
func sentTo(openid string) []miniprogram.SubscribeMessage {
	var out []miniprogram.SubscribeMessage
	for _, m := range platform.SentSubscribeMessages() {
		if m.ToUser == openid {
			out = append(out, m)
		}
	}
	return out
}

func TestReservationReminders(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		show := h.schedule(t, live.ModeWebRTC)
		sfx := show.ID[len(show.ID)-6:]
		consenting, silent, stale := "m-rsv-yes-"+sfx, "m-rsv-no-"+sfx, "m-rsv-stale-"+sfx
		openYes, openNo, openStale := h.members.add(consenting), h.members.add(silent), h.members.add(stale)
		// The shopper accepts the template on the phone, and the
		// mini-program reports it with the reservation.
		if err := platform.GrantSubscribe(openYes, miniprogram.TemplateLiveStart, 1); err != nil {
			t.Fatal(err)
		}
		for _, r := range []struct {
			member string
			tpls   []string
		}{
			{consenting, []string{miniprogram.TemplateLiveStart}},
			{consenting, nil}, // reserving again changes nothing
			{silent, nil},
			// The mini-program claims a consent WeChat does not have.
			{stale, []string{miniprogram.TemplateLiveStart}},
		} {
			if _, err := h.svc.Reserve(ctx, show.ID, r.member, r.tpls); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := h.svc.Reserve(ctx, show.ID, silent, []string{"a", "b", "c", "d"}); !errors.Is(err, live.ErrInvalid) {
			t.Fatalf("four templates: %v", err)
		}
		if c, _ := h.svc.Counts(ctx, show.ID); c.Reservations != 3 {
			t.Fatalf("reservations = %d", c.Reservations)
		}

		rows := outboxRows(t, db, live.TaskSendReminder)
		if len(rows) != 3 {
			t.Fatalf("reminder tasks = %d, want 3", len(rows))
		}
		var at time.Time
		if err := db.NewSelect().Table("outbox").Column("process_at").Where("id = ?", rows[0].ID).Scan(ctx, &at); err != nil {
			t.Fatal(err)
		}
		if want := show.ScheduledAt.Add(-10 * time.Minute); !at.Equal(want) {
			t.Fatalf("reminder at %s, want %s", at, want)
		}
		// Every task runs twice, as a retried job would.
		for range 2 {
			for _, r := range rows {
				if err := h.svc.SendReminder(ctx, decode[live.ReminderTask](t, r.Payload)); err != nil {
					t.Fatal(err)
				}
			}
		}
		yes := sentTo(openYes)
		if len(yes) != 1 || len(sentTo(openNo)) != 0 || len(sentTo(openStale)) != 0 {
			t.Fatalf("sent: consenting %d, silent %d, stale %d", len(yes), len(sentTo(openNo)), len(sentTo(openStale)))
		}
		m := yes[0]
		if m.TemplateID != miniprogram.TemplateLiveStart || m.Data["thing1"] != show.Title || m.Page != "pages/live/index?show_id="+show.ID ||
			m.Data["time2"] != show.ScheduledAt.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04") {
			t.Fatalf("reminder = %+v", m)
		}
		// The stale consent was used up by WeChat's 43101.
		if c, _ := h.ledger.Consent(ctx, stale, miniprogram.TemplateLiveStart); c.Remaining != 0 || c.Used != 1 {
			t.Fatalf("stale consent = %+v", c)
		}

		// A new start plans new reminders; the old ones do nothing and the
		// reservation that got its reminder gets no second one.
		later := show.ScheduledAt.Add(time.Hour)
		if _, err := h.svc.UpdateShow(ctx, "admin-1", show.ID, live.ShowPatch{ScheduledAt: &later}); err != nil {
			t.Fatal(err)
		}
		rows = outboxRows(t, db, live.TaskSendReminder)
		if len(rows) != 6 {
			t.Fatalf("reminder tasks after rescheduling = %d, want 6", len(rows))
		}
		if err := platform.GrantSubscribe(openYes, miniprogram.TemplateLiveStart, 1); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if err := h.svc.SendReminder(ctx, decode[live.ReminderTask](t, r.Payload)); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(sentTo(openYes)); n != 1 {
			t.Fatalf("consenting member got %d reminders", n)
		}

		if _, err := h.svc.StartShow(ctx, "host-1", show.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Reserve(ctx, show.ID, silent, nil); !errors.Is(err, live.ErrNotReservable) {
			t.Fatalf("reserve a live show: %v", err)
		}
	})
}
