package payments

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/testsupport"
)

func TestCheckout(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		sku := h.product(t, 12800, 5)
		if _, err := h.cat.SetLineup(ctx, "staff-1", "show-1", []catalog.LineupEntry{{SKUID: sku.ID, LivePrice: 9900}}); err != nil {
			t.Fatal(err)
		}
		h.shows.m["show-1"] = ShowStatus{Live: true, HostID: "host-1"}
		h.shows.m["show-2"] = ShowStatus{Live: false, HostID: "host-2"}
		req := CheckoutRequest{Items: []catalog.Line{{SKUID: sku.ID, Quantity: 1}, {SKUID: sku.ID, Quantity: 1}}, ShowID: "show-1", Address: addr}

		first, err := h.svc.Checkout(ctx, "m1", "k1", req)
		if err != nil {
			t.Fatal(err)
		}
		o := first.Order
		if o.Total != 19800 || o.ItemsTotal != 19800 || len(o.Items) != 1 || o.Items[0].Quantity != 2 || o.HostID != "host-1" ||
			o.Status != StatusPending || len(o.OutTradeNo) != 32 || first.Pay.SignType != "RSA" || first.Pay.PaySign == "" {
			t.Fatalf("order %+v pay %+v", o, first.Pay)
		}
		wx, err := h.wx.Order(o.OutTradeNo)
		if err != nil || wx.Amount.Total != 19800 || wx.TradeState != "NOTPAY" || wx.NotifyURL != notifyURL {
			t.Fatalf("sandbox order %+v %v", wx, err)
		}

		for _, tc := range []struct {
			name   string
			member string
			key    string
			req    CheckoutRequest
			want   error
			same   bool
		}{
			{"same key, same body", "m1", "k1", req, nil, true},
			{"same key, other body", "m1", "k1", CheckoutRequest{Items: req.Items[:1], ShowID: "show-1", Address: addr}, ErrIdempotencyKeyReused, false},
			{"no key", "m1", "", req, ErrIdempotencyKeyRequired, false},
			{"coupon", "m1", "k2", CheckoutRequest{Items: req.Items, CouponID: "c1", Address: addr}, ErrCouponNotApplicable, false},
			{"no items", "m1", "k3", CheckoutRequest{Address: addr}, ErrInvalidOrder, false},
			{"no address", "m1", "k4", CheckoutRequest{Items: req.Items}, ErrInvalidAddress, false},
			{"too many", "m1", "k5", CheckoutRequest{Items: []catalog.Line{{SKUID: sku.ID, Quantity: 4}}, Address: addr}, catalog.ErrOutOfStock, false},
			{"unknown SKU", "m1", "k6", CheckoutRequest{Items: []catalog.Line{{SKUID: "nope", Quantity: 1}}, Address: addr}, catalog.ErrSKUNotFound, false},
			{"unknown show", "m1", "k7", CheckoutRequest{Items: req.Items, ShowID: "show-x", Address: addr}, ErrShowNotFound, false},
			{"other member, same key", "m2", "k1", req, nil, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r, err := h.svc.Checkout(ctx, tc.member, tc.key, tc.req)
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				if tc.same && (r.Order.ID != o.ID || r.Pay != first.Pay) {
					t.Fatalf("a repeated key answered %+v, first %+v", r, first)
				}
				if err == nil && !tc.same && r.Order.ID == o.ID {
					t.Fatal("another member's key reused the order")
				}
			})
		}
		left, _ := h.cat.SKU(ctx, sku.ID)
		if left.Stock != 1 {
			t.Fatalf("stock %d after two orders of 2, want 1", left.Stock)
		}

		// A show that is not live sells at list price.
		r, err := h.svc.Checkout(ctx, "m3", "k1", CheckoutRequest{Items: []catalog.Line{{SKUID: sku.ID, Quantity: 1}}, ShowID: "show-2", Address: addr})
		if err != nil || r.Order.Total != 12800 {
			t.Fatalf("not live: %+v %v", r.Order, err)
		}
	})
}

// TestCheckoutConcurrentKey sends one key ten times at once: one order,
// one answer.
func TestCheckoutConcurrentKey(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		sku := h.product(t, 500, 100)
		req := CheckoutRequest{Items: []catalog.Line{{SKUID: sku.ID, Quantity: 1}}, Address: addr}
		var wg sync.WaitGroup
		got := make([]Receipt, 10)
		errs := make([]error, 10)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = h.svc.Checkout(context.Background(), "m1", "same", req)
			}()
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil {
				t.Fatalf("request %d: %v", i, errs[i])
			}
			if got[i].Order.ID != got[0].Order.ID || got[i].Pay != got[0].Pay {
				t.Fatalf("request %d answered differently", i)
			}
		}
		k, _ := h.cat.SKU(context.Background(), sku.ID)
		if k.Stock != 99 {
			t.Fatalf("stock %d, want 99", k.Stock)
		}
	})
}
