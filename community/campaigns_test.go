package community_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	wxmp "github.com/silenceper/wechat/v2/miniprogram"
	wxconfig "github.com/silenceper/wechat/v2/miniprogram/config"
	"github.com/silenceper/wechat/v2/work"
	workconfig "github.com/silenceper/wechat/v2/work/config"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/outbox"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/sandbox/wecom"
	"github.com/siyu-live/siyu/testsupport"
)

// campaignWorld is the campaign engine on a database and Redis, sending
// subscribe messages through the consent ledger and silenceper/wechat to
// the sandbox mini-program, and WeCom message templates to the sandbox
// corp. step plays the worker: it runs the outbox's due community tasks.
type campaignWorld struct {
	db   *bun.DB
	clk  *clock
	mp   *miniprogram.Server
	corp *wecom.Server
	seg  *community.Segments
	cpn  *community.Coupons
	led  *community.Consents
	cmp  *community.Campaigns
	wc   *community.WeCom
}

const couponDue = miniprogram.TemplateCouponDue

func couponMessage() *community.SubscribeAction {
	return &community.SubscribeAction{TemplateID: couponDue, Page: "pages/coupons/index",
		Data: map[string]string{"thing1": "满100减20券已到账", "amount2": "¥20", "date3": "2026-06-30", "thing4": "点击查看"}}
}

func newCampaignWorld(t *testing.T, db *bun.DB, tune func(*community.CampaignsConfig)) *campaignWorld {
	t.Helper()
	w := &campaignWorld{db: db, clk: &clock{now: time.Date(2026, 6, 1, 4, 0, 0, 0, time.UTC)}}
	var err error
	if w.mp, err = miniprogram.New(miniprogram.Config{Now: w.clk.Now}); err != nil {
		t.Fatal(err)
	}
	servePlatform(t, "api.weixin.qq.com", w.mp)
	if w.corp, err = wecom.New(wecom.Config{Now: w.clk.Now}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.corp.Close)
	servePlatform(t, "qyapi.weixin.qq.com", w.corp)
	s := w.mp.Settings()
	app := wxmp.NewMiniProgram(&wxconfig.Config{AppID: s[miniprogram.SettingAppID], AppSecret: s[miniprogram.SettingAppSecret], Cache: cache.NewMemory()})
	// The SDK's default token handle and memory cache are not safe for
	// concurrent use (Siyu uses accesstoken.Cache); the campaign sends from
	// several goroutines.
	app.SetAccessTokenHandle(&lockedToken{h: app.GetContext().AccessTokenContextHandle})
	if w.led, err = community.NewConsents(community.ConsentsConfig{DB: db, Sender: community.NewWeChatSubscribe(app.GetSubscribe(), "", directCalls{}), Now: w.clk.Now}); err != nil {
		t.Fatal(err)
	}
	cs := w.corp.Settings()
	wk := work.NewWork(&workconfig.Config{CorpID: cs["WECOM_CORP_ID"], CorpSecret: cs["WECOM_CORP_SECRET"], AgentID: cs["WECOM_AGENT_ID"], Cache: cache.NewMemory()})
	api := community.NewWeComClient(wk.GetExternalContact(), directCalls{})
	if w.wc, err = community.NewWeCom(community.WeComConfig{DB: db, API: api, CorpID: cs["WECOM_CORP_ID"], Token: wecom.DefaultCallbackToken,
		EncodingAESKey: wecom.DefaultCallbackAESKey, Now: w.clk.Now}); err != nil {
		t.Fatal(err)
	}
	opt, err := redis.ParseURL(testsupport.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	w.seg, _ = community.NewSegments(community.SegmentsConfig{DB: db, Now: w.clk.Now})
	w.cpn, _ = community.NewCoupons(community.CouponsConfig{DB: db, Redis: rdb, Now: w.clk.Now})
	cfg := community.CampaignsConfig{DB: db, Redis: rdb, Segments: w.seg, Coupons: w.cpn, Ledger: w.led, WeCom: api,
		SubscribeRate: community.Rate{PerSecond: 100000, Burst: 1000}, ChunkSize: 40, BatchSize: 15, Now: w.clk.Now}
	if tune != nil {
		tune(&cfg)
	}
	if w.cmp, err = community.NewCampaigns(cfg); err != nil {
		t.Fatal(err)
	}
	return w
}

// members seeds n members; every third has no consent, the others one
// consent (on WeChat and in the ledger) for the coupon template.
func (w *campaignWorld) members(t *testing.T, n int) (all, consenting []string) {
	t.Helper()
	all = fxAddMembers(t, w.db, n, w.clk.Now().Add(-48*time.Hour))
	for i, id := range all {
		if i%3 == 2 {
			continue
		}
		consenting = append(consenting, id)
		if err := w.mp.GrantSubscribe("o-"+id, couponDue, 1); err != nil {
			t.Fatal(err)
		}
		fxConsent(t, w.db, id, couponDue, 1, false, w.clk.Now())
	}
	return all, consenting
}

var errWorkerKilled = errors.New("worker killed")

// lockedToken serialises an SDK token handle.
type lockedToken struct {
	mu sync.Mutex
	h  credential.AccessTokenHandle
}

func (l *lockedToken) GetAccessToken() (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.h.GetAccessToken()
}

// step runs the oldest due community task in the outbox; a task that fails
// stays due, as asynq retries it. It reports whether it ran one.
func (w *campaignWorld) step(ctx context.Context, t *testing.T) (bool, error) {
	t.Helper()
	var rows []outbox.Row
	if err := w.db.NewSelect().Model(&rows).Where("sent_at IS NULL AND task_type LIKE 'community:%'").
		Where("(process_at IS NULL OR process_at <= ?)", w.clk.Now()).OrderExpr("created_at, id").Limit(1).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return false, nil
	}
	r := rows[0]
	var err error
	switch r.TaskType {
	case community.TaskStartCampaignRun:
		var p community.StartRunTask
		_ = json.Unmarshal([]byte(r.Payload), &p)
		err = w.cmp.StartRun(ctx, p.CampaignID, p.Occurrence)
	case community.TaskRunCampaign:
		var p community.RunTask
		_ = json.Unmarshal([]byte(r.Payload), &p)
		err = w.cmp.Run(ctx, p.RunID)
	}
	if err == nil {
		if _, uerr := w.db.NewUpdate().Model((*outbox.Row)(nil)).Set("sent_at = ?", time.Now()).Where("id = ?", r.ID).Exec(context.Background()); uerr != nil {
			t.Fatal(uerr)
		}
	}
	w.checkCounts(t)
	return true, err
}

