package miniprogramapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/live"
	miniprogramapi "github.com/siyu-live/siyu/miniprogram-api"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/testsupport"
)

// viewerSessions takes "Bearer v-<id>" as member <id>.
type viewerSessions struct{}

func (viewerSessions) Authenticate(_ context.Context, token string) (string, error) {
	id, ok := strings.CutPrefix(token, "v-")
	if !ok {
		return "", errors.New("unknown token")
	}
	return id, nil
}

// viewerDirectory gives member <id> the openid o-<id>, known to the
// sandbox.
type viewerDirectory struct{ mp *miniprogram.Server }

func (d viewerDirectory) Member(_ context.Context, id string) (live.Member, error) {
	d.mp.MintLoginCode("o-"+id, "")
	return live.Member{OpenID: "o-" + id, Nickname: "观众" + id}, nil
}

// studio is the shopper API over the real live service, a real LiveKit
// server and the WeChat sandbox.
type studio struct {
	app *fiber.App
	svc *live.Service
}

func newStudio(t *testing.T, db *bun.DB) *studio {
	t.Helper()
	mp, err := miniprogram.New(miniprogram.Config{})
	if err != nil {
		t.Fatal(err)
	}
	servePlatform(t, "api.weixin.qq.com", mp)
	lk := testsupport.StartLiveKit(t, testsupport.LiveKitOptions{})
	ropt, err := redis.ParseURL(testsupport.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(ropt)
	t.Cleanup(func() { rdb.Close() })
	log := slog.New(slog.DiscardHandler)
	set := mp.Settings()
	wx, _ := miniProgram(t, rdb, set[miniprogram.SettingAppID], set[miniprogram.SettingAppSecret], time.Now, log)
	kit := live.NewLiveKit(lk.HTTPURL, lk.APIKey, lk.APISecret)
	svc, err := live.New(live.Config{DB: db, Redis: rdb, Rooms: kit, Recorder: kit, Ingresses: kit,
		LiveKitURL: lk.URL, APIKey: lk.APIKey, APISecret: lk.APISecret,
		Members: viewerDirectory{mp}, Moderator: live.NewWeChatCheck(wx.GetSecurity(), nil)})
	if err != nil {
		t.Fatal(err)
	}
	app := edge.New(edge.Config{Logger: log, Registry: prometheus.NewRegistry(), ConsoleOrigin: "http://localhost:8080"})
	api := miniprogramapi.New(miniprogramapi.Config{Logger: log, Sessions: viewerSessions{}, Shows: svc})
	if err := api.Mount(app, edge.NewDoc("test", "0", "")); err != nil {
		t.Fatal(err)
	}
	return &studio{app: app, svc: svc}
}

// liveAnswer is an answer of the API.
type liveAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (a liveAnswer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("%s: %v", a.body, err)
	}
}

func (a liveAnswer) code(t *testing.T) string {
	t.Helper()
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	a.decode(t, &e)
	return e.Error.Code
}

func (s *studio) do(t *testing.T, member, method, path string, body any) liveAnswer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	if member != "" {
		req.Header.Set("Authorization", "Bearer v-"+member)
	}
	resp, err := s.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return liveAnswer{status: resp.StatusCode, header: resp.Header, body: b}
}

