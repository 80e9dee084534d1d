package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/console"
	"github.com/siyu-live/siyu/sandbox/wecom"
	"github.com/siyu-live/siyu/staff"
	"github.com/siyu-live/siyu/testsupport"
)

// staffCall sends a console request with a staff session and decodes the
// answer into out; it returns the status and the raw body.
func staffCall(t *testing.T, e *authzEnv, method, path, session string, body, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, console.Prefix+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: console.SessionCookie, Value: session})
	resp, err := e.http.Test(req, 20000)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode, string(raw)
}

// signedIn creates a staff account of role and returns its id and session.
func signedIn(t *testing.T, a *application, role string) (string, string) {
	t.Helper()
	ctx := context.Background()
	name := "t-" + strings.ReplaceAll(role, "_", "-")
	acc, err := a.staff.Create(ctx, "", staff.NewAccount{Name: name, Role: role, Password: "password for " + role})
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.staff.SignIn(ctx, name, "password for "+role)
	if err != nil {
		t.Fatal(err)
	}
	return acc.ID, s.Token
}

// TestCommunityOverHTTP drives the community through the console and the
// shopper API of the whole application: a rule refused with where it is
// wrong, a segment and its preview, tags, member profiles, coupons
// granted, dropped in a show and claimed, one of them spent at checkout
// and given back when the order is cancelled, and a campaign paused and
// cancelled.
func TestCommunityOverHTTP(t *testing.T) {
	for _, d := range testsupport.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			a, app := newTestApplication(t, d)
			e := &authzEnv{a: a, http: app}
			e.A, e.B = e.login(t, "o-member-a"), e.login(t, "o-member-b")
			hostID, host := signedIn(t, a, staff.RoleHost)
			_, cm := signedIn(t, a, staff.RoleCommunityManager)
			_, owner := signedIn(t, a, staff.RoleOwner)
			must := func(what string, status int, body string, want int) {
				t.Helper()
				if status != want {
					t.Fatalf("%s = %d %s, want %d", what, status, body, want)
				}
			}

			// Rules: a bad one is a 400 that says where and what.
			st, body := staffCall(t, e, http.MethodPost, "/segments/preview", cm, map[string]any{
				"rule": map[string]any{"and": []any{map[string]any{"has_phone": map[string]any{}}, map[string]any{"spent_over": map[string]any{"days": 30}}}}}, nil)
			if st != http.StatusBadRequest || !strings.Contains(body, "invalid_rule") || !strings.Contains(body, "rule.and[1].spent_over.fen: is required") {
				t.Fatalf("bad rule = %d %s", st, body)
			}
			var seg struct{ ID string }
			st, body = staffCall(t, e, http.MethodPost, "/segments", cm, map[string]any{"name": "new members", "rule": map[string]any{"joined_within": map[string]any{"days": 1}}}, &seg)
			must("create segment", st, body, http.StatusCreated)
			var preview struct{ Count int }
			st, body = staffCall(t, e, http.MethodGet, "/segments/"+seg.ID+"/preview", cm, nil, &preview)
			must("preview", st, body, http.StatusOK)
			if preview.Count != 2 {
				t.Fatalf("preview counted %d", preview.Count)
			}

			// Tags and the member list and profile.
			var tag struct{ ID string }
			st, body = staffCall(t, e, http.MethodPost, "/tags", cm, map[string]any{"name": "vip", "kind": "manual"}, &tag)
			must("create tag", st, body, http.StatusCreated)
			st, body = staffCall(t, e, http.MethodPost, "/tags/"+tag.ID+"/members", cm, map[string]any{"member_ids": []string{e.A.ID}}, nil)
			must("tag A", st, body, http.StatusOK)
			var page struct {
				Members []struct{ ID string }
			}
			st, body = staffCall(t, e, http.MethodGet, "/members?tag_id="+tag.ID, cm, nil, &page)
			must("members with tag", st, body, http.StatusOK)
			if len(page.Members) != 1 || page.Members[0].ID != e.A.ID {
				t.Fatalf("members with tag = %s", body)
			}

			// Coupons: a template, a grant, the member's wallet.
			var tpl struct{ ID string }
			st, body = staffCall(t, e, http.MethodPost, "/coupon-templates", cm, map[string]any{"name": "满100减20", "kind": "threshold",
				"threshold": 10000, "amount_off": 2000, "valid_days": 7, "total_stock": 10, "per_member_limit": 2}, &tpl)
			must("create template", st, body, http.StatusCreated)
			st, body = staffCall(t, e, http.MethodPost, "/coupon-templates", cm, map[string]any{"name": "x", "kind": "threshold",
				"threshold": 100, "amount_off": 2000, "valid_days": 7, "total_stock": 10, "per_member_limit": 1}, nil)
			if st != http.StatusBadRequest || !strings.Contains(body, "less than the threshold") {
				t.Fatalf("bad template = %d %s", st, body)
			}
			var grants struct {
				Results []struct {
					CouponID string `json:"coupon_id"`
				}
			}
			st, body = staffCall(t, e, http.MethodPost, "/coupon-templates/"+tpl.ID+"/grants", cm, map[string]any{"member_ids": []string{e.A.ID}}, &grants)
			must("grant", st, body, http.StatusOK)
			var wallet struct {
				Coupons []struct{ ID, Status string }
			}
			st, raw := e.do(t, http.MethodGet, "/mp/v1/me/coupons", e.A.Token, nil)
			_ = json.Unmarshal(raw, &wallet)
			if st != http.StatusOK || len(wallet.Coupons) != 1 || wallet.Coupons[0].ID != grants.Results[0].CouponID {
				t.Fatalf("A's coupons = %d %s", st, raw)
			}
			if st, raw = e.do(t, http.MethodGet, "/mp/v1/me/coupons", e.B.Token, nil); st != http.StatusOK || !strings.Contains(string(raw), `"coupons":[]`) {
				t.Fatalf("B's coupons = %d %s", st, raw)
			}
			var profile struct {
				Coupons []struct{ ID string }
				Tags    []struct{ ID string }
			}
			st, body = staffCall(t, e, http.MethodGet, "/members/"+e.A.ID, cm, nil, &profile)
			must("profile", st, body, http.StatusOK)
			if len(profile.Coupons) != 1 || len(profile.Tags) != 1 {
				t.Fatalf("profile = %s", body)
			}

			// A coupon at checkout: held by the order, back when it closes.
			var product struct {
				ID   string
				SKUs []struct{ ID string } `json:"skus"`
			}
			st, body = staffCall(t, e, http.MethodPost, "/products", owner, map[string]any{"title": "乌龙茶", "images": []string{"https://cdn.example.com/t.jpg"},
				"skus": []map[string]any{{"title": "罐", "list_price": 12000, "stock": 5}}}, &product)
			must("product", st, body, http.StatusCreated)
			st, body = staffCall(t, e, http.MethodPost, "/products/"+product.ID+"/publish", owner, nil, nil)
			must("publish", st, body, http.StatusOK)
			order := map[string]any{"items": []map[string]any{{"sku_id": product.SKUs[0].ID, "quantity": 1}}, "coupon_id": grants.Results[0].CouponID,
				"address": map[string]string{"name": "王", "phone": "13800138000", "province": "浙江", "city": "杭州", "district": "西湖", "detail": "1号"}}
			req := httptest.NewRequest(http.MethodPost, "/mp/v1/orders", bytes.NewReader(mustJSON(order)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.B.Token)
			req.Header.Set("Idempotency-Key", "b-1")
			resp, _ := app.Test(req, 20000)
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("B spending A's coupon = %d", resp.StatusCode)
			}
			var receipt struct {
				Order struct {
					ID       string
					Total    int64
					Discount int64
				}
			}
			req = httptest.NewRequest(http.MethodPost, "/mp/v1/orders", bytes.NewReader(mustJSON(order)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.A.Token)
			req.Header.Set("Idempotency-Key", "a-1")
			resp, _ = app.Test(req, 20000)
			raw, _ = io.ReadAll(resp.Body)
			_ = json.Unmarshal(raw, &receipt)
			if resp.StatusCode != http.StatusCreated || receipt.Order.Discount != 2000 || receipt.Order.Total != 10000 {
				t.Fatalf("order with coupon = %d %s", resp.StatusCode, raw)
			}
			if st, raw = e.do(t, http.MethodGet, "/mp/v1/me/coupons?status=reserved", e.A.Token, nil); !strings.Contains(string(raw), grants.Results[0].CouponID) {
				t.Fatalf("coupon not held by the order: %d %s", st, raw)
			}
			if st, raw = e.do(t, http.MethodPost, "/mp/v1/orders/"+receipt.Order.ID+"/cancel", e.A.Token, nil); st != http.StatusOK {
				t.Fatalf("cancel = %d %s", st, raw)
			}
			if st, raw = e.do(t, http.MethodGet, "/mp/v1/me/coupons?status=available", e.A.Token, nil); !strings.Contains(string(raw), grants.Results[0].CouponID) {
				t.Fatalf("coupon not back after the order closed: %d %s", st, raw)
			}

			// A drop in a show: the host drops one coupon; A wins it, B is late.
			var show struct{ ID string }
			st, body = staffCall(t, e, http.MethodPost, "/shows", owner, map[string]any{"title": "周五茶会", "scheduled_at": time.Now().Add(time.Hour), "host_staff_id": hostID}, &show)
			must("show", st, body, http.StatusCreated)
			var drop struct{ ID string }
			st, body = staffCall(t, e, http.MethodPost, "/shows/"+show.ID+"/coupon-drops", host, map[string]any{"template_id": tpl.ID, "quantity": 1, "per_member_limit": 1, "duration_seconds": 120}, &drop)
			must("drop", st, body, http.StatusCreated)
			if st, raw = e.do(t, http.MethodPost, "/mp/v1/shows/"+show.ID+"/coupon-drops/"+drop.ID+"/claim", e.A.Token, nil); st != http.StatusCreated {
				t.Fatalf("A claims = %d %s", st, raw)
			}
			if st, raw = e.do(t, http.MethodPost, "/mp/v1/shows/"+show.ID+"/coupon-drops/"+drop.ID+"/claim", e.B.Token, nil); st != http.StatusConflict || !strings.Contains(string(raw), "sold_out") {
				t.Fatalf("B claims = %d %s", st, raw)
			}
			if st, raw = e.do(t, http.MethodPost, "/mp/v1/shows/"+show.ID+"/coupon-drops/nope/claim", e.B.Token, nil); st != http.StatusNotFound {
				t.Fatalf("unknown drop = %d %s", st, raw)
			}

			// A campaign: created, paused, cancelled; the console says so.
			var camp struct{ ID, Status string }
			st, body = staffCall(t, e, http.MethodPost, "/campaigns", cm, map[string]any{"name": "回归礼", "segment_id": seg.ID, "schedule": "at",
				"run_at": time.Now().Add(time.Hour), "actions": map[string]any{"coupon": map[string]any{"template_id": tpl.ID}}}, &camp)
			must("campaign", st, body, http.StatusCreated)
			st, body = staffCall(t, e, http.MethodPost, "/campaigns/"+camp.ID+"/pause", cm, nil, &camp)
			must("pause", st, body, http.StatusOK)
			st, body = staffCall(t, e, http.MethodPost, "/campaigns/"+camp.ID+"/pause", cm, nil, nil)
			must("pause again", st, body, http.StatusConflict)
			st, body = staffCall(t, e, http.MethodPost, "/campaigns/"+camp.ID+"/cancel", cm, nil, &camp)
			must("cancel", st, body, http.StatusOK)
			if camp.Status != "cancelled" {
				t.Fatalf("campaign after cancel: %+v", camp)
			}
			st, body = staffCall(t, e, http.MethodPut, "/journeys/win_back", cm, map[string]any{"enabled": true, "config": map[string]any{
				"dormant_days": 45, "actions": map[string]any{"coupon": map[string]any{"template_id": tpl.ID}}}}, nil)
			must("win-back journey", st, body, http.StatusOK)
			st, body = staffCall(t, e, http.MethodPut, "/journeys/birthday", cm, map[string]any{"enabled": true}, nil)
			must("unknown journey", st, body, http.StatusNotFound)
		})
	}
}