// checkCounts fails unless every planned run's progress, read from its
// counts, is what counting its deliveries says.
func (w *campaignWorld) checkCounts(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var runs []string
	if err := w.db.NewRaw("SELECT id FROM campaign_runs WHERE planned_at IS NOT NULL").Scan(ctx, &runs); err != nil {
		t.Fatal(err)
	}
	for _, id := range runs {
		var rows []struct {
			Channel string `bun:"channel"`
			State   string `bun:"state"`
			Reason  string `bun:"reason"`
			N       int    `bun:"n"`
		}
		if err := w.db.NewRaw("SELECT channel, state, reason, COUNT(*) AS n FROM campaign_deliveries WHERE run_id = ? GROUP BY channel, state, reason", id).Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		want := map[string]community.ChannelProgress{}
		for _, r := range rows {
			c := want[r.Channel]
			if c.Reasons == nil {
				c.Reasons = map[string]int{}
			}
			c.Targeted += r.N
			switch r.State {
			case community.DeliverySent:
				c.Sent += r.N
			case community.DeliverySkipped, community.DeliveryFailed:
				if r.State == community.DeliverySkipped {
					c.Skipped += r.N
				} else {
					c.Failed += r.N
				}
				c.Reasons[r.Reason] += r.N
			default:
				c.Pending += r.N
			}
			want[r.Channel] = c
		}
		p, err := w.cmp.Progress(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		checkAdds(t, p)
		for ch, c := range want {
			if !reflect.DeepEqual(p.Channels[ch], c) {
				t.Fatalf("run %s %s: progress says %+v, its deliveries %+v", id, ch, p.Channels[ch], c)
			}
		}
	}
}

// work runs due tasks until none is left, failing on any error.
func (w *campaignWorld) work(t *testing.T) {
	t.Helper()
	for {
		ran, err := w.step(context.Background(), t)
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			return
		}
	}
}

// sentTo counts the subscribe messages WeChat accepted per openid.
func (w *campaignWorld) sentTo() map[string]int {
	out := map[string]int{}
	for _, m := range w.mp.SentSubscribeMessages() {
		out[m.ToUser]++
	}
	return out
}

// expectOneEach fails unless WeChat accepted exactly one subscribe
// message for each member of ids (openid "o-" + id) and none for others.
func (w *campaignWorld) expectOneEach(t *testing.T, ids []string) {
	t.Helper()
	got := w.sentTo()
	for _, id := range ids {
		if got["o-"+id] != 1 {
			t.Fatalf("%s got %d messages", id, got["o-"+id])
		}
	}
	if len(got) != len(ids) {
		t.Fatalf("%d members got messages, %d expected one", len(got), len(ids))
	}
}

