package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/testsupport"
)

// TestViewerSessions feeds participant events duplicated, out of order and
// missing, then lets reconciliation with ListParticipants repair what the
// events could not tell.
func TestViewerSessions(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		show := h.goLive(t, live.ModeWebRTC)
		room, sfx := show.RoomName, show.ID[len(show.ID)-6:]
		base := time.Now().UTC().Add(-5 * time.Minute).Truncate(time.Second)
		at := func(d time.Duration) time.Time { return base.Add(d) }
		a, b, c := "m-vs-a-"+sfx, "m-vs-b-"+sfx, "m-vs-c-"+sfx
		apply := func(id, kind, who string, joined, when time.Time) {
			t.Helper()
			if err := h.svc.HandleEvent(ctx, viewerEvent(id+sfx, kind, room, who, "PA_"+who, joined, when)); err != nil {
				t.Fatal(err)
			}
		}
		apply("e1", "participant_joined", a, at(0), at(0))
		apply("e1", "participant_joined", a, at(0), at(0))                     // delivered twice
		apply("e2", "participant_joined", a, at(0), at(time.Second))           // the same join under another id
		apply("e3", "participant_left", b, at(time.Minute), at(2*time.Minute)) // the leave before the join
		apply("e4", "participant_joined", b, at(time.Minute), at(time.Minute))
		apply("e5", "participant_joined", c, at(3*time.Minute), at(3*time.Minute)) // c's leave never comes
		apply("e6", "participant_left", a, at(0), at(4*time.Minute))
		// Staff and ingress participants are not viewers.
		apply("e7", "participant_joined", "staff:host-1", at(0), at(0))
		apply("e8", "participant_joined", "ingress:"+show.ID, at(0), at(0))

		got := h.show(t, show.ID)
		if got.Viewers != 1 || got.PeakViewers != 2 {
			t.Fatalf("viewers %d peak %d, want 1 and 2", got.Viewers, got.PeakViewers)
		}
		// The leaves came late, stamped in whole seconds: each is dated at
		// the end of its second (leaveTime).
		for who, want := range map[string]time.Duration{a: 4*time.Minute + 999*time.Millisecond, b: time.Minute + 999*time.Millisecond} {
			if wt, _ := h.svc.WatchTime(ctx, show.ID, who); wt != want {
				t.Fatalf("%s watched %s, want %s", who, wt, want)
			}
		}

		// d joins for real while no webhook reaches Siyu: reconciliation
		// opens d's session and closes c's.
		d := "m-vs-d-" + sfx
		j, err := h.svc.Join(ctx, show.ID, d)
		if err != nil {
			t.Fatal(err)
		}
		connect(t, j.LiveKitURL, j.Token)
		if err := h.svc.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		got = h.show(t, show.ID)
		if got.Viewers != 1 || got.PeakViewers != 2 {
			t.Fatalf("after reconcile viewers %d peak %d, want 1 and 2", got.Viewers, got.PeakViewers)
		}
		if wt, _ := h.svc.WatchTime(ctx, show.ID, c); wt < time.Minute || wt > 3*time.Minute {
			t.Fatalf("c watched %s after reconcile", wt)
		}
		if wt, _ := h.svc.WatchTime(ctx, show.ID, d); wt <= 0 {
			t.Fatalf("d watched %s", wt)
		}
		// Reconciling again changes nothing.
		if err := h.svc.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		if again := h.show(t, show.ID); again.Viewers != 1 || again.PeakViewers != 2 {
			t.Fatalf("second reconcile: viewers %d peak %d", again.Viewers, again.PeakViewers)
		}

		// A live show whose room is gone (room_finished never came) ends
		// once LiveKit would have closed it.
		if err := h.kit.DeleteRoom(ctx, room); err != nil {
			t.Fatal(err)
		}
		if err := h.svc.ReconcileShow(ctx, show.ID); err != nil {
			t.Fatal(err)
		}
		if s := h.show(t, show.ID); s.Status != live.StatusLive {
			t.Fatalf("ended %s after its start: too soon", time.Since(*s.LiveAt))
		}
		if _, err := db.NewUpdate().Table("shows").Set("live_at = ?", time.Now().UTC().Add(-time.Hour)).Where("id = ?", show.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if err := h.svc.ReconcileShow(ctx, show.ID); err != nil {
			t.Fatal(err)
		}
		if s := h.show(t, show.ID); s.Status != live.StatusEnded || s.Viewers != 0 {
			t.Fatalf("show with no room: %s, %d viewers", s.Status, s.Viewers)
		}
	})
}