// TestWeComCallbackThroughTheApp: the in-process sandbox's WeCom signs
// and encrypts a join of a show's group QR code; Siyu's /callbacks/wecom
// verifies it, and the worker's task records the conversion attributed to
// the show.
func TestWeComCallbackThroughTheApp(t *testing.T) {
	for _, d := range testsupport.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			a, app := newTestApplication(t, d)
			e := &authzEnv{a: a, http: app}
			shopper := e.login(t, "o-shopper")
			e.A = e.login(t, "o-inviter")
			ctx := context.Background()
			srv := httptest.NewServer(adaptor.FiberApp(app))
			defer srv.Close()
			sb := a.wechat.sandbox.WeCom
			if err := sb.SetCallback(wecom.Callback{URL: srv.URL + "/callbacks/wecom", Token: wecom.DefaultCallbackToken, EncodingAESKey: wecom.DefaultCallbackAESKey}); err != nil {
				t.Fatal(err)
			}
			if v, err := sb.VerifyCallback(ctx); err != nil || !v.OK {
				t.Fatalf("URL verification: %+v, %v", v, err)
			}
			hostID, _ := signedIn(t, a, staff.RoleHost)
			_, cm := signedIn(t, a, staff.RoleCommunityManager)
			_, owner := signedIn(t, a, staff.RoleOwner)
			var show struct{ ID string }
			if st, body := staffCall(t, e, http.MethodPost, "/shows", owner, map[string]any{"title": "周五茶会", "scheduled_at": time.Now().Add(time.Hour), "host_staff_id": hostID}, &show); st != http.StatusCreated {
				t.Fatalf("show = %d %s", st, body)
			}
			var groups struct {
				Groups []struct {
					ChatID string `json:"chat_id"`
				}
			}
			if st, body := staffCall(t, e, http.MethodPost, "/wecom/sync", cm, nil, nil); st != http.StatusOK {
				t.Fatalf("sync = %d %s", st, body)
			}
			staffCall(t, e, http.MethodGet, "/wecom/groups", cm, nil, &groups)
			var way struct {
				ConfigID string `json:"config_id"`
			}
			if st, body := staffCall(t, e, http.MethodPost, "/wecom/join-ways", cm, map[string]any{"targets": []string{groups.Groups[0].ChatID}, "show_id": show.ID, "inviter_id": e.A.ID}, &way); st != http.StatusCreated {
				t.Fatalf("join way = %d %s", st, body)
			}
			// The shopper's unionid is what the sandbox mini-program gave at login.
			m, err := a.members.Get(ctx, shopper.ID)
			if err != nil {
				t.Fatal(err)
			}
			unionid := m.UnionID
			if unionid == "" {
				unionid = "ounion-shopper"
				if _, err := a.st.db.NewRaw("UPDATE members SET unionid = ? WHERE id = ?", unionid, shopper.ID).Exec(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := sb.ScanJoinWay(way.ConfigID, wecom.Person{UnionID: unionid, Name: "小王"}); err != nil {
				t.Fatal(err)
			}
			if err := sb.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			var ids []string
			if err := a.st.db.NewRaw("SELECT payload FROM outbox WHERE task_type = 'community:wecom-event'").Scan(ctx, &ids); err != nil || len(ids) != 1 {
				t.Fatalf("outbox = %v, %v; deliveries %+v", ids, err, sb.Deliveries())
			}
			var task struct {
				EventID string `json:"event_id"`
			}
			_ = json.Unmarshal([]byte(ids[0]), &task)
			if err := a.community.wecom.ProcessEvent(ctx, task.EventID); err != nil {
				t.Fatal(err)
			}
			var stats struct {
				GroupJoins int            `json:"group_joins"`
				Members    int            `json:"members"`
				ByInviter  map[string]int `json:"by_inviter"`
			}
			if st, body := staffCall(t, e, http.MethodGet, "/shows/"+show.ID+"/conversions", cm, nil, &stats); st != http.StatusOK || stats.GroupJoins != 1 || stats.Members != 1 || stats.ByInviter[e.A.ID] != 1 {
				t.Fatalf("show conversions = %d %s", st, body)
			}
			var profile struct {
				Conversions []struct {
					ShowID string `json:"show_id"`
				}
			}
			staffCall(t, e, http.MethodGet, "/members/"+shopper.ID, cm, nil, &profile)
			if len(profile.Conversions) != 1 || profile.Conversions[0].ShowID != show.ID {
				t.Fatalf("profile conversions = %+v", profile.Conversions)
			}
		})
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestCampaignCommand runs `siyu campaign run ID --with-worker`: the run
// starts, the in-process worker carries it out, the progress bar is drawn
// and the final counts are printed; `siyu campaign status` prints them
// again.
func TestCampaignCommand(t *testing.T) {
	for _, d := range testsupport.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			env := map[string]string{"DATABASE_URL": testsupport.DatabaseURL(t, d), "REDIS_URL": testsupport.Redis(t),
				"SIYU_DATA_DIR": t.TempDir(), "SIYU_SHUTDOWN_TIMEOUT": "2s"}
			getenv := func(k string) string { return env[k] }
			// The progress bar and the logger both write to stderr from different
			// goroutines: a file is safe for that, a strings.Builder is not.
			var out, errb lockedBuffer
			if code := run(t.Context(), []string{"siyu", "migrate", "up"}, getenv, &out, &errb); code != 0 {
				t.Fatal(errb.String())
			}
			a, _ := newTestApplicationFrom(t, env)
			ctx := context.Background()
			for i := range 30 {
				id := "cli-" + string(rune('a'+i/26)) + string(rune('a'+i%26))
				if _, err := a.st.db.NewRaw("INSERT INTO members (id, openid, created_at, updated_at) VALUES (?, ?, ?, ?)", id, "o-"+id, time.Now(), time.Now()).Exec(ctx); err != nil {
					t.Fatal(err)
				}
			}
			tpl, err := a.community.coupons.CreateTemplate(ctx, "", community.CouponTemplateInput{Name: "5元", Kind: community.CouponNoThreshold,
				AmountOff: 500, ValidDays: 3, TotalStock: 20, PerMemberLimit: 1})
			if err != nil {
				t.Fatal(err)
			}
			seg, err := a.community.segments.CreateSegment(ctx, "", community.SegmentInput{Name: "all", Rule: []byte(`{"joined_within":{"days":1}}`)})
			if err != nil {
				t.Fatal(err)
			}
			c, err := a.community.campaigns.CreateCampaign(ctx, "", community.CampaignInput{Name: "cli", SegmentID: seg.ID, Schedule: community.ScheduleAt,
				RunAt: ptrTime(time.Now().Add(24 * time.Hour)), Actions: community.CampaignActions{Coupon: &community.CouponAction{TemplateID: tpl.ID}}})
			if err != nil {
				t.Fatal(err)
			}
			out.Reset()
			errb.Reset()
			if code := run(t.Context(), []string{"siyu", "campaign", "run", c.ID, "--with-worker", "--interval", "100ms"}, getenv, &out, &errb); code != 0 {
				t.Fatalf("campaign run = %d\n%s\n%s", code, out.String(), errb.String())
			}
			for _, want := range []string{"run ", "completed, 30 members targeted", "coupon    sent 20, skipped 10, failed 0, pending 0 (out_of_stock 10)"} {
				if !strings.Contains(out.String(), want) {
					t.Fatalf("campaign run printed %q; want %q", out.String(), want)
				}
			}
			if !strings.Contains(errb.String(), "100%") {
				t.Fatalf("no progress bar on stderr: %q", errb.String())
			}
			out.Reset()
			if code := run(t.Context(), []string{"siyu", "campaign", "status", c.ID}, getenv, &out, &errb); code != 0 || !strings.Contains(out.String(), "sent 20, skipped 10") {
				t.Fatalf("campaign status = %d %q %s", code, out.String(), errb.String())
			}
			if code := run(t.Context(), []string{"siyu", "campaign", "status", "nope"}, getenv, &out, &errb); code != 1 {
				t.Fatalf("status of an unknown campaign = %d", code)
			}
		})
	}
}

// newTestApplicationFrom builds the application from env (migrated).
func newTestApplicationFrom(t *testing.T, env map[string]string) (*application, *stores) {
	t.Helper()
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	st, err := openStores(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	a, err := newApplication(cfg, log, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a, st
}

func ptrTime(t time.Time) *time.Time { return &t }
