package console_test

import (
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

	"github.com/siyu-live/siyu/console"
	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/testsupport"
)

// crewSessions takes the cookie "role/id" as that staff member.
type crewSessions struct{}

func (crewSessions) AuthenticateStaff(_ context.Context, token string) (console.Staff, error) {
	role, id, ok := strings.Cut(token, "/")
	if !ok {
		return console.Staff{}, errors.New("unknown session")
	}
	return console.Staff{ID: id, Name: "员工" + id, Role: role}, nil
}

// control is the staff API over the real live service and a real LiveKit
// server (without Egress or Ingress, as in development).
type control struct {
	app *fiber.App
	svc *live.Service
}

func newControl(t *testing.T, db *bun.DB) *control {
	t.Helper()
	lk := testsupport.StartLiveKit(t, testsupport.LiveKitOptions{})
	ropt, err := redis.ParseURL(testsupport.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(ropt)
	t.Cleanup(func() { rdb.Close() })
	kit := live.NewLiveKit(lk.HTTPURL, lk.APIKey, lk.APISecret)
	svc, err := live.New(live.Config{DB: db, Redis: rdb, Rooms: kit, Recorder: kit, Ingresses: kit,
		LiveKitURL: lk.URL, APIKey: lk.APIKey, APISecret: lk.APISecret})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	app := edge.New(edge.Config{Logger: log, Registry: prometheus.NewRegistry(), ConsoleOrigin: "http://localhost:8080"})
	api := console.New(console.Config{Logger: log, Sessions: crewSessions{}, Shows: svc})
	if err := api.Mount(app, edge.NewDoc("test", "0", "")); err != nil {
		t.Fatal(err)
	}
	return &control{app: app, svc: svc}
}

type staffAnswer struct {
	status int
	body   []byte
}

func (a staffAnswer) code(t *testing.T) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(a.body, &e)
	return e.Error.Code
}

func (c *control) do(t *testing.T, who, method, path string, body any) staffAnswer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	if who != "" {
		req.AddCookie(&http.Cookie{Name: console.SessionCookie, Value: who})
	}
	resp, err := c.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return staffAnswer{status: resp.StatusCode, body: b}
}

