package miniprogramapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/analytics"
	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/live"
	miniprogramapi "github.com/siyu-live/siyu/miniprogram-api"
	"github.com/siyu-live/siyu/testsupport"
)

// TestProductClicks drives POST /mp/v1/shows/:id/product-clicks through
// the real analytics service: the click counts once per five seconds and
// only for a product of a live show's lineup.
func TestProductClicks(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		ropt, err := redis.ParseURL(testsupport.Redis(t))
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(ropt)
		t.Cleanup(func() { rdb.Close() })
		cat, err := catalog.New(catalog.Config{DB: db, Redis: rdb})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		for _, sh := range []live.Show{
			{ID: "show-live", Title: "直播中", Status: live.StatusLive, LiveAt: &now},
			{ID: "show-later", Title: "未开播", Status: live.StatusScheduled},
		} {
			sh.ScheduledAt, sh.HostStaffID, sh.Mode, sh.RoomName, sh.RecordingStatus = now, "host", live.ModeWebRTC, live.RoomName(sh.ID), live.RecordingNone
			sh.AssistantIDs, sh.CreatedBy, sh.CreatedAt, sh.UpdatedAt = []string{}, "owner", now, now
			if _, err := db.NewInsert().Model(&sh).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		p, err := cat.CreateProduct(ctx, "owner", catalog.ProductInput{Title: "茶"}, []catalog.SKUInput{{Title: "罐", ListPrice: 1000, Stock: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cat.SetPublished(ctx, "owner", p.ID, true); err != nil {
			t.Fatal(err)
		}
		for _, show := range []string{"show-live", "show-later"} {
			if _, err := cat.SetLineup(ctx, "owner", show, []catalog.LineupEntry{{SKUID: p.SKUs[0].ID, LivePrice: 900}}); err != nil {
				t.Fatal(err)
			}
		}
		// A still clock: the two taps of m1 fall in one five-second step.
		svc, err := analytics.New(analytics.Config{DB: db, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.DiscardHandler)
		app := edge.New(edge.Config{Logger: log, Registry: prometheus.NewRegistry(), ConsoleOrigin: "http://localhost:8080"})
		api := miniprogramapi.New(miniprogramapi.Config{Logger: log, Sessions: viewerSessions{}, Clicks: svc})
		if err := api.Mount(app, edge.NewDoc("test", "0", "")); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, token, show, body string
			status                  int
			want                    string // error code, or the counted flag
		}{
			{"no session", "", "show-live", `{"product_id":"` + p.ID + `"}`, http.StatusUnauthorized, "unauthenticated"},
			{"first click", "v-m1", "show-live", `{"product_id":"` + p.ID + `"}`, http.StatusAccepted, "true"},
			{"second tap at once", "v-m1", "show-live", `{"product_id":"` + p.ID + `"}`, http.StatusAccepted, "false"},
			{"another member", "v-m2", "show-live", `{"product_id":"` + p.ID + `"}`, http.StatusAccepted, "true"},
			{"not in the lineup", "v-m1", "show-live", `{"product_id":"other"}`, http.StatusUnprocessableEntity, "product_not_in_lineup"},
			{"show not live", "v-m1", "show-later", `{"product_id":"` + p.ID + `"}`, http.StatusConflict, "show_not_live"},
			{"unknown show", "v-m1", "nope", `{"product_id":"` + p.ID + `"}`, http.StatusNotFound, "show_not_found"},
			{"no product", "v-m1", "show-live", `{}`, http.StatusBadRequest, "invalid_json"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req := httptest.NewRequest(http.MethodPost, "/mp/v1/shows/"+tc.show+"/product-clicks", strings.NewReader(tc.body))
				req.Header.Set("Content-Type", "application/json")
				if tc.token != "" {
					req.Header.Set("Authorization", "Bearer "+tc.token)
				}
				resp, err := app.Test(req, 10000)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, raw)
				}
				var out struct {
					Counted *bool
					Error   struct{ Code string }
				}
				if err := json.Unmarshal(raw, &out); err != nil {
					t.Fatal(err)
				}
				got := out.Error.Code
				if out.Counted != nil {
					got = map[bool]string{true: "true", false: "false"}[*out.Counted]
				}
				if got != tc.want {
					t.Errorf("answer %s, want %s", raw, tc.want)
				}
			})
		}
		r, err := svc.Report(ctx, "show-live")
		if err != nil {
			t.Fatal(err)
		}
		if r.Engagement.ProductClicks != 2 || r.Engagement.Clickers != 2 {
			t.Errorf("report counts %+v", r.Engagement)
		}
	})
}
