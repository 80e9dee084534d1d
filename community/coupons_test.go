package community_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/testsupport"
)

func newCoupons(t *testing.T, db *bun.DB, clk *clock) (*community.Coupons, redis.UniversalClient) {
	t.Helper()
	opt, err := redis.ParseURL(testsupport.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	c, err := community.NewCoupons(community.CouponsConfig{DB: db, Redis: rdb, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return c, rdb
}

func TestCouponTemplateRules(t *testing.T) {
	until := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	ok := community.CouponTemplateInput{Name: "满100减20", Kind: community.CouponThreshold, Threshold: 10000, AmountOff: 2000,
		ValidDays: 7, TotalStock: 10, PerMemberLimit: 1}
	cases := []struct {
		name string
		edit func(*community.CouponTemplateInput)
		msg  string
	}{
		{"no name", func(in *community.CouponTemplateInput) { in.Name = " " }, "name"},
		{"no stock", func(in *community.CouponTemplateInput) { in.TotalStock = 0 }, "total_stock"},
		{"no limit", func(in *community.CouponTemplateInput) { in.PerMemberLimit = 0 }, "per_member_limit"},
		{"no validity", func(in *community.CouponTemplateInput) { in.ValidDays = 0 }, "valid_until, valid_days"},
		{"off above threshold", func(in *community.CouponTemplateInput) { in.AmountOff = 10000 }, "less than the threshold"},
		{"percent out of range", func(in *community.CouponTemplateInput) {
			in.Kind, in.AmountOff, in.Threshold, in.PercentOff = community.CouponPercent, 0, 0, 100
		}, "1 to 99"},
		{"no-threshold with threshold", func(in *community.CouponTemplateInput) { in.Kind = community.CouponNoThreshold }, "no threshold"},
		{"unknown kind", func(in *community.CouponTemplateInput) { in.Kind = "gift" }, "kind must be"},
		{"window backwards", func(in *community.CouponTemplateInput) {
			from := until.Add(time.Hour)
			in.ValidFrom, in.ValidUntil = &from, &until
		}, "after valid_from"},
	}
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		clk := &clock{now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
		c, _ := newCoupons(t, db, clk)
		if _, err := c.CreateTemplate(context.Background(), "s", ok); err != nil {
			t.Fatalf("a good template: %v", err)
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				in := ok
				tc.edit(&in)
				_, err := c.CreateTemplate(context.Background(), "s", in)
				if !errors.Is(err, community.ErrInvalidCoupon) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("got %v; want ErrInvalidCoupon mentioning %q", err, tc.msg)
				}
			})
		}
	})
}

