package payments

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/sandbox/wxpay"
	"github.com/siyu-live/siyu/testsupport"
)

func TestCloseAndReconcile(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		sku := h.product(t, 1000, 10)
		stock := func() int {
			k, err := h.cat.SKU(ctx, sku.ID)
			if err != nil {
				t.Fatal(err)
			}
			return k.Stock
		}
		// Every notification is dropped: only queries can tell.
		if err := h.wx.AddNotifyRule(wxpay.NotifyRule{Drop: true}); err != nil {
			t.Fatal(err)
		}

		unpaid := h.order(t, "m1", sku, 2)
		paidLate := h.order(t, "m1", sku, 1)
		paid := h.order(t, "m2", sku, 3)
		cancelled := h.order(t, "m3", sku, 1)
		h.payInSandbox(t, paidLate)
		h.payInSandbox(t, paid)
		if stock() != 3 {
			t.Fatalf("stock %d, want 3", stock())
		}

		// Cancelling an unpaid order closes it there and here.
		o, err := h.svc.Cancel(ctx, "m3", cancelled.Order.ID)
		if err != nil || o.Status != StatusClosed {
			t.Fatalf("cancel: %+v %v", o, err)
		}
		if _, err := h.svc.Cancel(ctx, "m1", cancelled.Order.ID); !errors.Is(err, ErrOrderNotFound) {
			t.Fatalf("another member cancelling: %v", err)
		}
		if wx, _ := h.wx.Order(cancelled.Order.OutTradeNo); wx.TradeState != wxpay.StateClosed {
			t.Fatalf("sandbox state %s", wx.TradeState)
		}
		// Cancelling an order paid meanwhile makes it paid.
		if _, err := h.svc.Cancel(ctx, "m2", paid.Order.ID); !errors.Is(err, ErrNotCancellable) {
			t.Fatalf("cancel a paid order: %v", err)
		}
		if s := h.status(t, paid.Order.ID).Status; s != StatusPaid {
			t.Fatalf("paid order is %s", s)
		}

		// Reconciliation before PendingAfter leaves orders alone.
		if n, err := h.svc.ReconcileOrders(ctx, 100); err != nil || n != 0 {
			t.Fatalf("early reconcile changed %d: %v", n, err)
		}
		// Past the expiry the sweeper closes the unpaid one, and the one
		// paid with its notification lost becomes paid, not closed.
		h.clk.Add(16 * time.Minute)
		n, err := h.svc.CloseExpiredOrders(ctx, 100)
		if err != nil || n != 2 {
			t.Fatalf("sweep handled %d: %v", n, err)
		}
		if s := h.status(t, unpaid.Order.ID); s.Status != StatusClosed || s.ClosedAt == nil {
			t.Fatalf("unpaid order %+v", s)
		}
		if s := h.status(t, paidLate.Order.ID).Status; s != StatusPaid {
			t.Fatalf("paid-late order is %s, want paid", s)
		}
		if stock() != 6 {
			t.Fatalf("stock %d after closing 3 units, want 6", stock())
		}
		// The delayed task running again changes nothing.
		if err := h.svc.CloseExpired(ctx, unpaid.Order.ID); err != nil || stock() != 6 {
			t.Fatalf("second close: %v, stock %d", err, stock())
		}
		if _, err := h.svc.Pay(ctx, "m1", unpaid.Order.ID); !errors.Is(err, ErrNotPayable) {
			t.Fatalf("paying a closed order: %v", err)
		}
	})
}

// TestReconcileWithoutNotifications drops every notification: the
// reconciliation still marks the paid orders paid and leaves the others.
func TestReconcileWithoutNotifications(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		sku := h.product(t, 1000, 100)
		if err := h.wx.AddNotifyRule(wxpay.NotifyRule{Drop: true}); err != nil {
			t.Fatal(err)
		}
		var paid, unpaid []string
		for i := range 10 {
			r := h.order(t, "m1", sku, 1)
			if i%3 == 0 {
				unpaid = append(unpaid, r.Order.ID)
				continue
			}
			h.payInSandbox(t, r)
			paid = append(paid, r.Order.ID)
		}
		for _, n := range h.wx.Notifications() {
			if n.Status != wxpay.NotifyDropped {
				t.Fatalf("notification %s is %s", n.ID, n.Status)
			}
		}
		h.clk.Add(4 * time.Minute)
		n, err := h.svc.ReconcileOrders(ctx, 100)
		if err != nil || n != len(paid) {
			t.Fatalf("reconciled %d: %v, want %d", n, err, len(paid))
		}
		for _, id := range paid {
			if s := h.status(t, id).Status; s != StatusPaid {
				t.Fatalf("order %s is %s", id, s)
			}
		}
		for _, id := range unpaid {
			if s := h.status(t, id).Status; s != StatusPending {
				t.Fatalf("unpaid order %s is %s", id, s)
			}
		}
		if n, err := h.svc.ReconcileOrders(ctx, 100); err != nil || n != 0 {
			t.Fatalf("second reconcile changed %d: %v", n, err)
		}
	})
}