func (w *campaignWorld) campaign(t *testing.T, actions community.CampaignActions, rule string) community.Campaign {
	t.Helper()
	ctx := context.Background()
	seg, err := w.seg.CreateSegment(ctx, "staff", community.SegmentInput{Name: fmt.Sprintf("seg-%d", time.Now().UnixNano()), Rule: []byte(rule)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.cmp.CreateCampaign(ctx, "staff", community.CampaignInput{Name: "618", SegmentID: seg.ID, Actions: actions, Schedule: community.ScheduleNow})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkAdds checks that every channel's counts add up to its targets.
func checkAdds(t *testing.T, p community.RunProgress) {
	t.Helper()
	for ch, c := range p.Channels {
		if c.Sent+c.Skipped+c.Failed+c.Pending != c.Targeted || c.Targeted != p.Targeted {
			t.Fatalf("%s progress does not add up: %+v (run targeted %d)", ch, c, p.Targeted)
		}
		sum := 0
		for _, n := range c.Reasons {
			sum += n
		}
		if sum != c.Skipped+c.Failed {
			t.Fatalf("%s reasons %v do not add up to %d skipped + %d failed", ch, c.Reasons, c.Skipped, c.Failed)
		}
	}
}

func TestCampaignSendsOncePerConsent(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		w := newCampaignWorld(t, db, nil)
		all, consenting := w.members(t, 200)
		tpl, err := w.cpn.CreateTemplate(ctx, "staff", community.CouponTemplateInput{Name: "满100减20", Kind: community.CouponThreshold,
			Threshold: 10000, AmountOff: 2000, ValidDays: 30, TotalStock: 150, PerMemberLimit: 1})
		if err != nil {
			t.Fatal(err)
		}
		rule := `{"joined_within":{"days":30}}`
		preview, err := w.seg.PreviewRule(ctx, []byte(rule))
		if err != nil || preview.Count != len(all) {
			t.Fatalf("preview = %+v, %v", preview.Count, err)
		}
		c := w.campaign(t, community.CampaignActions{Coupon: &community.CouponAction{TemplateID: tpl.ID}, Subscribe: couponMessage()}, rule)

		// The worker is killed twice: once right after WeChat took a
		// message and before the row was marked, once by a cancelled
		// context between sends.
		var sends atomic.Int64
		community.SetAfterSend(w.cmp, func(ch, key string) error {
			if sends.Add(1) == 37 {
				return errWorkerKilled
			}
			return nil
		})
		ctx1, cancel := context.WithCancel(ctx)
		failed := false
		for !failed {
			ran, err := w.step(ctx1, t)
			if !ran {
				t.Fatal("the run ended before the worker was killed")
			}
			failed = errors.Is(err, errWorkerKilled)
		}
		community.SetAfterSend(w.cmp, func(ch, key string) error {
			if sends.Add(1) == 80 {
				cancel()
			}
			return nil
		})
		for {
			_, err := w.step(ctx1, t)
			if errors.Is(err, context.Canceled) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		mid, _ := w.cmp.Campaign(ctx, c.ID)
		if mid.LastRun == nil || mid.LastRun.Status != community.CampaignRunning {
			t.Fatalf("mid-run: %+v", mid.LastRun)
		}
		checkAdds(t, *mid.LastRun)
		// The stopped batches gave back the consents they had reserved and
		// not sent: every consent spent is a message WeChat answered.
		var pendingKeys, keys, spent int
		if err := db.NewRaw("SELECT COUNT(*) FROM subscribe_sends WHERE status = 'pending'").Scan(ctx, &pendingKeys); err != nil || pendingKeys != 0 {
			t.Fatalf("%d keys pending after the worker stopped (%v)", pendingKeys, err)
		}
		_ = db.NewRaw("SELECT COUNT(*) FROM subscribe_sends").Scan(ctx, &keys)
		_ = db.NewRaw("SELECT COALESCE(SUM(granted - remaining), 0) FROM subscribe_consents").Scan(ctx, &spent)
		if keys != spent || keys != len(w.mp.SentSubscribeMessages()) {
			t.Fatalf("%d consents spent, %d keys, %d messages on WeChat", spent, keys, len(w.mp.SentSubscribeMessages()))
		}
		community.SetAfterSend(w.cmp, nil)
		w.work(t)

		w.expectOneEach(t, consenting)
		done, _ := w.cmp.Campaign(ctx, c.ID)
		p := *done.LastRun
		checkAdds(t, p)
		sub, cpn := p.Channels[community.ChannelSubscribe], p.Channels[community.ChannelCoupon]
		if done.Status != community.CampaignCompleted || p.Status != community.CampaignCompleted || p.Targeted != preview.Count {
			t.Fatalf("campaign %s, run %+v; preview counted %d", done.Status, p, preview.Count)
		}
		if sub.Sent != len(consenting) || sub.Reasons["no_consent"] != len(all)-len(consenting) || sub.Failed != 0 {
			t.Fatalf("subscribe progress = %+v", sub)
		}
		if cpn.Sent != 150 || cpn.Reasons["out_of_stock"] != 50 {
			t.Fatalf("coupon progress = %+v", cpn)
		}
		// Each granted coupon is the run's, once per member.
		var n int
		if err := db.NewRaw("SELECT COUNT(DISTINCT member_id) FROM coupons WHERE source = 'campaign' AND source_id = ?", p.RunID).Scan(ctx, &n); err != nil || n != 150 {
			t.Fatalf("%d members hold the run's coupon (%v)", n, err)
		}
		// The ledger spent exactly one consent per message.
		var left int
		if err := db.NewRaw("SELECT COALESCE(SUM(remaining), 0) FROM subscribe_consents").Scan(ctx, &left); err != nil || left != 0 {
			t.Fatalf("%d consents left (%v)", left, err)
		}
	})
}

func TestCampaignPlansEveryDeliveryAtStart(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		w := newCampaignWorld(t, db, nil)
		all, consenting := w.members(t, 100)
		joined := w.clk.Now().Add(-48 * time.Hour)
		fxExec(t, db, "INSERT INTO members (id, openid, unionid, created_at, updated_at) VALUES ('m-no-openid', '', '', ?, ?)", joined, joined)
		fxConsent(t, db, "m-no-openid", couponDue, 1, false, joined)
		tpl, err := w.cpn.CreateTemplate(ctx, "staff", community.CouponTemplateInput{Name: "满100减20", Kind: community.CouponThreshold,
			Threshold: 10000, AmountOff: 2000, ValidDays: 30, TotalStock: 1000, PerMemberLimit: 1})
		if err != nil {
			t.Fatal(err)
		}
		targeted := len(all) + 1
		c := w.campaign(t, community.CampaignActions{Coupon: &community.CouponAction{TemplateID: tpl.ID}, Subscribe: couponMessage()},
			`{"joined_within":{"days":30}}`)

		// The start task plans every delivery and sends nothing.
		if ran, err := w.step(ctx, t); !ran || err != nil {
			t.Fatalf("start: %v %v", ran, err)
		}
		cur, _ := w.cmp.Campaign(ctx, c.ID)
		p := *cur.LastRun
		checkAdds(t, p)
		sub, cpn := p.Channels[community.ChannelSubscribe], p.Channels[community.ChannelCoupon]
		if p.Targeted != targeted || p.Chunks != 0 || cpn.Pending != targeted || sub.Pending != len(consenting) ||
			sub.Reasons["no_consent"] != len(all)-len(consenting) || sub.Reasons["no_openid"] != 1 {
			t.Fatalf("after start: %+v", p)
		}
		if n := len(w.mp.SentSubscribeMessages()); n != 0 {
			t.Fatalf("%d messages sent by the start", n)
		}

		// The worker dies mid-send.
		var sends atomic.Int64
		community.SetAfterSend(w.cmp, func(ch, key string) error {
			if sends.Add(1) == 20 {
				return errWorkerKilled
			}
			return nil
		})
		for {
			ran, err := w.step(ctx, t)
			if !ran {
				t.Fatal("the run ended before the worker was killed")
			}
			if errors.Is(err, errWorkerKilled) {
				break
			}
		}
		community.SetAfterSend(w.cmp, nil)
		mid, _ := w.cmp.Progress(ctx, p.RunID)
		if mid.Channels[community.ChannelSubscribe].Sent == 0 {
			t.Fatalf("mid-run: %+v", mid)
		}

		// Planning again, even with the run's mark gone and a member's
		// consent granted since, changes no row.
		late := all[2] // every third member has no consent
		if err := w.mp.GrantSubscribe("o-"+late, couponDue, 1); err != nil {
			t.Fatal(err)
		}
		fxConsent(t, db, late, couponDue, 1, false, w.clk.Now())
		fxExec(t, db, "UPDATE campaign_runs SET planned_at = NULL WHERE id = ?", p.RunID)
		for range 2 {
			if err := community.PlanRun(ctx, w.cmp, p.RunID); err != nil {
				t.Fatal(err)
			}
			again, _ := w.cmp.Progress(ctx, p.RunID)
			if again.Targeted != mid.Targeted || !reflect.DeepEqual(again.Channels, mid.Channels) {
				t.Fatalf("planned again: %+v, before %+v", again.Channels, mid.Channels)
			}
		}

		w.work(t)
		w.expectOneEach(t, consenting)
		done, _ := w.cmp.Progress(ctx, p.RunID)
		checkAdds(t, done)
		sub = done.Channels[community.ChannelSubscribe]
		if done.Status != community.CampaignCompleted || done.Targeted != targeted || sub.Sent != len(consenting) ||
			done.Channels[community.ChannelCoupon].Sent != targeted {
			t.Fatalf("done: %+v", done)
		}

		// A run started by hand answers at once; the worker plans it (here
		// in quiet hours: planned, nothing sent).
		seg, _ := w.seg.CreateSegment(ctx, "staff", community.SegmentInput{Name: "all again", Rule: []byte(`{"joined_within":{"days":30}}`)})
		at := w.clk.Now().Add(24 * time.Hour)
		quiet, err := w.cmp.CreateCampaign(ctx, "staff", community.CampaignInput{Name: "noon", SegmentID: seg.ID,
			Actions: community.CampaignActions{Subscribe: couponMessage()}, Schedule: community.ScheduleAt, RunAt: &at,
			QuietHours: &community.QuietHours{Start: "11:30", End: "13:00"}})
		if err != nil {
			t.Fatal(err)
		}
		byHand, err := w.cmp.RunNow(ctx, "staff", quiet.ID)
		if err != nil || byHand.Targeted != 0 || byHand.Status != community.CampaignRunning {
			t.Fatalf("run by hand: %+v, %v", byHand, err)
		}
		sent := len(w.mp.SentSubscribeMessages())
		w.work(t)
		planned, _ := w.cmp.Progress(ctx, byHand.RunID)
		checkAdds(t, planned)
		if planned.Targeted != targeted || planned.Channels[community.ChannelSubscribe].Sent != 0 || len(w.mp.SentSubscribeMessages()) != sent {
			t.Fatalf("run by hand after the worker: %+v", planned)
		}
	})
}

