package analytics_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/analytics"
	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/payments"
	"github.com/siyu-live/siyu/sandbox/wxpay"
	"github.com/siyu-live/siyu/testsupport"
)

// at is a moment of the scripted show, minutes and seconds after it went
// live.
func at(m, s int) time.Duration { return time.Duration(m)*time.Minute + time.Duration(s)*time.Second }

// script is a show played through the real services on a clock the script
// sets, with answers known in advance.
type script struct {
	t      *testing.T
	w      *world
	ctx    context.Context
	live0  time.Time
	showID string
	a, b   catalog.Product
}

func (s *script) to(d time.Duration) { s.w.clk.Set(s.live0.Add(d)) }

func (s *script) must(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
}

// comment posts a comment and runs the moderator, as a worker would a
// moment later, and returns the comment as stored.
func (s *script) comment(member, text string) *live.Comment {
	s.t.Helper()
	c, err := s.w.live.PostComment(s.ctx, s.showID, member, text)
	s.must(err)
	for {
		n, err := s.w.moderator.Pass(s.ctx)
		s.must(err)
		if n == 0 {
			break
		}
	}
	stored := new(live.Comment)
	s.must(s.w.db.NewSelect().Model(stored).Where("id = ?", c.ID).Scan(s.ctx))
	return stored
}

// like adds likes and runs the chat broadcaster's tick, which keeps the
// total on the show.
func (s *script) like(member string, n int) {
	s.t.Helper()
	_, err := s.w.live.Like(s.ctx, s.showID, member, n)
	s.must(err)
	s.must(s.w.broadcast.Tick(s.ctx, s.w.clk.Now()))
}

func (s *script) sample() {
	s.t.Helper()
	_, err := s.w.analytics.SampleShows(s.ctx)
	s.must(err)
}

func (s *script) click(member, productID string) bool {
	s.t.Helper()
	ok, err := s.w.analytics.RecordClick(s.ctx, s.showID, member, productID)
	s.must(err)
	return ok
}

// order checks out lines of the show for member.
func (s *script) order(member, coupon string, lines ...catalog.Line) payments.Receipt {
	s.t.Helper()
	r, err := s.w.payments.Checkout(s.ctx, member, "key-"+member+"-"+s.w.clk.Now().Format("150405"),
		payments.CheckoutRequest{Items: lines, ShowID: s.showID, CouponID: coupon, Address: address})
	s.must(err)
	return r
}

// pay is the shopper confirming wx.requestPayment; the sandbox notifies
// payments, which marks the order paid.
func (s *script) pay(r payments.Receipt) {
	s.t.Helper()
	res, err := s.w.wx.Pay(wxpay.PayRequest{TimeStamp: r.Pay.TimeStamp, NonceStr: r.Pay.NonceStr, Package: r.Pay.Package,
		SignType: r.Pay.SignType, PaySign: r.Pay.PaySign})
	if err != nil || res.ErrMsg != "requestPayment:ok" {
		s.t.Fatalf("pay: %+v %v", res, err)
	}
	eventually(s.t, "order "+r.Order.ID+" paid", func() bool {
		o, err := s.w.payments.Order(s.ctx, r.Order.ID)
		return err == nil && o.Status == payments.StatusPaid
	})
}

func (s *script) session(member, sid string, joined time.Duration, left *time.Duration) {
	s.t.Helper()
	j := s.live0.Add(joined)
	row := &live.ViewerSession{ShowID: s.showID, Identity: member, ParticipantSID: sid, JoinedAt: &j, UpdatedAt: j}
	if left != nil {
		l := s.live0.Add(*left)
		row.LeftAt = &l
	}
	_, err := s.w.db.NewInsert().Model(row).Exec(s.ctx)
	s.must(err)
}

func ptr[T any](v T) *T { return &v }