func TestShowsHTTP(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		s := newStudio(t, db)
		ctx := context.Background()
		show, err := s.svc.CreateShow(ctx, "admin", live.ShowInput{Title: "周末特卖", HostStaffID: "host", HostName: "小美",
			ScheduledAt: time.Now().Add(time.Hour), Mode: live.ModeBoth})
		if err != nil {
			t.Fatal(err)
		}
		base := "/mp/v1/shows/" + show.ID
		steps := []struct {
			name, member, method, path string
			body                       any
			status                     int
			code                       string
		}{
			{"a show that does not exist", "", http.MethodGet, "/mp/v1/shows/nope", nil, 404, "show_not_found"},
			{"join needs a session", "", http.MethodPost, base + "/join", nil, 401, "unauthenticated"},
			{"join before live", "ann", http.MethodPost, base + "/join", nil, 409, "show_not_live"},
			{"comment before live", "ann", http.MethodPost, base + "/comments", map[string]string{"text": "hi"}, 409, "show_not_live"},
			{"four templates", "ann", http.MethodPost, base + "/reservation", map[string]any{"template_ids": []string{"a", "b", "c", "d"}}, 400, "invalid_template_ids"},
			{"reserve", "ann", http.MethodPost, base + "/reservation", map[string]any{"template_ids": []string{}}, 201, ""},
			{"no replay yet", "ann", http.MethodGet, base + "/replay", nil, 404, "replay_not_ready"},
			{"bad status filter", "", http.MethodGet, "/mp/v1/shows?status=cancelled", nil, 400, "invalid_status"},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				a := s.do(t, st.member, st.method, st.path, st.body)
				if a.status != st.status || (st.code != "" && a.code(t) != st.code) {
					t.Fatalf("%d %s, want %d %s", a.status, a.body, st.status, st.code)
				}
			})
		}

		var list struct {
			Shows []struct {
				ID, Status string
				Host       struct{ Name string }
			}
		}
		a := s.do(t, "", http.MethodGet, "/mp/v1/shows?status=scheduled", nil)
		a.decode(t, &list)
		if a.status != 200 || len(list.Shows) != 1 || list.Shows[0].ID != show.ID || list.Shows[0].Host.Name != "小美" {
			t.Fatalf("list = %d %s", a.status, a.body)
		}
		var detail map[string]any
		a = s.do(t, "", http.MethodGet, base, nil)
		a.decode(t, &detail)
		if counts, _ := detail["counts"].(map[string]any); a.status != 200 || counts["reservations"] != float64(1) || detail["lineup"] != nil {
			t.Fatalf("detail = %s", a.body)
		}

		if _, err := s.svc.StartShow(ctx, "host", show.ID); err != nil {
			t.Fatal(err)
		}
		var join struct {
			LiveKitURL     string    `json:"livekit_url"`
			Token          string    `json:"token"`
			Room           string    `json:"room"`
			ExpiresAt      time.Time `json:"expires_at"`
			HLSURL         *string   `json:"hls_url"`
			RecentComments []any     `json:"recent_comments"`
		}
		a = s.do(t, "ann", http.MethodPost, base+"/join", nil)
		a.decode(t, &join)
		if a.status != 200 || join.Token == "" || join.Room != show.RoomName || join.HLSURL == nil || join.RecentComments == nil ||
			time.Until(join.ExpiresAt) > 15*time.Minute {
			t.Fatalf("join = %d %s", a.status, a.body)
		}

		var likes struct{ Total int64 }
		a = s.do(t, "ann", http.MethodPost, base+"/likes", map[string]int{"count": 3})
		a.decode(t, &likes)
		if a.status != 202 || likes.Total != 3 {
			t.Fatalf("likes = %d %s", a.status, a.body)
		}
		if a = s.do(t, "ann", http.MethodPost, base+"/likes", map[string]int{"count": 0}); a.status != 400 {
			t.Fatalf("zero likes = %d %s", a.status, a.body)
		}

		if _, err := s.svc.PerformAction(ctx, "asst", show.ID, live.Action{Type: live.ActionRemoveViewer, MemberID: "eve"}); err != nil {
			t.Fatal(err)
		}
		if a = s.do(t, "eve", http.MethodPost, base+"/join", nil); a.status != 403 || a.code(t) != "viewer_removed" {
			t.Fatalf("removed viewer join = %d %s", a.status, a.body)
		}
		if a = s.do(t, "eve", http.MethodPost, base+"/comments", map[string]string{"text": "我回来了"}); a.status != 403 || a.code(t) != "viewer_removed" {
			t.Fatalf("removed viewer comment = %d %s", a.status, a.body)
		}
	})
}