// hardKill is the consent ledger of a worker that can die hard: once dead
// it sends nothing and gives nothing back.
type hardKill struct {
	*community.Consents
	dead *atomic.Bool
}

func (l hardKill) Deliver(ctx context.Context, req community.SendRequest) (community.SendStatus, error) {
	if l.dead.Load() {
		return "", errWorkerKilled
	}
	return l.Consents.Deliver(ctx, req)
}

func (l hardKill) Release(ctx context.Context, reqs []community.SendRequest) error {
	if l.dead.Load() {
		return nil
	}
	return l.Consents.Release(ctx, reqs)
}

func TestCampaignWorkerKilledHard(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		var dead atomic.Bool
		w := newCampaignWorld(t, db, func(c *community.CampaignsConfig) {
			c.Ledger = hardKill{Consents: c.Ledger.(*community.Consents), dead: &dead}
			// One message in hand at a time: the batch dies with messages
			// reserved and not sent.
			c.Senders = 1
		})
		all, consenting := w.members(t, 90)
		c := w.campaign(t, community.CampaignActions{Subscribe: couponMessage()}, `{"joined_within":{"days":30}}`)
		var sends atomic.Int64
		var victim atomic.Value
		community.SetAfterSend(w.cmp, func(ch, member string) error {
			if sends.Add(1) == 25 {
				victim.Store(member)
				dead.Store(true)
			}
			if dead.Load() {
				return errWorkerKilled
			}
			return nil
		})
		for {
			ran, err := w.step(ctx, t)
			if !ran {
				t.Fatal("the run ended before the worker was killed")
			}
			if errors.Is(err, errWorkerKilled) {
				break
			}
		}
		// The worker died after WeChat took the victim's message and before
		// the ledger recorded it, holding the consents of its batch.
		fxExec(t, db, "UPDATE subscribe_sends SET status = 'pending' WHERE member_id = ?", victim.Load())
		var held int
		if err := db.NewRaw("SELECT COUNT(*) FROM subscribe_sends WHERE status = 'pending'").Scan(ctx, &held); err != nil || held < 2 {
			t.Fatalf("%d keys pending after the kill (%v)", held, err)
		}
		dead.Store(false)
		community.SetAfterSend(w.cmp, nil)
		w.work(t)

		w.expectOneEach(t, consenting)
		cur, _ := w.cmp.Campaign(ctx, c.ID)
		p := *cur.LastRun
		checkAdds(t, p)
		sub := p.Channels[community.ChannelSubscribe]
		// The victim's copy was refused by WeChat: counted failed, sent once.
		if p.Status != community.CampaignCompleted || sub.Sent != len(consenting)-1 || sub.Reasons["refused_43101"] != 1 ||
			sub.Reasons["no_consent"] != len(all)-len(consenting) {
			t.Fatalf("progress = %+v", sub)
		}
		var left, pendingKeys int
		_ = db.NewRaw("SELECT COALESCE(SUM(remaining), 0) FROM subscribe_consents").Scan(ctx, &left)
		_ = db.NewRaw("SELECT COUNT(*) FROM subscribe_sends WHERE status = 'pending'").Scan(ctx, &pendingKeys)
		if left != 0 || pendingKeys != 0 {
			t.Fatalf("%d consents left, %d keys pending", left, pendingKeys)
		}
	})
}