// play runs the whole show and returns the pulse taken at 6:20.
func (s *script) play() analytics.Pulse {
	ctx, w := s.ctx, s.w
	s.to(-30 * time.Minute)
	for _, m := range []string{"m1", "m2", "m3", "m4", "m5", "m6", "m7"} {
		_, err := w.db.NewInsert().Model(&memberRow{ID: m, OpenID: "o_" + m, Nickname: "N_" + m,
			CreatedAt: s.live0.Add(-24 * time.Hour), UpdatedAt: s.live0.Add(-24 * time.Hour)}).Exec(ctx)
		s.must(err)
	}
	for _, m := range []string{"m2", "m3"} {
		w.dir.inviters[m] = "m1"
		_, err := w.db.NewInsert().Model(&touchRow{ID: "touch-" + m, MemberID: m, InviterID: "m1", ShowID: "", First: true,
			CreatedAt: s.live0.Add(-time.Hour)}).Exec(ctx)
		s.must(err)
	}
	show, err := w.live.CreateShow(ctx, "staff-owner", live.ShowInput{Title: "周五茶会", ScheduledAt: s.live0, HostStaffID: "staff-host"})
	s.must(err)
	s.showID = show.ID
	// The share links named the show: the touches are the show's.
	_, err = w.db.NewUpdate().Model((*touchRow)(nil)).Set("show_id = ?", show.ID).Where("inviter_id = 'm1'").Exec(ctx)
	s.must(err)
	s.a, err = w.catalog.CreateProduct(ctx, "staff-owner", catalog.ProductInput{Title: "高山乌龙"}, []catalog.SKUInput{{Title: "罐装", ListPrice: 10000, Stock: 50}})
	s.must(err)
	s.b, err = w.catalog.CreateProduct(ctx, "staff-owner", catalog.ProductInput{Title: "白毫银针"}, []catalog.SKUInput{{Title: "礼盒", ListPrice: 5000, Stock: 50}})
	s.must(err)
	for _, p := range []catalog.Product{s.a, s.b} {
		_, err = w.catalog.SetPublished(ctx, "staff-owner", p.ID, true)
		s.must(err)
	}
	_, err = w.catalog.SetLineup(ctx, "staff-owner", show.ID, []catalog.LineupEntry{{SKUID: s.a.SKUs[0].ID, LivePrice: 8000}, {SKUID: s.b.SKUs[0].ID, LivePrice: 4000}})
	s.must(err)
	for _, m := range []string{"m2", "m3", "m6", "m7"} {
		_, err = w.live.Reserve(ctx, show.ID, m, nil)
		s.must(err)
	}
	tpl, err := w.coupons.CreateTemplate(ctx, "staff-owner", community.CouponTemplateInput{Name: "直播间立减10元", Kind: community.CouponNoThreshold,
		AmountOff: 1000, ValidDays: 7, TotalStock: 100, PerMemberLimit: 1})
	s.must(err)
	if _, err := w.analytics.RecordClick(ctx, show.ID, "m1", s.a.ID); !errors.Is(err, analytics.ErrNotClickable) {
		s.t.Fatalf("a click before the show = %v, want ErrNotClickable", err)
	}
	for _, c := range []conversionRow{
		{ID: "cv1", Kind: "contact_add", ExternalUserID: "wm1", Target: "zhangsan", Source: "contact_way", ShowID: show.ID, InviterID: "m6"},
		{ID: "cv2", Kind: "group_join", ExternalUserID: "wm2", Target: "wr1", Source: "join_way", ShowID: show.ID, InviterID: "m1"},
		{ID: "cv3", Kind: "group_join", ExternalUserID: "wm3", Target: "wr1", Source: "join_way", ShowID: show.ID},
		{ID: "cv4", Kind: "group_join", ExternalUserID: "wm4", Target: "wr1", Source: "join_way", ShowID: "another-show", InviterID: "m1"},
	} {
		c.OccurredAt, c.CreatedAt = s.live0.Add(time.Hour), s.live0.Add(time.Hour)
		_, err := w.db.NewInsert().Model(&c).Exec(ctx)
		s.must(err)
	}

	s.to(0)
	_, err = w.live.StartShow(ctx, "staff-host", show.ID)
	s.must(err)
	// LiveKit's webhooks would write these sessions as viewers come and go.
	s.session("m1", "PA_1", at(0, 10), ptr(at(12, 10)))
	s.session("m2", "PA_2", at(1, 0), ptr(at(3, 0)))
	s.session("m2", "PA_3", at(3, 0), ptr(at(20, 0))) // a reconnect
	s.session("m3", "PA_4", at(2, 30), ptr(at(2, 50)))
	s.session("m5", "PA_5", at(2, 0), nil)
	s.session("m4", "PA_6", at(5, 0), nil)
	s.session("m6", "PA_7", at(6, 0), ptr(at(8, 0)))
	s.session("staff:staff-host", "PA_8", at(0, 0), nil) // the host is no viewer

	s.to(at(0, 30))
	s.comment("m1", "大家好")
	s.to(at(0, 40))
	s.like("m1", 10)
	s.to(at(0, 50))
	s.sample()
	s.to(at(1, 10))
	s.comment("m2", "主播好")
	s.to(at(1, 20))
	s.like("m2", 30)
	s.to(at(1, 30))
	s.sample()
	s.to(at(1, 40))
	// Each member comments once: the rate limit runs on Redis's clock.
	asked := s.comment("m6", "这个多少钱")
	s.to(at(2, 40))
	s.comment("m3", "=SUM(A1)")
	s.to(at(2, 45))
	o4 := s.order("m3", "", catalog.Line{SKUID: s.b.SKUs[0].ID, Quantity: 2})
	s.to(at(2, 55))
	s.pay(o4)
	s.to(at(4, 0))
	_, err = w.live.PerformAction(ctx, "staff-host", show.ID, live.Action{Type: live.ActionPinProduct, ProductID: s.a.ID})
	s.must(err)
	s.to(at(4, 10))
	if !s.click("m1", s.a.ID) {
		s.t.Fatal("the first click did not count")
	}
	s.to(at(4, 12))
	if s.click("m1", s.a.ID) {
		s.t.Fatal("a second tap within five seconds counted")
	}
	s.to(at(4, 20))
	s.click("m2", s.a.ID)
	if _, err := w.analytics.RecordClick(ctx, show.ID, "m2", "not-in-lineup"); !errors.Is(err, analytics.ErrProductNotInLineup) {
		s.t.Fatalf("a click on a product not sold = %v", err)
	}
	s.to(at(4, 30))
	o1 := s.order("m2", "", catalog.Line{SKUID: s.a.SKUs[0].ID, Quantity: 2})
	s.to(at(4, 40))
	s.pay(o1)
	s.to(at(5, 0))
	drop, err := w.coupons.CreateDrop(ctx, "staff-host", show.ID, community.CouponDropInput{TemplateID: tpl.ID, Quantity: 10, PerMemberLimit: 1, DurationSeconds: 600})
	s.must(err)
	s.to(at(5, 10))
	coupon, err := w.coupons.ClaimDrop(ctx, "m4", show.ID, drop.ID, "tap")
	s.must(err)
	s.to(at(5, 20))
	_, err = w.coupons.ClaimDrop(ctx, "m5", show.ID, drop.ID, "tap")
	s.must(err)
	s.to(at(5, 30))
	if c := s.comment("m4", "加微信看广告"); c.Status != live.CommentHidden {
		s.t.Fatalf("the advert was %s", c.Status)
	}
	s.to(at(5, 40))
	s.click("m4", s.a.ID)
	s.to(at(6, 0))
	o2 := s.order("m4", coupon.ID, catalog.Line{SKUID: s.a.SKUs[0].ID, Quantity: 1}, catalog.Line{SKUID: s.b.SKUs[0].ID, Quantity: 1})
	s.to(at(6, 10))
	s.comment("m5", "要一个")
	s.to(at(6, 20))
	s.like("m5", 25)
	pulse, err := w.analytics.Pulse(ctx, show.ID)
	s.must(err)
	s.to(at(6, 30))
	s.pay(o2)
	s.sample()
	s.to(at(7, 0))
	s.click("m1", s.a.ID)
	s.to(at(7, 30))
	_, err = w.live.PerformAction(ctx, "staff-host", show.ID, live.Action{Type: live.ActionDeleteComment, CommentID: asked.ID})
	s.must(err)
	s.to(at(10, 0))
	sale, err := w.catalog.CreateFlashSale(ctx, "staff-host", catalog.FlashSaleInput{ShowID: show.ID, SKUID: s.b.SKUs[0].ID, Price: 3000,
		Quantity: 5, PerMemberLimit: 1, StartsAt: s.live0.Add(at(10, 0)), EndsAt: s.live0.Add(at(20, 0))})
	s.must(err)
	_, err = w.live.PerformAction(ctx, "staff-host", show.ID, live.Action{Type: live.ActionFlashSale, FlashSaleID: sale.ID})
	s.must(err)
	s.to(at(10, 5))
	s.click("m2", s.b.ID)
	s.to(at(10, 10))
	s.click("m5", s.b.ID)
	s.to(at(10, 20))
	s.order("m5", "", catalog.Line{SKUID: s.b.SKUs[0].ID, Quantity: 1}) // never paid
	s.to(at(64, 50))
	s.like("m4", 5) // after the last sample
	s.to(at(65, 0))
	_, err = w.live.EndShow(ctx, "staff-host", show.ID)
	s.must(err)
	s.to(at(65, 5))
	s.sample()
	return pulse
}

