package live_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/testsupport"
)

// viewerEvent is a participant webhook event of a viewer.
func viewerEvent(id, kind, room, identity, sid string, joined, at time.Time) *livekit.WebhookEvent {
	return &livekit.WebhookEvent{Id: id, Event: kind, CreatedAt: at.Unix(), Room: &livekit.Room{Name: room},
		Participant: &livekit.ParticipantInfo{Identity: identity, Sid: sid, JoinedAtMs: joined.UnixMilli(), Kind: livekit.ParticipantInfo_STANDARD}}
}

// TestReplay ends a show and lets egress_ended (signed with the server's
// key, as LiveKit signs it: this LiveKit has no Egress) make the replay
// with its chapters, then sends the replay notices once each to those who
// reserved and those who left early, where they have consent.
func TestReplay(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		start := time.Now().UTC().Truncate(time.Second)
		clk := &clock{t: start}
		sales := flashSales{}
		h := newHarness(t, db, options{mutate: func(c *live.Config) { c.Now = clk.Now; c.FlashSales = sales }})
		ctx := context.Background()
		hook := h.svc.WebhookHandler()
		show := h.schedule(t, live.ModeHLS)
		sfx := show.ID[len(show.ID)-6:]
		h.lineup[show.ID] = []live.LineupItem{{ProductID: "p-bag", SKUID: "s-bag", Title: "托特包", LivePrice: 29900}}
		sales["fs-bag"] = live.FlashSale{ID: "fs-bag", ShowID: show.ID, ProductID: "p-bag", StartsAt: start.Add(6 * time.Minute), EndsAt: start.Add(20 * time.Minute)}

		reserved, short, long, shortNoConsent := "m-rp-rsv-"+sfx, "m-rp-short-"+sfx, "m-rp-long-"+sfx, "m-rp-nocon-"+sfx
		openReserved, openShort, openLong, openNoConsent := h.members.add(reserved), h.members.add(short), h.members.add(long), h.members.add(shortNoConsent)
		for _, o := range []string{openReserved, openShort, openLong} {
			if err := platform.GrantSubscribe(o, miniprogram.TemplateReplayReady, 1); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range []string{reserved, short, long} {
			if err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return h.ledger.Grant(ctx, tx, m, []string{miniprogram.TemplateReplayReady})
			}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := h.svc.Reserve(ctx, show.ID, reserved, nil); err != nil {
			t.Fatal(err)
		}

		if _, err := h.svc.StartShow(ctx, "host-1", show.ID); err != nil {
			t.Fatal(err)
		}
		join := func(n int, who string, at time.Time) {
			clk.Set(at)
			if err := h.svc.HandleEvent(ctx, viewerEvent(fmt.Sprint("EV_j", n, sfx), "participant_joined", show.RoomName, who, "PA_"+who, at, at)); err != nil {
				t.Fatal(err)
			}
		}
		leave := func(n int, who string, joined, at time.Time) {
			clk.Set(at)
			if err := h.svc.HandleEvent(ctx, viewerEvent(fmt.Sprint("EV_l", n, sfx), "participant_left", show.RoomName, who, "PA_"+who, joined, at)); err != nil {
				t.Fatal(err)
			}
		}
		join(1, short, start.Add(30*time.Second))
		join(2, long, start.Add(40*time.Second))
		join(3, shortNoConsent, start.Add(50*time.Second))
		clk.Set(start.Add(time.Minute))
		if _, err := h.svc.PerformAction(ctx, "host-1", show.ID, live.Action{Type: live.ActionPinProduct, ProductID: "p-bag"}); err != nil {
			t.Fatal(err)
		}
		leave(4, short, start.Add(30*time.Second), start.Add(2*time.Minute+30*time.Second))
		leave(5, shortNoConsent, start.Add(50*time.Second), start.Add(3*time.Minute))
		// Chat peaks in the fourth minute.
		clk.Set(start.Add(3*time.Minute + 10*time.Second))
		for i := range 12 {
			m := fmt.Sprintf("m-rp-chat-%02d-%s", i, sfx)
			h.members.add(m)
			if _, err := h.svc.PostComment(ctx, show.ID, m, "好看！"); err != nil {
				t.Fatal(err)
			}
		}
		// Moderated a moment later, they keep the time they were posted at.
		clk.Set(start.Add(3*time.Minute + 40*time.Second))
		if n := h.moderate(t); n != 12 {
			t.Fatalf("moderated %d comments, want 12", n)
		}
		clk.Set(start.Add(6 * time.Minute))
		if _, err := h.svc.PerformAction(ctx, "host-1", show.ID, live.Action{Type: live.ActionFlashSale, FlashSaleID: "fs-bag"}); err != nil {
			t.Fatal(err)
		}
		clk.Set(start.Add(10 * time.Minute))
		if _, err := h.svc.EndShow(ctx, "host-1", show.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Replay(ctx, show.ID); err == nil {
			t.Fatal("a replay before the recording ended")
		}

		ended := &livekit.WebhookEvent{Id: "EV_egress_" + sfx, Event: "egress_ended", CreatedAt: clk.t.Unix(),
			EgressInfo: &livekit.EgressInfo{EgressId: "EG_" + sfx, RoomName: show.RoomName, Status: livekit.EgressStatus_EGRESS_COMPLETE,
				FileResults: []*livekit.FileInfo{{Filename: "shows/" + show.ID + "/recording.mp4", Duration: int64(10 * time.Minute)}}}}
		body, tok := signedWebhook(t, ended, h.lk.APIKey, h.lk.APISecret)
		for range 2 {
			if code := post(t, hook, body, tok); code != http.StatusOK {
				t.Fatalf("egress_ended: %d", code)
			}
		}
		got := h.show(t, show.ID)
		if got.Status != live.StatusReplayReady || got.RecordingStatus != live.RecordingComplete {
			t.Fatalf("after egress_ended = %s / %s", got.Status, got.RecordingStatus)
		}
		rp, err := h.svc.Replay(ctx, show.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rp.URL != "https://media.example.com/shows/"+show.ID+"/recording.mp4" || rp.DurationMS != 600000 {
			t.Fatalf("replay = %+v", rp)
		}
		want := []live.Chapter{
			{Kind: live.ChapterProduct, Title: "托特包", OffsetMS: 60000, ProductID: "p-bag"},
			{Kind: live.ChapterChatPeak, Title: "弹幕高峰", OffsetMS: 180000, Comments: 12},
			{Kind: live.ChapterFlashSale, Title: "限时秒杀", OffsetMS: 360000, ProductID: "p-bag", FlashSaleID: "fs-bag"},
		}
		if fmt.Sprint(rp.Chapters) != fmt.Sprint(want) {
			t.Fatalf("chapters = %+v\nwant %+v", rp.Chapters, want)
		}
		if k := kinds(t, h, show.ID); k[live.EventReplayReady] != 1 {
			t.Fatalf("replay_ready stamped %d times", k[live.EventReplayReady])
		}

		fan := outboxRows(t, db, live.TaskFanOutReplay)
		if len(fan) != 1 {
			t.Fatalf("fan-out tasks = %d", len(fan))
		}
		for range 2 {
			if err := h.svc.FanOutReplayNotices(ctx, decode[live.ShowTask](t, fan[0].Payload).ShowID); err != nil {
				t.Fatal(err)
			}
		}
		notices := outboxRows(t, db, live.TaskSendReplayNotice)
		if len(notices) != 3 {
			t.Fatalf("replay notices = %d, want reserved, short and short without consent", len(notices))
		}
		for range 2 {
			for _, n := range notices {
				if err := h.svc.SendReplayNotice(ctx, decode[live.ReplayNoticeTask](t, n.Payload)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, c := range []struct {
			openid string
			want   int
		}{{openReserved, 1}, {openShort, 1}, {openLong, 0}, {openNoConsent, 0}} {
			n := 0
			for _, m := range sentTo(c.openid) {
				if m.TemplateID == miniprogram.TemplateReplayReady {
					n++
				}
			}
			if n != c.want {
				t.Fatalf("%s got %d replay notices, want %d", c.openid, n, c.want)
			}
		}
		if wt, _ := h.svc.WatchTime(ctx, show.ID, long); wt != 10*time.Minute-40*time.Second {
			t.Fatalf("long watcher watched %s", wt)
		}

		// A recording that failed says so, and the show stays ended.
		other := h.goLive(t, live.ModeWebRTC)
		if _, err := h.svc.EndShow(ctx, "host-1", other.ID); err != nil {
			t.Fatal(err)
		}
		failed := &livekit.WebhookEvent{Id: "EV_egress_fail_" + sfx, Event: "egress_ended", CreatedAt: clk.t.Unix(),
			EgressInfo: &livekit.EgressInfo{EgressId: "EG_f_" + sfx, RoomName: other.RoomName, Status: livekit.EgressStatus_EGRESS_FAILED, Error: "out of disk"}}
		body, tok = signedWebhook(t, failed, h.lk.APIKey, h.lk.APISecret)
		if code := post(t, hook, body, tok); code != http.StatusOK {
			t.Fatalf("failed egress: %d", code)
		}
		if got := h.show(t, other.ID); got.Status != live.StatusEnded || got.RecordingStatus != live.RecordingFailed || got.RecordingNote != "out of disk" {
			t.Fatalf("after a failed recording = %s %s %q", got.Status, got.RecordingStatus, got.RecordingNote)
		}
	})
}