func TestShowsConsole(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		c := newControl(t, db)
		const admin, host, otherHost, asst = "admin/a1", "host/h1", "host/h2", "assistant/s1"
		start := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		create := map[string]any{"title": "新品首发", "scheduled_at": start, "host_staff_id": "h1", "host_name": "小美", "assistant_ids": []string{"s1"}, "mode": "hls"}

		a := c.do(t, host, http.MethodPost, "/console/api/v1/shows", create)
		if a.status != 403 {
			t.Fatalf("host schedules: %d %s", a.status, a.body)
		}
		a = c.do(t, admin, http.MethodPost, "/console/api/v1/shows", map[string]any{"scheduled_at": start, "host_staff_id": "h1"})
		if a.status != 400 || a.code(t) != "invalid_title" {
			t.Fatalf("no title: %d %s", a.status, a.body)
		}
		a = c.do(t, admin, http.MethodPost, "/console/api/v1/shows", create)
		var show struct {
			ID, Status, Mode, Room string
			RecordingStatus        string `json:"recording_status"`
			RecordingNote          string `json:"recording_note"`
			HostName               string `json:"host_name"`
		}
		_ = json.Unmarshal(a.body, &show)
		if a.status != 201 || show.Status != "scheduled" || show.Mode != "hls" || show.HostName != "小美" {
			t.Fatalf("create: %d %s", a.status, a.body)
		}
		base := "/console/api/v1/shows/" + show.ID

		steps := []struct {
			name, who, method, path string
			body                    any
			status                  int
			code                    string
		}{
			{"edit", admin, http.MethodPatch, base, map[string]any{"title": "新品首发（上）"}, 200, ""},
			{"end a scheduled show", host, http.MethodPost, base + "/end", nil, 409, "show_transition_not_allowed"},
			{"another host's token", otherHost, http.MethodPost, base + "/token", nil, 403, "not_show_staff"},
			{"ingress without LiveKit Ingress", host, http.MethodPost, base + "/ingress", map[string]string{"kind": "rtmp"}, 503, "ingress_unavailable"},
			{"ingress of an unknown kind", host, http.MethodPost, base + "/ingress", map[string]string{"kind": "srt"}, 400, "invalid_kind"},
			{"an action before live", asst, http.MethodPost, base + "/actions", map[string]string{"type": "pin_announcement", "text": "hi"}, 409, "show_not_live"},
			{"start", host, http.MethodPost, base + "/start", nil, 200, ""},
			{"start again", host, http.MethodPost, base + "/start", nil, 409, "show_transition_not_allowed"},
			{"edit a live show", admin, http.MethodPatch, base, map[string]any{"title": "x"}, 409, "show_not_editable"},
			{"cancel a live show", admin, http.MethodPost, base + "/cancel", nil, 409, "show_transition_not_allowed"},
			{"announce", asst, http.MethodPost, base + "/actions", map[string]string{"type": "pin_announcement", "text": "关注主播领券"}, 200, ""},
			{"a coupon drop without a drop", asst, http.MethodPost, base + "/actions", map[string]string{"type": "drop_coupon"}, 400, "invalid_drop_id"},
			{"a coupon drop without coupons", asst, http.MethodPost, base + "/actions", map[string]string{"type": "drop_coupon", "drop_id": "d1"}, 503, "coupons_unavailable"},
			{"an action that does not exist", asst, http.MethodPost, base + "/actions", map[string]string{"type": "confetti"}, 400, "unknown_action"},
			{"pin without a catalog", asst, http.MethodPost, base + "/actions", map[string]string{"type": "pin_product", "product_id": "p1"}, 503, "catalog_unavailable"},
			{"blocklist by an assistant", asst, http.MethodPut, "/console/api/v1/chat/blocklist", map[string]any{"words": []string{"x"}}, 403, "forbidden"},
			{"blocklist", admin, http.MethodPut, "/console/api/v1/chat/blocklist", map[string]any{"words": []string{"竞品", "竞品"}}, 200, ""},
			{"a show that does not exist", admin, http.MethodGet, "/console/api/v1/shows/nope", nil, 404, "show_not_found"},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				a := c.do(t, st.who, st.method, st.path, st.body)
				if a.status != st.status || (st.code != "" && a.code(t) != st.code) {
					t.Fatalf("%d %s, want %d %s", a.status, a.body, st.status, st.code)
				}
			})
		}

		var tok struct {
			Role, Token, Identity string
		}
		a = c.do(t, host, http.MethodPost, base+"/token", nil)
		_ = json.Unmarshal(a.body, &tok)
		if a.status != 200 || tok.Role != "host" || tok.Identity != "staff:h1" || tok.Token == "" {
			t.Fatalf("host token: %d %s", a.status, a.body)
		}
		a = c.do(t, asst, http.MethodPost, base+"/token", map[string]bool{"publish_data": true})
		_ = json.Unmarshal(a.body, &tok)
		if a.status != 200 || tok.Role != "assistant" {
			t.Fatalf("assistant token: %d %s", a.status, a.body)
		}

		a = c.do(t, asst, http.MethodGet, base, nil)
		_ = json.Unmarshal(a.body, &show)
		if a.status != 200 || show.Status != "live" || show.RecordingStatus != "starting" {
			t.Fatalf("live show: %d %s", a.status, a.body)
		}
		var words struct{ Words []string }
		a = c.do(t, asst, http.MethodGet, "/console/api/v1/chat/blocklist", nil)
		_ = json.Unmarshal(a.body, &words)
		if a.status != 200 || len(words.Words) != 1 {
			t.Fatalf("blocklist: %d %s", a.status, a.body)
		}
		if a = c.do(t, host, http.MethodPost, base+"/end", nil); a.status != 200 {
			t.Fatalf("end: %d %s", a.status, a.body)
		}
		var tl struct {
			Events []struct{ Kind, Actor string }
		}
		a = c.do(t, "service/x1", http.MethodGet, base+"/timeline", nil)
		_ = json.Unmarshal(a.body, &tl)
		var kinds []string
		for _, e := range tl.Events {
			kinds = append(kinds, e.Kind)
		}
		if a.status != 200 || strings.Join(kinds, ",") != "scheduled,live,announcement_pinned,ended" {
			t.Fatalf("timeline: %d %s", a.status, a.body)
		}
		if a = c.do(t, "", http.MethodGet, "/console/api/v1/shows", nil); a.status != 401 {
			t.Fatalf("no session: %d", a.status)
		}
	})
}
