package community_test

import (
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/testsupport"
)

// TestPruneSessions deletes expired shopper sessions, whoever they belong
// to, and keeps the live ones.
func TestPruneSessions(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		w := newWorld(t, db, testsupport.Redis(t), nil)
		ctx := t.Context()
		w.login(t, "o-gone", "", community.LoginRequest{})
		w.clk.Advance(31 * 24 * time.Hour) // idle past expiry, never back
		live := w.login(t, "o-here", "", community.LoginRequest{})
		for _, want := range []int64{1, 0} {
			n, err := w.members.PruneSessions(ctx)
			if err != nil || n != want {
				t.Fatalf("pruned %d, %v; want %d", n, err, want)
			}
		}
		if _, err := w.members.Authenticate(ctx, live.Token); err != nil {
			t.Fatalf("the live session was pruned: %v", err)
		}
	})
}

// TestPruneWeComEvents deletes processed callback events older than 30
// days and keeps recent ones and those not processed yet.
func TestPruneWeComEvents(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		svc, err := community.NewWeCom(community.WeComConfig{DB: db, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		events := []struct {
			id        string
			age       time.Duration
			processed bool
			kept      bool
		}{
			{"old-done", 31 * 24 * time.Hour, true, false},
			{"old-waiting", 31 * 24 * time.Hour, false, true},
			{"recent-done", 29 * 24 * time.Hour, true, true},
		}
		for _, e := range events {
			var processed *time.Time
			if e.processed {
				at := now.Add(-e.age)
				processed = &at
			}
			fxExec(t, db, "INSERT INTO wecom_events (id, event, change_type, payload, received_at, processed_at, last_error) VALUES (?, 'change_external_chat', 'add_member', '', ?, ?, '')",
				e.id, now.Add(-e.age), processed)
		}
		n, err := svc.PruneEvents(t.Context())
		if err != nil || n != 1 {
			t.Fatalf("pruned %d, %v; want 1", n, err)
		}
		for _, e := range events {
			left, err := db.NewSelect().Table("wecom_events").Where("id = ?", e.id).Count(t.Context())
			if err != nil || (left == 1) != e.kept {
				t.Fatalf("%s: %d left, %v; kept should be %v", e.id, left, err, e.kept)
			}
		}
	})
}