// TestScriptedShow plays a show through the real services (LiveKit's
// webhooks, WeChat logins and WeCom callbacks are written as the rows
// they produce) and checks every figure of the report against the
// answers worked out by hand.
func TestScriptedShow(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		live0 := time.Date(2031, 3, 7, 12, 0, 0, 0, time.UTC)
		s := &script{t: t, w: newWorld(t, db, live0), ctx: context.Background(), live0: live0}
		pulse := s.play()

		t.Run("pulse", func(t *testing.T) {
			got := pulse
			got.At, got.PinnedProductID = time.Time{}, ""
			want := analytics.Pulse{Status: live.StatusLive, CommentsPerMinute: 2, Comments: 6, Likes: 65, ProductClicks: 3,
				Orders: 3, PaidOrders: 2, GMV: 24000}
			if got != want {
				t.Errorf("pulse at 6:20\n got %+v\nwant %+v", got, want)
			}
			if pulse.PinnedProductID != s.a.ID {
				t.Errorf("pinned %q, want %q", pulse.PinnedProductID, s.a.ID)
			}
		})

		t.Run("feed", func(t *testing.T) {
			latest, err := s.w.analytics.CommentsAfter(s.ctx, s.showID, "", 50)
			if err != nil || len(latest) != 5 {
				t.Fatalf("latest comments: %d, %v; want the 5 not deleted", len(latest), err)
			}
			last := latest[len(latest)-1]
			for i := 1; i < len(latest); i++ {
				if latest[i].Seq <= latest[i-1].Seq {
					t.Errorf("latest: %s (stored %d) listed after %s (stored %d)", latest[i].ID, latest[i].Seq, latest[i-1].ID, latest[i-1].Seq)
				}
			}
			// A comment posted before all of them is stored after them (by
			// another replica's moderator), inserted without a number: the
			// database numbers it after the last.
			late := &live.Comment{ID: "0-late", ShowID: s.showID, MemberID: "m1", Nickname: "N_m1", Text: "迟到", Status: live.CommentVisible,
				CreatedAt: live0, StoredAt: live0}
			if _, err := s.w.db.NewInsert().Model(late).Exec(s.ctx); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if _, err := s.w.db.NewDelete().Model(late).WherePK().Exec(s.ctx); err != nil {
					t.Fatal(err)
				}
			}()
			after, err := s.w.analytics.CommentsAfter(s.ctx, s.showID, last.ID, 0)
			if err != nil || len(after) != 1 || after[0].ID != late.ID || after[0].Seq != last.Seq+1 {
				t.Fatalf("after %s (stored %d): %+v, %v; want only the late comment, numbered next", last.ID, last.Seq, after, err)
			}
			end, err := s.w.analytics.FeedEnd(s.ctx, s.showID)
			if err != nil || end != last.Seq+1 {
				t.Fatalf("feed end %d, %v; want %d", end, err, last.Seq+1)
			}
			if next, err := s.w.analytics.CommentsSince(s.ctx, s.showID, end, 0); err != nil || len(next) != 0 {
				t.Fatalf("after the feed's end: %+v, %v", next, err)
			}
		})

		r, err := s.w.analytics.Report(s.ctx, s.showID)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("window", func(t *testing.T) {
			if r.Start == nil || !r.Start.Equal(live0) || r.End == nil || !r.End.Equal(live0.Add(65*time.Minute)) || r.Status != live.StatusEnded {
				t.Errorf("window %v–%v, status %s", r.Start, r.End, r.Status)
			}
		})
		t.Run("audience", func(t *testing.T) {
			watched := []time.Duration{12 * time.Minute, 19 * time.Minute, 20 * time.Second, 60 * time.Minute, 63 * time.Minute, 2 * time.Minute}
			var sum time.Duration
			for _, d := range watched {
				sum += d
			}
			want := analytics.Audience{UniqueViewers: 6, PeakViewers: 5, PeakAt: ptr(live0.Add(6 * time.Minute)),
				AverageWatch: sum / 6, MedianWatch: 15*time.Minute + 30*time.Second,
				WatchHistogram: []analytics.WatchBucket{
					{From: 0, To: time.Minute, Viewers: 1}, {From: time.Minute, To: 5 * time.Minute, Viewers: 1},
					{From: 5 * time.Minute, To: 15 * time.Minute, Viewers: 1}, {From: 15 * time.Minute, To: 30 * time.Minute, Viewers: 1},
					{From: 30 * time.Minute, To: time.Hour, Viewers: 0}, {From: time.Hour, Viewers: 2},
				}}
			if !reflect.DeepEqual(r.Audience, want) {
				t.Errorf("audience\n got %+v\nwant %+v", r.Audience, want)
			}
		})
		t.Run("engagement", func(t *testing.T) {
			want := analytics.Engagement{Comments: 6, CommentsHidden: 1, CommentsDeleted: 1, PeakCommentsPerMinute: 2,
				Likes: 70, PeakLikesPerMinute: 30, ProductClicks: 6, Clickers: 4}
			if r.Engagement != want {
				t.Errorf("engagement\n got %+v\nwant %+v", r.Engagement, want)
			}
		})
		t.Run("minutes", func(t *testing.T) {
			if len(r.Minutes) != 65 {
				t.Fatalf("%d minutes, want 65", len(r.Minutes))
			}
			viewers := []int{1, 2, 4, 3, 3, 4, 5, 5, 4, 4, 4, 4, 4}
			for range 7 {
				viewers = append(viewers, 3)
			}
			for range 45 {
				viewers = append(viewers, 2)
			}
			sparse := func(n int, at map[int]int) []int {
				out := make([]int, n)
				for i, v := range at {
					out[i] = v
				}
				return out
			}
			want := map[string][]int{
				"viewers":     viewers,
				"comments":    sparse(65, map[int]int{0: 1, 1: 2, 2: 1, 5: 1, 6: 1}),
				"likes":       sparse(65, map[int]int{0: 10, 1: 30, 6: 25, 64: 5}),
				"clicks":      sparse(65, map[int]int{4: 2, 5: 1, 7: 1, 10: 2}),
				"orders":      sparse(65, map[int]int{2: 1, 4: 1, 6: 1, 10: 1}),
				"paid_orders": sparse(65, map[int]int{2: 1, 4: 1, 6: 1}),
			}
			got := map[string][]int{}
			for i, m := range r.Minutes {
				if !m.At.Equal(live0.Add(time.Duration(i) * time.Minute)) {
					t.Errorf("minute %d starts %v", i, m.At)
				}
				got["viewers"] = append(got["viewers"], m.Viewers)
				got["comments"] = append(got["comments"], m.Comments)
				got["likes"] = append(got["likes"], int(m.Likes))
				got["clicks"] = append(got["clicks"], m.Clicks)
				got["orders"] = append(got["orders"], m.Orders)
				got["paid_orders"] = append(got["paid_orders"], m.PaidOrders)
			}
			for name, w := range want {
				if !reflect.DeepEqual(got[name], w) {
					t.Errorf("%s per minute\n got %v\nwant %v", name, got[name], w)
				}
			}
		})
		t.Run("sales", func(t *testing.T) {
			want := analytics.Sales{Orders: 4, PaidOrders: 3, Buyers: 4, Payers: 3, GMV: 35000, Discount: 1000, AverageOrder: 11666}
			if r.Sales != want {
				t.Errorf("sales\n got %+v\nwant %+v", r.Sales, want)
			}
			wantProducts := []analytics.ProductStats{
				{ProductID: s.a.ID, Title: "高山乌龙", Clicks: 4, Clickers: 3, Orders: 2, PaidOrders: 2, PaidUnits: 3, PaidAmount: 24000},
				{ProductID: s.b.ID, Title: "白毫银针", Clicks: 2, Clickers: 2, Orders: 3, PaidOrders: 2, PaidUnits: 3, PaidAmount: 12000},
			}
			if !reflect.DeepEqual(r.Products, wantProducts) {
				t.Errorf("products\n got %+v\nwant %+v", r.Products, wantProducts)
			}
		})
		t.Run("funnel, coupons, reservations, wecom", func(t *testing.T) {
			if want := (analytics.Funnel{Viewed: 6, Clicked: 4, Ordered: 4, Paid: 3}); r.Funnel != want {
				t.Errorf("funnel %+v, want %+v", r.Funnel, want)
			}
			if want := (analytics.CouponStats{Drops: 1, Claims: 2, Redemptions: 1, Discount: 1000}); r.Coupons != want {
				t.Errorf("coupons %+v, want %+v", r.Coupons, want)
			}
			if want := (analytics.Reservations{Reserved: 4, Watched: 3}); r.Reservations != want {
				t.Errorf("reservations %+v, want %+v", r.Reservations, want)
			}
			if want := (analytics.WeComStats{Contacts: 1, GroupJoins: 2}); r.WeCom != want {
				t.Errorf("wecom %+v, want %+v", r.WeCom, want)
			}
		})
		t.Run("inviters", func(t *testing.T) {
			want := []analytics.Inviter{
				{MemberID: "m1", Nickname: "N_m1", Arrivals: 2, WeCom: 1, PaidOrders: 2, GMV: 24000},
				{MemberID: "m6", Nickname: "N_m6", WeCom: 1},
			}
			if !reflect.DeepEqual(r.Inviters, want) {
				t.Errorf("inviters\n got %+v\nwant %+v", r.Inviters, want)
			}
		})
		t.Run("markers", func(t *testing.T) {
			want := []analytics.Marker{
				{At: live0.Add(at(4, 0)), Kind: analytics.MarkerPin, Label: "高山乌龙"},
				{At: live0.Add(at(5, 0)), Kind: analytics.MarkerCouponDrop, Label: "直播间立减10元"},
				{At: live0.Add(at(10, 0)), Kind: analytics.MarkerFlashSale, Label: "白毫银针"},
			}
			if len(r.Markers) != len(want) {
				t.Fatalf("markers %+v", r.Markers)
			}
			for i := range want {
				if !r.Markers[i].At.Equal(want[i].At) || r.Markers[i].Kind != want[i].Kind || r.Markers[i].Label != want[i].Label {
					t.Errorf("marker %d = %+v, want %+v", i, r.Markers[i], want[i])
				}
			}
		})
		t.Run("exports", func(t *testing.T) {
			read := func(export func(context.Context, string, *bytes.Buffer) error) [][]string {
				t.Helper()
				var buf bytes.Buffer
				if err := export(s.ctx, s.showID, &buf); err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(buf.String(), "\ufeff") {
					t.Error("no byte order mark")
				}
				rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff"))).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				return rows
			}
			orders := read(func(ctx context.Context, id string, b *bytes.Buffer) error {
				return s.w.analytics.ExportOrders(ctx, id, b)
			})
			if len(orders) != 5 || orders[0][0] != "order_id" {
				t.Fatalf("orders CSV: %v", orders)
			}
			totals := map[string]int{}
			for _, row := range orders[1:] {
				totals[row[3]+" "+row[7]]++
			}
			if want := map[string]int{"paid 80.00": 1, "paid 160.00": 1, "paid 110.00": 1, "pending 40.00": 1}; !reflect.DeepEqual(totals, want) {
				t.Errorf("order statuses and totals %v, want %v", totals, want)
			}
			if orders[1][1] != "2031-03-07 20:02:45" {
				t.Errorf("first order at %q, want Shanghai time 2031-03-07 20:02:45", orders[1][1])
			}
			comments := read(func(ctx context.Context, id string, b *bytes.Buffer) error {
				return s.w.analytics.ExportComments(ctx, id, b)
			})
			if len(comments) != 7 {
				t.Fatalf("comments CSV: %v", comments)
			}
			if comments[4][4] != "'=SUM(A1)" {
				t.Errorf("a formula comment was written as %q", comments[4][4])
			}
			if comments[3][5] != "deleted" || comments[5][5] != "hidden" {
				t.Errorf("comment statuses %q %q", comments[3][5], comments[5][5])
			}
			sessions := read(func(ctx context.Context, id string, b *bytes.Buffer) error {
				return s.w.analytics.ExportSessions(ctx, id, b)
			})
			seconds := map[string]int{}
			for _, row := range sessions[1:] {
				seconds[row[0]] += atoi(t, row[4])
			}
			if want := map[string]int{"m1": 720, "m2": 1140, "m3": 20, "m4": 3600, "m5": 3780, "m6": 120}; !reflect.DeepEqual(seconds, want) {
				t.Errorf("session seconds %v, want %v", seconds, want)
			}
		})
		t.Run("unknown show", func(t *testing.T) {
			if _, err := s.w.analytics.Report(s.ctx, "nope"); !errors.Is(err, analytics.ErrShowNotFound) {
				t.Errorf("report of an unknown show: %v", err)
			}
		})
	})
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(r-'0')
	}
	return n
}
