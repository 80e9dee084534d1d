package main

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/testsupport"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, s *siyu, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s\n%s", what, within, s.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestLiveShowEndToEnd runs the real program with its worker against a
// real LiveKit server whose webhooks come back to it: a shopper reserves
// with consent and gets the reminder (seen in the sandbox), the host's
// arrival takes the show live, the shopper watches and comments and the
// comment reaches the room, and the staff's end closes the room.
func TestLiveShowEndToEnd(t *testing.T) {
	for _, d := range testsupport.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			addr := freeAddr(t)
			lk := testsupport.StartLiveKit(t, testsupport.LiveKitOptions{WebhookURLs: []string{"http://" + addr + "/callbacks/livekit"}})
			env := map[string]string{
				"DATABASE_URL": testsupport.DatabaseURL(t, d), "REDIS_URL": testsupport.Redis(t), "SIYU_DATA_DIR": t.TempDir(),
				"SIYU_HTTP_ADDR": addr, "SIYU_PUBLIC_URL": "http://" + addr,
				"LIVEKIT_URL": lk.URL, "LIVEKIT_API_KEY": lk.APIKey, "LIVEKIT_API_SECRET": lk.APISecret,
			}
			getenv := func(k string) string { return env[k] }
			var out, errb strings.Builder
			if code := run(t.Context(), []string{"siyu", "migrate", "up"}, getenv, &out, &errb); code != 0 {
				t.Fatal(errb.String())
			}
			if code := run(t.Context(), []string{"siyu", "seed"}, getenv, &out, &errb); code != 0 {
				t.Fatal(errb.String())
			}
			m := seededPassword.FindStringSubmatch(out.String())
			if m == nil || !strings.Contains(out.String(), "demo show created") {
				t.Fatalf("seed: %s", out.String())
			}
			s := startSiyu(t, env)
			jar, _ := cookiejar.New(nil)
			staffC := &http.Client{Timeout: 30 * time.Second, Jar: jar}
			c := &http.Client{Timeout: 30 * time.Second}
			var me struct{ Staff struct{ ID string } }
			if st := call(t, staffC, http.MethodPost, s.URL+"/console/api/v1/session", "", map[string]string{"name": "owner", "password": m[2]}, &me); st != 200 {
				t.Fatalf("sign in = %d", st)
			}

			var show struct {
				ID, Status      string
				RecordingStatus string `json:"recording_status"`
				Counts          live.Counts
			}
			if st := call(t, staffC, http.MethodPost, s.URL+"/console/api/v1/shows", "", map[string]any{
				"title": "端到端直播", "scheduled_at": time.Now().Add(5 * time.Minute), "host_staff_id": me.Staff.ID, "host_name": "店长",
			}, &show); st != 201 {
				t.Fatalf("schedule = %d\n%s", st, s.Logs())
			}
			showURL := s.URL + "/mp/v1/shows/" + show.ID

			// The shopper logs in, accepts the reminder on the phone and
			// reserves; the reminder is due (5 minutes to go, 10 of lead).
			var code struct{ Code string }
			call(t, c, http.MethodPost, s.URL+"/sandbox/miniprogram/login-code", "", map[string]string{"openid": "o-live-e2e"}, &code)
			var sess struct{ Token string }
			if st := call(t, c, http.MethodPost, s.URL+"/mp/v1/session", "", map[string]any{"code": code.Code}, &sess); st != 201 {
				t.Fatalf("login = %d", st)
			}
			if st := call(t, c, http.MethodPost, s.URL+"/sandbox/miniprogram/subscribe", "", map[string]any{"openid": "o-live-e2e",
				"template_ids": []string{miniprogram.TemplateLiveStart}, "decision": "accept"}, nil); st != 200 {
				t.Fatalf("phone consent = %d", st)
			}
			if st := call(t, c, http.MethodPost, showURL+"/reservation", sess.Token, map[string]any{"template_ids": []string{miniprogram.TemplateLiveStart}}, nil); st != 201 {
				t.Fatalf("reserve = %d", st)
			}
			waitFor(t, 20*time.Second, "the reminder", s, func() bool {
				var sent []miniprogram.SubscribeMessage
				getJSON(t, s.URL+"/sandbox/miniprogram/subscribe-messages", &sent)
				for _, msg := range sent {
					if msg.ToUser == "o-live-e2e" && msg.TemplateID == miniprogram.TemplateLiveStart && msg.Data["thing1"] == "端到端直播" {
						return true
					}
				}
				return false
			})

			// The host enters: LiveKit's room_started takes the show live.
			var tok struct {
				Token      string
				LiveKitURL string `json:"livekit_url"`
				Role       string
			}
			if st := call(t, staffC, http.MethodPost, s.URL+"/console/api/v1/shows/"+show.ID+"/token", "", nil, &tok); st != 200 || tok.Role != "host" {
				t.Fatalf("host token = %d %+v", st, tok)
			}
			hostRoom, err := lksdk.ConnectToRoomWithToken(tok.LiveKitURL, tok.Token, lksdk.NewRoomCallback(), lksdk.WithAutoSubscribe(false))
			if err != nil {
				t.Fatal(err)
			}
			defer hostRoom.Disconnect()
			waitFor(t, 20*time.Second, "live", s, func() bool {
				call(t, c, http.MethodGet, showURL, "", nil, &show)
				return show.Status == "live"
			})

			var join struct {
				Token      string
				LiveKitURL string `json:"livekit_url"`
			}
			if st := call(t, c, http.MethodPost, showURL+"/join", sess.Token, nil, &join); st != 200 {
				t.Fatalf("join = %d", st)
			}
			var mu sync.Mutex
			var batches []live.ChatBatch
			cb := lksdk.NewRoomCallback()
			cb.OnDataPacket = func(p lksdk.DataPacket, _ lksdk.DataReceiveParams) {
				if u, ok := p.(*lksdk.UserDataPacket); ok && u.Topic == live.TopicChat {
					var b live.ChatBatch
					if json.Unmarshal(u.Payload, &b) == nil {
						mu.Lock()
						batches = append(batches, b)
						mu.Unlock()
					}
				}
			}
			viewer, err := lksdk.ConnectToRoomWithToken(join.LiveKitURL, join.Token, cb, lksdk.WithAutoSubscribe(false))
			if err != nil {
				t.Fatal(err)
			}
			defer viewer.Disconnect()
			waitFor(t, 20*time.Second, "one viewer counted", s, func() bool {
				call(t, staffC, http.MethodGet, s.URL+"/console/api/v1/shows/"+show.ID, "", nil, &show)
				return show.Counts.Viewers == 1
			})
			// Accepted at once (202), the comment reaches the room once the
			// worker's moderator has passed it.
			if st := call(t, c, http.MethodPost, showURL+"/comments", sess.Token, map[string]string{"text": "主播晚上好"}, nil); st != 202 {
				t.Fatalf("comment = %d", st)
			}
			waitFor(t, 20*time.Second, "the comment in the room", s, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(batches) > 0 && len(batches[0].Comments) == 1
			})
			waitFor(t, 30*time.Second, "recording unavailable", s, func() bool {
				call(t, staffC, http.MethodGet, s.URL+"/console/api/v1/shows/"+show.ID, "", nil, &show)
				return show.RecordingStatus == "unavailable"
			})

			if st := call(t, staffC, http.MethodPost, s.URL+"/console/api/v1/shows/"+show.ID+"/end", "", nil, &show); st != 200 || show.Status != "ended" {
				t.Fatalf("end = %d %+v", st, show)
			}
			rooms := lksdk.NewRoomServiceClient(lk.HTTPURL, lk.APIKey, lk.APISecret)
			waitFor(t, 30*time.Second, "the room closed", s, func() bool {
				ps, err := rooms.ListRooms(t.Context(), &livekit.ListRoomsRequest{})
				return err == nil && len(ps.Rooms) == 0
			})
			if code := s.Stop(t); code != 0 {
				t.Fatalf("exit %d\n%s", code, s.Logs())
			}
		})
	}
}