func TestCampaignPauseResumeCancel(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		w := newCampaignWorld(t, db, nil)
		_, consenting := w.members(t, 120)
		c := w.campaign(t, community.CampaignActions{Subscribe: couponMessage()}, `{"consented":{"template_id":"`+couponDue+`"}}`)
		var sends atomic.Int64
		community.SetAfterSend(w.cmp, func(ch, key string) error {
			if sends.Add(1) == 10 {
				if _, err := w.cmp.Pause(ctx, "staff", c.ID); err != nil {
					return err
				}
			}
			return nil
		})
		w.work(t)
		paused, _ := w.cmp.Campaign(ctx, c.ID)
		p := *paused.LastRun
		checkAdds(t, p)
		if paused.Status != community.CampaignPaused || p.Status != community.CampaignPaused || p.Channels[community.ChannelSubscribe].Pending == 0 {
			t.Fatalf("after pause: %s %+v", paused.Status, p)
		}
		sentWhilePaused := len(w.mp.SentSubscribeMessages())
		if sentWhilePaused >= len(consenting) {
			t.Fatalf("pause did not stop the run: %d sent", sentWhilePaused)
		}
		if _, err := w.cmp.Pause(ctx, "staff", c.ID); !errors.Is(err, community.ErrCampaignState) {
			t.Fatalf("pause twice: %v", err)
		}
		if _, err := w.cmp.Resume(ctx, "staff", c.ID); err != nil {
			t.Fatal(err)
		}
		community.SetAfterSend(w.cmp, func(ch, key string) error {
			if sends.Add(1) == 40 {
				if _, err := w.cmp.Cancel(ctx, "staff", c.ID); err != nil {
					return err
				}
			}
			return nil
		})
		w.work(t)
		cancelled, _ := w.cmp.Campaign(ctx, c.ID)
		p = *cancelled.LastRun
		checkAdds(t, p)
		sub := p.Channels[community.ChannelSubscribe]
		if cancelled.Status != community.CampaignCancelled || p.Status != community.CampaignCancelled || sub.Pending != 0 || sub.Reasons["cancelled"] == 0 {
			t.Fatalf("after cancel: %s %+v", cancelled.Status, sub)
		}
		if sub.Sent != len(w.mp.SentSubscribeMessages()) {
			t.Fatalf("progress says %d sent, WeChat got %d", sub.Sent, len(w.mp.SentSubscribeMessages()))
		}
		if _, err := w.cmp.Resume(ctx, "staff", c.ID); !errors.Is(err, community.ErrCampaignState) {
			t.Fatalf("resume a cancelled campaign: %v", err)
		}
	})
}

