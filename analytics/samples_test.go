package analytics_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/analytics"
	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/testsupport"
)

// insertShow writes a show row as the live service keeps it.
func insertShow(t *testing.T, db *bun.DB, id string, st live.Status, likes int64, ended *time.Time) {
	t.Helper()
	now := time.Date(2031, 3, 7, 12, 0, 0, 0, time.UTC)
	sh := &live.Show{ID: id, Title: id, ScheduledAt: now, HostStaffID: "host", AssistantIDs: []string{}, Mode: live.ModeWebRTC,
		Status: st, RoomName: live.RoomName(id), RecordingStatus: live.RecordingNone, Likes: likes, EndedAt: ended,
		CreatedBy: "owner", CreatedAt: now, UpdatedAt: now}
	if _, err := db.NewInsert().Model(sh).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSampleShows: live shows are sampled once per period however many
// workers run it, a show that just ended gets its closing sample at its
// end, and shows long over or not live are left alone.
func TestSampleShows(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		now := time.Date(2031, 3, 7, 12, 0, 7, 0, time.UTC)
		endedNow, endedLong := now.Add(-3*time.Second), now.Add(-time.Hour)
		insertShow(t, db, "s-live", live.StatusLive, 40, nil)
		insertShow(t, db, "s-just-ended", live.StatusEnded, 70, &endedNow)
		insertShow(t, db, "s-long-ended", live.StatusReplayReady, 90, &endedLong)
		insertShow(t, db, "s-later", live.StatusScheduled, 0, nil)
		svc, err := analytics.New(analytics.Config{DB: db, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []int{2, 0} { // a second worker in the same period writes nothing
			n, err := svc.SampleShows(ctx)
			if err != nil || n != want {
				t.Fatalf("run %d wrote %d samples (%v), want %d", i, n, err, want)
			}
		}
		var got []analytics.Sample
		if err := db.NewSelect().Model(&got).Order("show_id").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ShowID != "s-just-ended" || !got[0].At.Equal(endedNow) || got[0].Likes != 70 ||
			got[1].ShowID != "s-live" || !got[1].At.Equal(now.Truncate(10*time.Second)) || got[1].Likes != 40 {
			t.Fatalf("samples %+v", got)
		}
	})
}

// TestDays: sales and new members fall on Shanghai's days.
func TestDays(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		// 2031-03-07 02:00 UTC is 10:00 in Shanghai.
		now := time.Date(2031, 3, 7, 2, 0, 0, 0, time.UTC)
		type orderRow struct {
			bun.BaseModel `bun:"table:orders"`
			ID            string     `bun:"id,pk"`
			MemberID      string     `bun:"member_id"`
			OutTradeNo    string     `bun:"out_trade_no"`
			Status        string     `bun:"status"`
			ItemsTotal    int64      `bun:"items_total"`
			Total         int64      `bun:"total"`
			Address       string     `bun:"address"`
			Description   string     `bun:"description"`
			ExpiresAt     time.Time  `bun:"expires_at"`
			PaidAt        *time.Time `bun:"paid_at"`
			CreatedAt     time.Time  `bun:"created_at"`
			UpdatedAt     time.Time  `bun:"updated_at"`
		}
		for i, o := range []struct {
			paid  *time.Time
			total int64
		}{
			{ptr(time.Date(2031, 3, 6, 16, 0, 0, 0, time.UTC)), 1000},   // 00:00 on the 7th in Shanghai: today
			{ptr(time.Date(2031, 3, 6, 15, 59, 59, 0, time.UTC)), 2000}, // 23:59:59 on the 6th: yesterday
			{ptr(time.Date(2031, 3, 7, 1, 0, 0, 0, time.UTC)), 4000},    // today
			{nil, 8000}, // never paid
		} {
			row := orderRow{ID: "o" + string(rune('a'+i)), MemberID: "m", OutTradeNo: "t" + string(rune('a'+i)), Status: "paid",
				ItemsTotal: o.total, Total: o.total, Address: "{}", Description: "x", ExpiresAt: now, PaidAt: o.paid, CreatedAt: now, UpdatedAt: now}
			if _, err := db.NewInsert().Model(&row).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range []memberRow{
			{ID: "m1", OpenID: "o1", CreatedAt: time.Date(2031, 3, 6, 17, 0, 0, 0, time.UTC)},
			{ID: "m2", OpenID: "o2", CreatedAt: time.Date(2031, 3, 5, 17, 0, 0, 0, time.UTC)},
		} {
			m.UpdatedAt = m.CreatedAt
			if _, err := db.NewInsert().Model(&m).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		svc, err := analytics.New(analytics.Config{DB: db, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		days, err := svc.Days(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			date          string
			paid, members int
			gmv           int64
		}{{"2031-03-05", 0, 0, 0}, {"2031-03-06", 1, 1, 2000}, {"2031-03-07", 2, 1, 5000}}
		for i, w := range want {
			d := days[i]
			if d.Date.Format("2006-01-02") != w.date || d.PaidOrders != w.paid || d.NewMembers != w.members || d.GMV != w.gmv {
				t.Errorf("day %d = %s %+v, want %+v", i, d.Date.Format("2006-01-02"), d, w)
			}
		}
		if _, err := svc.Days(ctx, 0); err == nil {
			t.Error("0 days were accepted")
		}
	})
}