func TestCouponGrantsAndCheckout(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := &clock{now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
		c, _ := newCoupons(t, db, clk)
		for _, id := range []string{"a", "b", "c"} {
			fxAddMember(t, db, fxMember{ID: id})
		}
		tpl, err := c.CreateTemplate(ctx, "s", community.CouponTemplateInput{Name: "满100减20", Kind: community.CouponThreshold,
			Threshold: 10000, AmountOff: 2000, ValidDays: 7, TotalStock: 3, PerMemberLimit: 2})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Grant(ctx, "s", tpl.ID, []string{"a", "a", "a", "b", "c"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range res {
			switch {
			case r.Err() == nil:
				got = append(got, r.MemberID)
			case errors.Is(r.Err(), community.ErrCouponLimitReached):
				got = append(got, r.MemberID+":limit")
			case errors.Is(r.Err(), community.ErrCouponOutOfStock):
				got = append(got, r.MemberID+":stock")
			default:
				t.Fatalf("grant %s: %v", r.MemberID, r.Err())
			}
		}
		if fmt.Sprint(got) != "[a a a:limit b c:stock]" {
			t.Fatalf("grants = %v", got)
		}
		if tpl, _ = c.Template(ctx, tpl.ID); tpl.Issued != 3 {
			t.Fatalf("issued = %d", tpl.Issued)
		}
		mine, err := c.MemberCoupons(ctx, "a", community.CouponAvailable)
		if err != nil || len(mine) != 2 || !mine[0].ExpiresAt.Equal(clk.Now().AddDate(0, 0, 7)) {
			t.Fatalf("a's coupons = %+v, %v", mine, err)
		}
		cp := mine[0].ID

		reserve := func(member, coupon, order string, subtotal int64) (int64, error) {
			var d int64
			err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				var err error
				d, err = c.Reserve(ctx, tx, member, coupon, order, []community.CouponItem{{ProductID: "p-any", Amount: subtotal}})
				return err
			})
			return d, err
		}
		if _, err := reserve("b", cp, "o1", 20000); !errors.Is(err, community.ErrCouponNotFound) {
			t.Fatalf("another member's coupon: %v", err)
		}
		if _, err := reserve("a", cp, "o1", 9999); !errors.Is(err, community.ErrCouponNotApplicable) {
			t.Fatalf("below threshold: %v", err)
		}
		if d, err := reserve("a", cp, "o1", 10000); err != nil || d != 2000 {
			t.Fatalf("reserve = %d, %v", d, err)
		}
		if d, err := reserve("a", cp, "o1", 10000); err != nil || d != 2000 {
			t.Fatalf("reserve again for the same order = %d, %v", d, err)
		}
		if _, err := reserve("a", cp, "o2", 10000); !errors.Is(err, community.ErrCouponNotApplicable) {
			t.Fatalf("a coupon held by an order is used once: %v", err)
		}
		// Closing o1 unpaid gives the coupon back.
		if err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return c.Release(ctx, tx, "a", cp, "o1") }); err != nil {
			t.Fatal(err)
		}
		if _, err := reserve("a", cp, "o2", 10000); err != nil {
			t.Fatalf("reserve after release: %v", err)
		}
		if err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return c.Redeem(ctx, tx, "a", cp, "o2") }); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.MemberCoupon(ctx, "a", cp); got.Status != community.CouponUsed || got.OrderID != "o2" {
			t.Fatalf("after payment: %+v", got)
		}
		if err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return c.Redeem(ctx, tx, "a", cp, "o1") }); !errors.Is(err, community.ErrCouponNotApplicable) {
			t.Fatalf("redeem for another order: %v", err)
		}
		// A full refund returns it; after its expiry it comes back expired.
		clk.Advance(8 * 24 * time.Hour)
		if err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return c.Release(ctx, tx, "a", cp, "o2") }); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.MemberCoupon(ctx, "a", cp); got.Status != community.CouponExpired {
			t.Fatalf("released after expiry: %+v", got)
		}
		if _, err := reserve("a", mine[1].ID, "o3", 50000); !errors.Is(err, community.ErrCouponNotApplicable) {
			t.Fatalf("expired coupon: %v", err)
		}
		if n, err := c.ExpireCoupons(ctx); err != nil || n != 2 {
			t.Fatalf("expire = %d, %v", n, err)
		}

		// Percent off, capped, for some products only.
		pct, err := c.CreateTemplate(ctx, "s", community.CouponTemplateInput{Name: "85折", Kind: community.CouponPercent, PercentOff: 15,
			MaxDiscount: 3000, ValidDays: 30, TotalStock: 10, PerMemberLimit: 1, ProductIDs: []string{"p1"}})
		if err != nil {
			t.Fatal(err)
		}
		res, _ = c.Grant(ctx, "s", pct.ID, []string{"b"})
		if _, err := reserve("b", res[0].CouponID, "o4", 10000); !errors.Is(err, community.ErrCouponNotApplicable) {
			t.Fatalf("product coupon judged on a subtotal: %v", err)
		}
		var d int64
		err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			var err error
			d, err = c.Reserve(ctx, tx, "b", res[0].CouponID, "o4", []community.CouponItem{{ProductID: "p1", Amount: 10000}, {ProductID: "p2", Amount: 90000}})
			return err
		})
		if err != nil || d != 1500 {
			t.Fatalf("percent of the covered line = %d, %v", d, err)
		}
	})
}

func TestCouponDrop(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
		c, _ := newCoupons(t, db, clk)
		fxAddShow(t, db, "live1", "live", clk.Now())
		fxAddShow(t, db, "over", "ended", clk.Now())
		tpl, err := c.CreateTemplate(ctx, "s", community.CouponTemplateInput{Name: "无门槛5元", Kind: community.CouponNoThreshold,
			AmountOff: 500, ValidDays: 3, TotalStock: 100, PerMemberLimit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateDrop(ctx, "s", "over", community.CouponDropInput{TemplateID: tpl.ID, Quantity: 5, PerMemberLimit: 1}); !errors.Is(err, community.ErrShowNotOpen) {
			t.Fatalf("drop in an ended show: %v", err)
		}
		if _, err := c.CreateDrop(ctx, "s", "live1", community.CouponDropInput{TemplateID: tpl.ID, Quantity: 101, PerMemberLimit: 1}); !errors.Is(err, community.ErrCouponOutOfStock) {
			t.Fatalf("drop larger than the stock: %v", err)
		}
		if _, err := c.CreateDrop(ctx, "s", "live1", community.CouponDropInput{TemplateID: tpl.ID, Quantity: 5, PerMemberLimit: 3}); !errors.Is(err, community.ErrInvalidCoupon) {
			t.Fatalf("per-member limit above the template's: %v", err)
		}
		starts := clk.Now().Add(10 * time.Second)
		drop, err := c.CreateDrop(ctx, "s", "live1", community.CouponDropInput{TemplateID: tpl.ID, Quantity: 20, PerMemberLimit: 1, StartsAt: &starts, DurationSeconds: 60})
		if err != nil {
			t.Fatal(err)
		}
		if drop.Remaining != 20 {
			t.Fatalf("remaining = %d", drop.Remaining)
		}
		if tpl, _ = c.Template(ctx, tpl.ID); tpl.Issued != 20 {
			t.Fatalf("allotted = %d", tpl.Issued)
		}
		var rej *community.DropRejected
		if _, err := c.ClaimDrop(ctx, "m0", "live1", drop.ID, ""); !errors.As(err, &rej) || !errors.Is(err, community.ErrDropNotStarted) || rej.RetryAfter() != 10*time.Second {
			t.Fatalf("early claim: %v", err)
		}
		if _, err := c.ClaimDrop(ctx, "m0", "other-show", drop.ID, ""); !errors.Is(err, community.ErrDropNotFound) {
			t.Fatalf("claim through another show: %v", err)
		}
		clk.Advance(10 * time.Second)

		// 50 members try three times each, at once: 20 win, one each.
		var wg sync.WaitGroup
		var won, soldOut, limited atomic.Int64
		for i := 0; i < 50; i++ {
			for try := 0; try < 3; try++ {
				wg.Add(1)
				go func(member string) {
					defer wg.Done()
					_, err := c.ClaimDrop(ctx, member, "live1", drop.ID, "")
					switch {
					case err == nil:
						won.Add(1)
					case errors.Is(err, community.ErrDropSoldOut):
						soldOut.Add(1)
					case errors.Is(err, community.ErrCouponLimitReached):
						limited.Add(1)
					default:
						t.Errorf("claim: %v", err)
					}
				}(fmt.Sprintf("m%02d", i))
			}
		}
		wg.Wait()
		if won.Load() != 20 || won.Load()+soldOut.Load()+limited.Load() != 150 {
			t.Fatalf("won %d, sold out %d, limited %d", won.Load(), soldOut.Load(), limited.Load())
		}
		var coupons, members int
		if err := db.NewRaw("SELECT COUNT(*), COUNT(DISTINCT member_id) FROM coupons WHERE source = 'drop' AND source_id = ?", drop.ID).Scan(ctx, &coupons, &members); err != nil {
			t.Fatal(err)
		}
		if coupons != 20 || members != 20 {
			t.Fatalf("%d coupons for %d members", coupons, members)
		}
		if d, _ := c.Drop(ctx, "live1", drop.ID); d.Remaining != 0 {
			t.Fatalf("remaining after the rush = %d", d.Remaining)
		}
	})
}