func TestCampaignLeaseAndQuietHours(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		w := newCampaignWorld(t, db, nil)
		_, consenting := w.members(t, 30)
		seg, _ := w.seg.CreateSegment(ctx, "staff", community.SegmentInput{Name: "all", Rule: []byte(`{"joined_within":{"days":30}}`)})
		// 04:00 UTC is 12:00 in China: quiet from 11:30 to 13:00.
		c, err := w.cmp.CreateCampaign(ctx, "staff", community.CampaignInput{Name: "noon", SegmentID: seg.ID,
			Actions: community.CampaignActions{Subscribe: couponMessage()}, Schedule: community.ScheduleNow,
			QuietHours: &community.QuietHours{Start: "11:30", End: "13:00"}})
		if err != nil {
			t.Fatal(err)
		}
		w.work(t)
		if n := len(w.mp.SentSubscribeMessages()); n != 0 {
			t.Fatalf("%d sent in quiet hours", n)
		}
		// A worker that died holding the run's lease keeps others off it
		// until the lease runs out.
		cur, _ := w.cmp.Campaign(ctx, c.ID)
		fxExec(t, db, "UPDATE campaign_runs SET lease_owner = 'dead', lease_until = ? WHERE id = ?", w.clk.Now().Add(2*time.Hour), cur.LastRun.RunID)
		w.clk.Advance(time.Hour + time.Minute) // 13:01 in China
		if _, err := w.step(ctx, t); !errors.Is(err, community.ErrRunBusy) {
			t.Fatalf("run while another worker holds the lease: %v", err)
		}
		w.clk.Advance(time.Hour)
		w.work(t)
		if n := len(w.mp.SentSubscribeMessages()); n != len(consenting) {
			t.Fatalf("%d sent after quiet hours, want %d", n, len(consenting))
		}
	})
}

