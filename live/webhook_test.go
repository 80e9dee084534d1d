package live_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/utils/protojson"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/testsupport"
)

// signedWebhook builds the request LiveKit sends for ev: the protojson body
// and a token signed with the key pair carrying the body's SHA-256, as the
// server's notifier does.
func signedWebhook(t *testing.T, ev *livekit.WebhookEvent, key, secret string) (body []byte, token string) {
	t.Helper()
	body, err := protojson.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	token, err = auth.NewAccessToken(key, secret).SetValidFor(5 * time.Minute).SetSha256(base64.StdEncoding.EncodeToString(sum[:])).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return body, token
}

func post(t *testing.T, h http.Handler, body []byte, token string) int {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/callbacks/livekit", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/webhook+json")
	if token != "" {
		r.Header.Set("Authorization", token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

func kinds(t *testing.T, h *harness, showID string) map[live.EventKind]int {
	t.Helper()
	evs, err := h.svc.Timeline(context.Background(), showID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[live.EventKind]int{}
	for _, e := range evs {
		out[e.Kind]++
	}
	return out
}

func TestWebhookVerification(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		hook := h.svc.WebhookHandler()
		show := h.schedule(t, live.ModeWebRTC)
		now := time.Now().Unix()
		started := &livekit.WebhookEvent{Id: "EV_start_" + show.ID, Event: "room_started", CreatedAt: now, Room: &livekit.Room{Name: show.RoomName, Sid: "RM_1"}}
		finished := &livekit.WebhookEvent{Id: "EV_finish_" + show.ID, Event: "room_finished", CreatedAt: now + 60, Room: &livekit.Room{Name: show.RoomName, Sid: "RM_1"}}

		// Forgeries are refused and change nothing.
		body, tok := signedWebhook(t, started, h.lk.APIKey, "not-the-secret-0123456789abcdefghij")
		changed := bytes.Replace(body, []byte("room_started"), []byte("room_finished"), 1)
		_, goodTok := signedWebhook(t, started, h.lk.APIKey, h.lk.APISecret)
		_, otherKey := signedWebhook(t, started, "otherkey", h.lk.APISecret)
		for _, c := range []struct {
			name  string
			body  []byte
			token string
		}{
			{"wrong secret", body, tok},
			{"changed body", changed, goodTok},
			{"unknown key", body, otherKey},
			{"no token", body, ""},
			{"garbage token", body, "Bearer nonsense"},
		} {
			if code := post(t, hook, c.body, c.token); code != http.StatusUnauthorized {
				t.Fatalf("%s: status %d, want 401", c.name, code)
			}
		}
		if got := h.show(t, show.ID); got.Status != live.StatusScheduled {
			t.Fatalf("forged webhook moved the show to %s", got.Status)
		}
		var n int
		if err := db.NewSelect().Table("livekit_events").ColumnExpr("count(*)").Scan(context.Background(), &n); err != nil || n != 0 {
			t.Fatalf("recorded events = %d, %v", n, err)
		}

		// A real one acts once, however often it is delivered.
		body, tok = signedWebhook(t, started, h.lk.APIKey, h.lk.APISecret)
		for i := range 3 {
			if code := post(t, hook, body, tok); code != http.StatusOK {
				t.Fatalf("delivery %d: status %d", i, code)
			}
		}
		if got := h.show(t, show.ID); got.Status != live.StatusLive {
			t.Fatalf("status = %s, want live", got.Status)
		}
		if k := kinds(t, h, show.ID); k[live.EventLive] != 1 {
			t.Fatalf("live stamped %d times", k[live.EventLive])
		}
		if rows := outboxRows(t, db, live.TaskStartRecording); len(rows) != 1 {
			t.Fatalf("start-recording tasks = %d", len(rows))
		}

		joined := &livekit.WebhookEvent{Id: "EV_join_" + show.ID, Event: "participant_joined", CreatedAt: now + 1, Room: started.Room,
			Participant: &livekit.ParticipantInfo{Sid: "PA_1", Identity: "m-1", JoinedAtMs: (now + 1) * 1000, Kind: livekit.ParticipantInfo_STANDARD}}
		body, tok = signedWebhook(t, joined, h.lk.APIKey, h.lk.APISecret)
		for range 2 {
			if code := post(t, hook, body, tok); code != http.StatusOK {
				t.Fatalf("join: %d", code)
			}
		}
		if got := h.show(t, show.ID); got.Viewers != 1 || got.PeakViewers != 1 {
			t.Fatalf("viewers = %d peak %d after a replayed join", got.Viewers, got.PeakViewers)
		}

		body, tok = signedWebhook(t, finished, h.lk.APIKey, h.lk.APISecret)
		for range 2 {
			if code := post(t, hook, body, tok); code != http.StatusOK {
				t.Fatalf("finish: %d", code)
			}
		}
		got := h.show(t, show.ID)
		if got.Status != live.StatusEnded || got.Viewers != 0 || got.PeakViewers != 1 || kinds(t, h, show.ID)[live.EventEnded] != 1 {
			t.Fatalf("after finish = %+v", got)
		}
		// A late room_started for the ended show is recorded and ignored.
		late := &livekit.WebhookEvent{Id: "EV_late_" + show.ID, Event: "room_started", CreatedAt: now + 120, Room: &livekit.Room{Name: show.RoomName, Sid: "RM_2"}}
		body, tok = signedWebhook(t, late, h.lk.APIKey, h.lk.APISecret)
		if code := post(t, hook, body, tok); code != http.StatusOK {
			t.Fatalf("late start: %d", code)
		}
		if got := h.show(t, show.ID); got.Status != live.StatusEnded {
			t.Fatalf("late room_started moved the show to %s", got.Status)
		}
		if code := post(t, hook, nil, ""); code != http.StatusUnauthorized {
			t.Fatalf("empty request: %d", code)
		}
	})
}

// TestRealWebhooks lets the LiveKit server itself send its webhooks: the
// host's arrival opens the room and takes the show live, viewers' joins and
// leaves are counted, and the room's close ends the show.
func TestRealWebhooks(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		var handler atomic.Pointer[http.Handler]
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h := handler.Load(); h != nil {
				(*h).ServeHTTP(w, r)
				return
			}
			http.Error(w, "not ready", http.StatusServiceUnavailable)
		}))
		t.Cleanup(srv.Close)
		lk := testsupport.StartLiveKit(t, testsupport.LiveKitOptions{WebhookURLs: []string{srv.URL}})
		h := newHarness(t, db, options{lk: lk})
		hook := h.svc.WebhookHandler()
		handler.Store(&hook)
		ctx := context.Background()
		show := h.schedule(t, live.ModeWebRTC)

		host, err := h.svc.StaffToken(ctx, show.ID, live.StaffTokenRequest{StaffID: "host-1"})
		if err != nil {
			t.Fatal(err)
		}
		connect(t, host.LiveKitURL, host.Token.Token)
		eventually(t, 10*time.Second, "show live from room_started", func() bool { return h.show(t, show.ID).Status == live.StatusLive })
		if got := h.show(t, show.ID); got.Viewers != 0 {
			t.Fatalf("the host counts as a viewer: %d", got.Viewers)
		}

		var viewers []func()
		for i := range 3 {
			m := fmt.Sprintf("m-real-%d-%s", i, show.ID[len(show.ID)-6:])
			j, err := h.svc.Join(ctx, show.ID, m)
			if err != nil {
				t.Fatal(err)
			}
			room, _ := connect(t, j.LiveKitURL, j.Token)
			viewers = append(viewers, room.Disconnect)
		}
		eventually(t, 10*time.Second, "3 viewers", func() bool { return h.show(t, show.ID).Viewers == 3 })
		viewers[0]()
		viewers[1]()
		eventually(t, 10*time.Second, "1 viewer", func() bool { return h.show(t, show.ID).Viewers == 1 })
		if got := h.show(t, show.ID); got.PeakViewers != 3 {
			t.Fatalf("peak = %d, want 3", got.PeakViewers)
		}
		// Reconciliation agrees with LiveKit.
		if err := h.svc.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		if got := h.show(t, show.ID); got.Viewers != 1 || got.PeakViewers != 3 {
			t.Fatalf("after reconcile viewers %d peak %d", got.Viewers, got.PeakViewers)
		}

		if err := h.kit.DeleteRoom(ctx, show.RoomName); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "show ended from room_finished", func() bool { return h.show(t, show.ID).Status == live.StatusEnded })
		got := h.show(t, show.ID)
		if got.Viewers != 0 || got.PeakViewers != 3 {
			t.Fatalf("ended with viewers %d peak %d", got.Viewers, got.PeakViewers)
		}
		k := kinds(t, h, show.ID)
		if k[live.EventLive] != 1 || k[live.EventEnded] != 1 {
			t.Fatalf("timeline = %v", k)
		}
		evs, _ := h.svc.Timeline(ctx, show.ID)
		for _, e := range evs {
			if (e.Kind == live.EventLive || e.Kind == live.EventEnded) && e.Actor != live.ActorLiveKit {
				t.Fatalf("%s by %s, want livekit", e.Kind, e.Actor)
			}
		}
		wt, err := h.svc.WatchTime(ctx, show.ID, fmt.Sprintf("m-real-2-%s", show.ID[len(show.ID)-6:]))
		if err != nil || wt <= 0 {
			t.Fatalf("watch time = %s, %v", wt, err)
		}
	})
}

// TestPruneWebhookEvents deletes the ids of events applied more than a day
// ago (their tokens expired long before) and keeps the recent ones.
func TestPruneWebhookEvents(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		clk := &clock{t: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
		h := newHarness(t, db, options{mutate: func(c *live.Config) { c.Now = clk.Now }})
		ctx := context.Background()
		for id, age := range map[string]time.Duration{"EV_old": 25 * time.Hour, "EV_recent": 23 * time.Hour} {
			at := clk.Now().Add(-age)
			if _, err := db.NewInsert().Model(&live.LiveKitEvent{ID: id, Event: "room_started", RoomName: "r", CreatedAt: at, ReceivedAt: at}).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, want := range []int64{1, 0} {
			if n, err := h.svc.PruneWebhookEvents(ctx); err != nil || n != want {
				t.Fatalf("pruned %d, %v; want %d", n, err, want)
			}
		}
		var left []string
		if err := db.NewSelect().Table("livekit_events").Column("id").Scan(ctx, &left); err != nil || len(left) != 1 || left[0] != "EV_recent" {
			t.Fatalf("left %v, %v; want only EV_recent", left, err)
		}
	})
}