func TestCouponDropDrainAndFinish(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
		c, rdb := newCoupons(t, db, clk)
		fxAddShow(t, db, "live1", "live", clk.Now())
		tpl, _ := c.CreateTemplate(ctx, "s", community.CouponTemplateInput{Name: "5元", Kind: community.CouponNoThreshold,
			AmountOff: 500, ValidDays: 3, TotalStock: 10, PerMemberLimit: 1})
		drop, err := c.CreateDrop(ctx, "s", "live1", community.CouponDropInput{TemplateID: tpl.ID, Quantity: 6, PerMemberLimit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ClaimDrop(ctx, "a", "live1", drop.ID, "req-1"); err != nil {
			t.Fatal(err)
		}
		again, err := c.ClaimDrop(ctx, "a", "live1", drop.ID, "req-1")
		if err != nil {
			t.Fatalf("a retried request gets its coupon back: %v", err)
		}
		// The process dies between Redis and the database.
		lost, err := c.ClaimWithoutPersisting(ctx, "b", "live1", drop.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.MemberCoupon(ctx, "b", lost); !errors.Is(err, community.ErrCouponNotFound) {
			t.Fatalf("the lost claim is not in the database yet: %v", err)
		}
		if n, err := c.DrainDrops(ctx); err != nil || n != 1 {
			t.Fatalf("drain = %d, %v", n, err)
		}
		if _, err := c.MemberCoupon(ctx, "b", lost); err != nil {
			t.Fatalf("drained claim: %v", err)
		}
		// Redis forgets the drop; the next claim arms it from the database.
		if err := rdb.FlushDB(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ClaimDrop(ctx, "a", "live1", drop.ID, ""); !errors.Is(err, community.ErrCouponLimitReached) {
			t.Fatalf("a's limit survives Redis losing the drop: %v", err)
		}
		if _, err := c.ClaimDrop(ctx, "c", "live1", drop.ID, ""); err != nil {
			t.Fatal(err)
		}
		if d, _ := c.Drop(ctx, "live1", drop.ID); d.Remaining != 3 {
			t.Fatalf("remaining = %d", d.Remaining)
		}
		if err := c.FinishDrop(ctx, drop.ID); err == nil {
			t.Fatal("a drop finishes only after it ends")
		}
		clk.Advance(2 * time.Minute)
		if _, err := c.ClaimDrop(ctx, "d", "live1", drop.ID, ""); !errors.Is(err, community.ErrDropEnded) {
			t.Fatalf("claim after the end: %v", err)
		}
		for range 2 {
			if err := c.FinishDrop(ctx, drop.ID); err != nil {
				t.Fatal(err)
			}
		}
		d, _ := c.Drop(ctx, "live1", drop.ID)
		tpl, _ = c.Template(ctx, tpl.ID)
		if d.FinishedAt == nil || d.Returned != 3 || tpl.Issued != 3 {
			t.Fatalf("finished drop %+v, issued %d", d, tpl.Issued)
		}
		if again.ID == "" {
			t.Fatal("no coupon id")
		}
	})
}