func TestCampaignWeComAndWinBackJourney(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		w := newCampaignWorld(t, db, nil)
		now := w.clk.Now()
		for i, m := range []fxMember{{ID: "a", UnionID: "ua"}, {ID: "b", UnionID: "ub"}, {ID: "c", UnionID: "uc"}, {ID: "d"}, {ID: "e", UnionID: "ue"}} {
			fxAddMember(t, db, m)
			fxOrder(t, db, fmt.Sprintf("o%d", i), m.ID, 10000, 0, tptr(now.Add(-90*24*time.Hour)), now.Add(-90*24*time.Hour))
		}
		fxOrder(t, db, "recent", "c", 10000, 0, tptr(now.Add(-24*time.Hour)), now.Add(-24*time.Hour))
		// a and b add staff through a contact way; d is nobody's customer.
		way, err := w.wc.CreateContactWay(ctx, "staff", community.WayInput{Targets: []string{"zhangsan"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"ua", "ub"} {
			if _, err := w.corp.AddContact(way.ConfigID, wecom.Person{UnionID: u, Name: u}); err != nil {
				t.Fatal(err)
			}
			ext := w.corp.ExternalUserID(u)
			fxExec(t, db, "INSERT INTO wecom_contacts (external_userid, staff_userid, unionid, added_at, updated_at) VALUES (?, 'zhangsan', ?, ?, ?)", ext, u, now, now)
		}
		// b added a second staff member later; e was a customer once.
		fxExec(t, db, "INSERT INTO wecom_contacts (external_userid, staff_userid, unionid, added_at, updated_at) VALUES (?, 'lisi', 'ub', ?, ?)",
			w.corp.ExternalUserID("ub"), now.Add(time.Minute), now)
		fxExec(t, db, "INSERT INTO wecom_contacts (external_userid, staff_userid, unionid, added_at, removed_at, updated_at) VALUES ('wmE', 'zhangsan', 'ue', ?, ?, ?)",
			now.Add(-48*time.Hour), now.Add(-24*time.Hour), now)
		tpl, _ := w.cpn.CreateTemplate(ctx, "staff", community.CouponTemplateInput{Name: "回归礼", Kind: community.CouponNoThreshold,
			AmountOff: 1000, ValidDays: 7, TotalStock: 100, PerMemberLimit: 3})
		j, err := w.cmp.SetJourney(ctx, "staff", community.JourneyWinBack, true, community.JourneyConfig{DormantDays: 30, CooldownDays: 30,
			Actions: community.CampaignActions{Coupon: &community.CouponAction{TemplateID: tpl.ID},
				WeCom: &community.WeComAction{Text: "好久不见，送你一张券"}}})
		if err != nil {
			t.Fatal(err)
		}
		w.work(t)
		j, _ = w.cmp.Journey(ctx, community.JourneyWinBack)
		p := *j.LastRun
		checkAdds(t, p)
		if p.Targeted != 4 || p.Channels[community.ChannelCoupon].Sent != 4 {
			t.Fatalf("win-back run = %+v", p)
		}
		wc := p.Channels[community.ChannelWeCom]
		if wc.Sent != 2 || wc.Reasons["no_wecom_contact"] != 2 {
			t.Fatalf("WeCom progress = %+v", wc)
		}
		msgs := w.corp.Messages()
		if len(msgs) != 1 {
			t.Fatalf("WeCom got %d message templates", len(msgs))
		}
		// A day later the journey runs again and the cooldown keeps the
		// same members out.
		w.clk.Advance(24 * time.Hour)
		w.work(t)
		runs, _ := w.cmp.Runs(ctx, j.CampaignID)
		if len(runs) != 2 || runs[0].Targeted != 0 || runs[0].Status != community.CampaignCompleted {
			t.Fatalf("second run = %+v", runs)
		}
		if j, err = w.cmp.SetJourney(ctx, "staff", community.JourneyWinBack, false, j.Config); err != nil || j.Enabled {
			t.Fatalf("switch off: %+v, %v", j, err)
		}
		w.clk.Advance(24 * time.Hour)
		w.work(t)
		if runs, _ = w.cmp.Runs(ctx, j.CampaignID); len(runs) != 2 {
			t.Fatalf("a switched-off journey ran: %d runs", len(runs))
		}
	})
}

