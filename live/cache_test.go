package live

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/testsupport"
)

// TestHotRefresh: what the chat path caches of a show is read again in
// the background near the end of its life, while requests go on with it;
// past its life a request reads it itself; and a read that began before
// a change made here is not kept.
func TestHotRefresh(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		s := &Service{db: db, log: slog.New(slog.DiscardHandler)}
		now := time.Now().UTC()
		const id = "show-1"
		show := &Show{ID: id, Title: "春季新品", ScheduledAt: now, AssistantIDs: []string{}, Mode: ModeWebRTC, Status: StatusLive,
			RoomName: RoomName(id), RecordingStatus: RecordingNone, CreatedAt: now, UpdatedAt: now}
		if _, err := db.NewInsert().Model(show).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		// Another replica mutes a viewer: only the database changes here.
		mute := func(t *testing.T, member string) {
			t.Helper()
			if _, err := db.NewInsert().Model(&Ban{ShowID: id, MemberID: member, Kind: BanMuted, CreatedAt: now}).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		cached := func() *hotShow {
			s.hotc.mu.Lock()
			defer s.hotc.mu.Unlock()
			return s.hotc.shows[id]
		}
		first, err := s.hot(ctx, id)
		if err != nil {
			t.Fatal(err)
		}

		t.Run("a fresh entry is answered and not read again", func(t *testing.T) {
			h, err := s.hot(ctx, id)
			if err != nil || h != first || h.refreshing.Load() {
				t.Fatalf("got %p (refreshing %v, %v), want the entry %p as it is", h, h.refreshing.Load(), err, first)
			}
		})
		t.Run("near its end it is answered and read again meanwhile", func(t *testing.T) {
			mute(t, "m-1")
			first.at = time.Now().Add(-hotRefreshAfter)
			h, err := s.hot(ctx, id)
			if err != nil || h != first {
				t.Fatalf("got %p (%v), want the entry %p at once", h, err, first)
			}
			deadline := time.Now().Add(5 * time.Second)
			for cached() == first && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got := cached(); got == first || !got.muted["m-1"] {
				t.Fatalf("after the read in the background the cache holds %+v, want a new entry with m-1 muted", got)
			}
		})
		t.Run("past its life a request reads it itself", func(t *testing.T) {
			mute(t, "m-2")
			old := cached()
			old.at = time.Now().Add(-hotTTL)
			h, err := s.hot(ctx, id)
			if err != nil || h == old || !h.muted["m-2"] {
				t.Fatalf("got %+v (%v), want a new entry with m-2 muted", h, err)
			}
		})
		t.Run("a read that began before a forget is not kept", func(t *testing.T) {
			s.hotc.mu.Lock()
			before := s.hotc.forgets
			s.hotc.mu.Unlock()
			s.forget(id)
			s.hotc.store(id, &hotShow{status: StatusLive, at: time.Now()}, before)
			if got := cached(); got != nil {
				t.Fatalf("the cache kept %+v, read before the forget", got)
			}
			h, err := s.hot(ctx, id)
			if err != nil || !h.muted["m-1"] || !h.muted["m-2"] || cached() != h {
				t.Fatalf("got %+v (%v), want a new entry, cached, with both muted", h, err)
			}
		})
	})
}
