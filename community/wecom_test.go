package community_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/work"
	workconfig "github.com/silenceper/wechat/v2/work/config"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/sandbox/wecom"
	"github.com/siyu-live/siyu/testsupport"
)

// directCalls is a TokenRetrier that calls once (the SDK's own token
// handle fetches tokens from the sandbox).
type directCalls struct{}

func (directCalls) Retry(ctx context.Context, call func(ctx context.Context) error) error {
	return call(ctx)
}

// wecomWorld is the WeCom service against the sandbox corp, with the
// sandbox's callbacks going to the service's handler.
type wecomWorld struct {
	sb  *wecom.Server
	svc *community.WeCom
	api *community.WeComClient
	db  *bun.DB
	srv *httptest.Server
}

func newWeComWorld(t *testing.T, db *bun.DB, clk *clock) *wecomWorld {
	t.Helper()
	sb, err := wecom.New(wecom.Config{Now: clk.Now, TimeScale: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	servePlatform(t, "qyapi.weixin.qq.com", sb)
	s := sb.Settings()
	wk := work.NewWork(&workconfig.Config{CorpID: s["WECOM_CORP_ID"], CorpSecret: s["WECOM_CORP_SECRET"], AgentID: s["WECOM_AGENT_ID"], Cache: cache.NewMemory()})
	api := community.NewWeComClient(wk.GetExternalContact(), directCalls{})
	svc, err := community.NewWeCom(community.WeComConfig{DB: db, API: api, CorpID: s["WECOM_CORP_ID"],
		Token: wecom.DefaultCallbackToken, EncodingAESKey: wecom.DefaultCallbackAESKey, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.CallbackHandler())
	t.Cleanup(srv.Close)
	if err := sb.SetCallback(wecom.Callback{URL: srv.URL, Token: wecom.DefaultCallbackToken, EncodingAESKey: wecom.DefaultCallbackAESKey}); err != nil {
		t.Fatal(err)
	}
	return &wecomWorld{sb: sb, svc: svc, api: api, db: db, srv: srv}
}

// settle waits for the sandbox's callbacks and processes the stored
// events, as the worker would; it returns how many it processed.
func (w *wecomWorld) settle(t *testing.T) int {
	t.Helper()
	ctx := context.Background()
	if err := w.sb.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []string
	if err := w.db.NewRaw("SELECT id FROM wecom_events WHERE processed_at IS NULL ORDER BY received_at").Scan(ctx, &ids); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := w.svc.ProcessEvent(ctx, id); err != nil {
			t.Fatalf("process event %s: %v", id, err)
		}
	}
	return len(ids)
}

func TestJoinWayConversionIsAttributedToTheShow(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
		w := newWeComWorld(t, db, clk)
		fxAddShow(t, db, "s1", "live", clk.Now())
		fxAddMember(t, db, fxMember{ID: "inviter"})
		fxAddMember(t, db, fxMember{ID: "shopper", UnionID: "ounion-shopper"})

		// The URL check answers the echostr's plaintext.
		v, err := w.sb.VerifyCallback(ctx)
		if err != nil || !v.OK {
			t.Fatalf("URL verification: %+v, %v", v, err)
		}

		res, err := w.svc.SyncGroups(ctx)
		if err != nil || res.Groups != 2 {
			t.Fatalf("sync = %+v, %v", res, err)
		}
		groups, _ := w.svc.Groups(ctx)
		chat := groups[0].ChatID

		way, err := w.svc.CreateJoinWay(ctx, "staff1", community.WayInput{Targets: []string{chat}, Remark: "live s1", ShowID: "s1", InviterID: "inviter"})
		if err != nil {
			t.Fatal(err)
		}
		if len(way.State) > 30 || way.QRCode == "" {
			t.Fatalf("way = %+v", way)
		}
		if _, err := w.svc.CreateJoinWay(ctx, "staff1", community.WayInput{Targets: []string{chat}, ShowID: "nope"}); err == nil {
			t.Fatal("a way for an unknown show")
		}

		// The shopper scans the show's QR code on their phone.
		if _, err := w.sb.ScanJoinWay(way.ConfigID, wecom.Person{UnionID: "ounion-shopper", Name: "小王"}); err != nil {
			t.Fatal(err)
		}
		if n := w.settle(t); n != 1 {
			t.Fatalf("processed %d events", n)
		}
		conv, err := w.svc.Conversions(ctx, community.ConversionFilter{ShowID: "s1"})
		if err != nil || len(conv) != 1 {
			t.Fatalf("conversions = %+v, %v", conv, err)
		}
		c := conv[0]
		if c.MemberID != "shopper" || c.Kind != "group_join" || c.Source != community.SourceJoinWay || c.InviterID != "inviter" || c.Target != chat || c.State != way.State {
			t.Fatalf("conversion = %+v", c)
		}
		seg, _ := community.NewSegments(community.SegmentsConfig{DB: db, Now: clk.Now})
		for rule, want := range map[string][]string{
			`{"converted_from_show":{"show_id":"s1"}}`:    {"shopper"},
			`{"joined_group":{"chat_id":"` + chat + `"}}`: {"shopper"},
		} {
			p, err := seg.PreviewRule(ctx, []byte(rule))
			if err != nil || !slices.Equal(p.Sample, want) {
				t.Fatalf("%s → %+v, %v", rule, p, err)
			}
		}
		stats, err := w.svc.ShowConversionStats(ctx, "s1")
		if err != nil || stats.Groups != 1 || stats.Members != 1 || stats.ByInviter["inviter"] != 1 {
			t.Fatalf("stats = %+v, %v", stats, err)
		}

		// A copy of a delivered event is dropped.
		deliveries := w.sb.Deliveries()
		last := deliveries[len(deliveries)-1]
		resp, err := http.Post(last.URL, "text/xml", strings.NewReader(last.Body))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("replayed event: %v %v", resp, err)
		}
		resp.Body.Close()
		if n := w.settle(t); n != 0 {
			t.Fatalf("a replayed event was processed again (%d)", n)
		}
		// A forged one is refused.
		resp, err = http.Post(strings.Replace(last.URL, "msg_signature=", "msg_signature=0", 1), "text/xml", strings.NewReader(last.Body))
		if err != nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("forged event answered %v %v", resp, err)
		}
		resp.Body.Close()

		// Leaving the group takes the member out of joined_group; the
		// conversion stays.
		clk.Advance(time.Hour)
		if _, err := w.sb.LeaveGroup(chat, "ounion-shopper"); err != nil {
			t.Fatal(err)
		}
		w.settle(t)
		if p, _ := seg.PreviewRule(ctx, []byte(`{"joined_group":{"chat_id":"`+chat+`"}}`)); p.Count != 0 {
			t.Fatalf("still in the group after leaving: %+v", p)
		}
		if p, _ := seg.PreviewRule(ctx, []byte(`{"converted_from_show":{"show_id":"s1"}}`)); p.Count != 1 {
			t.Fatalf("conversion lost after leaving: %+v", p)
		}

		// A contact way: the person adds a staff member; a person not yet a
		// member is linked once they log in.
		cw, err := w.svc.CreateContactWay(ctx, "staff1", community.WayInput{Targets: []string{"lisi"}, ShowID: "s1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.sb.AddContact(cw.ConfigID, wecom.Person{UnionID: "ounion-later", Name: "小李"}); err != nil {
			t.Fatal(err)
		}
		w.settle(t)
		conv, _ = w.svc.Conversions(ctx, community.ConversionFilter{Kind: "contact_add"})
		if len(conv) != 1 || conv[0].MemberID != "" || conv[0].Source != community.SourceContactWay || conv[0].Target != "lisi" {
			t.Fatalf("contact conversion = %+v", conv)
		}
		fxAddMember(t, db, fxMember{ID: "later", UnionID: "ounion-later"})
		if res, err := w.svc.SyncGroups(ctx); err != nil || res.Linked != 1 {
			t.Fatalf("sync linking = %+v, %v", res, err)
		}
		if p, _ := seg.PreviewRule(ctx, []byte(`{"wecom_contact":{"staff_userid":"lisi"}}`)); !slices.Equal(p.Sample, []string{"later"}) {
			t.Fatalf("wecom_contact = %+v", p)
		}
		prof, err := seg.Profile(ctx, "shopper", func(ctx context.Context, id string) ([]community.Coupon, error) { return nil, nil })
		if err != nil || len(prof.Groups) != 1 || prof.Groups[0].LeftAt == nil || len(prof.Conversions) != 1 {
			t.Fatalf("profile = %+v, %v", prof, err)
		}
	})
}