func TestGroupWelcomeJourney(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		w := newCampaignWorld(t, db, nil)
		now := w.clk.Now()
		fxExec(t, db, `INSERT INTO wecom_groups (chat_id, name, created_at, synced_at) VALUES ('wrG', 'g', ?, ?)`, now, now)
		join := func(member, unionid string, at time.Time) {
			fxAddMember(t, db, fxMember{ID: member, UnionID: unionid})
			fxExec(t, db, `INSERT INTO wecom_group_members (chat_id, user_id, type, unionid, joined_at, updated_at) VALUES ('wrG', ?, 2, ?, ?, ?)`,
				"wm"+member, unionid, at, at)
		}
		join("old", "u-old", now.Add(-72*time.Hour))
		join("new1", "u-new1", now.Add(-time.Hour))
		join("new2", "u-new2", now.Add(-2*time.Hour))
		tpl, _ := w.cpn.CreateTemplate(ctx, "staff", community.CouponTemplateInput{Name: "入群礼", Kind: community.CouponNoThreshold,
			AmountOff: 500, ValidDays: 7, TotalStock: 100, PerMemberLimit: 5})
		if _, err := w.cmp.SetJourney(ctx, "staff", community.JourneyGroupWelcome, true, community.JourneyConfig{ChatID: "nope",
			Actions: community.CampaignActions{Coupon: &community.CouponAction{TemplateID: tpl.ID}}}); !errors.Is(err, community.ErrInvalidRule) {
			t.Fatalf("welcome for an unknown group: %v", err)
		}
		j, err := w.cmp.SetJourney(ctx, "staff", community.JourneyGroupWelcome, true, community.JourneyConfig{ChatID: "wrG",
			Actions: community.CampaignActions{Coupon: &community.CouponAction{TemplateID: tpl.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		w.work(t)
		// Ten minutes later one more member joins; only they are welcomed.
		w.clk.Advance(10 * time.Minute)
		join("new3", "u-new3", w.clk.Now().Add(-time.Minute))
		w.work(t)
		runs, err := w.cmp.Runs(ctx, j.CampaignID)
		if err != nil || len(runs) != 2 {
			t.Fatalf("runs = %+v, %v", runs, err)
		}
		if runs[1].Targeted != 2 || runs[0].Targeted != 1 {
			t.Fatalf("welcomed %d then %d members", runs[1].Targeted, runs[0].Targeted)
		}
		for _, m := range []string{"new1", "new2", "new3"} {
			cs, _ := w.cpn.MemberCoupons(ctx, m, "")
			if len(cs) != 1 {
				t.Fatalf("%s holds %d welcome coupons", m, len(cs))
			}
		}
		if cs, _ := w.cpn.MemberCoupons(ctx, "old", ""); len(cs) != 0 {
			t.Fatalf("a member who joined long ago was welcomed: %+v", cs)
		}
	})
}

func TestPaceIsKept(t *testing.T) {
	// The pace lives in Redis; one database is enough.
	w := newCampaignWorld(t, testsupport.DB(t, testsupport.SQLite), func(c *community.CampaignsConfig) {
		c.SubscribeRate = community.Rate{PerSecond: 100, Burst: 10}
		c.Senders = 4
	})
	_, consenting := w.members(t, 90)
	w.campaign(t, community.CampaignActions{Subscribe: couponMessage()}, `{"consented":{"template_id":"`+couponDue+`"}}`)
	start := time.Now()
	w.work(t)
	took := time.Since(start)
	// 60 messages at 100 a second after a burst of 10 take half a second.
	if n := len(w.mp.SentSubscribeMessages()); n != len(consenting) || took < 450*time.Millisecond {
		t.Fatalf("%d messages in %s", n, took)
	}
}
