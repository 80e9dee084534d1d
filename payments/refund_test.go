package payments

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/sandbox/wxpay"
	"github.com/siyu-live/siyu/testsupport"
)

// paidOrder checks out and pays, waiting for the notification.
func (h *harness) paidOrder(t *testing.T, member string, price int64, qty int) Order {
	t.Helper()
	sku := h.product(t, price, 100)
	r := h.order(t, member, sku, qty)
	h.payInSandbox(t, r)
	eventually(t, 5*time.Second, "paid", func() bool { return h.status(t, r.Order.ID).Status == StatusPaid })
	return h.status(t, r.Order.ID)
}

func TestRefundOnce(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		o := h.paidOrder(t, "m1", 5000, 2)

		// Asked for twice at once: one request.
		var wg sync.WaitGroup
		results := make([]error, 2)
		refunds := make([]Refund, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				refunds[i], results[i] = h.svc.RequestRefund(ctx, "m1", o.ID, "不想要了", 0)
			}()
		}
		wg.Wait()
		var rf Refund
		switch {
		case results[0] == nil && errors.Is(results[1], ErrRefundOpen):
			rf = refunds[0]
		case results[1] == nil && errors.Is(results[0], ErrRefundOpen):
			rf = refunds[1]
		default:
			t.Fatalf("two requests: %v / %v", results[0], results[1])
		}
		if rf.Amount != 10000 || rf.Status != RefundRequested || len(rf.OutRefundNo) != 32 {
			t.Fatalf("refund %+v", rf)
		}
		if _, err := h.svc.RequestRefund(ctx, "m2", o.ID, "x", 0); !errors.Is(err, ErrOrderNotFound) {
			t.Fatalf("another member: %v", err)
		}

		// Approved twice at once: one approval.
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[i] = h.svc.ApproveRefund(ctx, "staff-1", rf.ID, 0)
			}()
		}
		wg.Wait()
		if (results[0] == nil) == (results[1] == nil) {
			t.Fatalf("two approvals: %v / %v", results[0], results[1])
		}
		// Submitted three times at once (a retried task): one refund.
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := h.svc.SubmitRefund(ctx, rf.ID); err != nil {
					t.Errorf("submit: %v", err)
				}
			}()
		}
		wg.Wait()
		if got := h.wx.Refunds(); len(got) != 1 || got[0].Amount.Refund != 10000 {
			t.Fatalf("sandbox refunds %+v", got)
		}
		eventually(t, 5*time.Second, "refund settled", func() bool {
			r, _ := h.svc.RefundByID(ctx, rf.ID)
			return r.Status == RefundSucceeded
		})
		got := h.status(t, o.ID)
		if got.Status != StatusRefunded || got.Refunded != got.Total {
			t.Fatalf("order after refund %+v", got)
		}
		if _, err := h.svc.RequestRefund(ctx, "m1", o.ID, "再退一次", 0); !errors.Is(err, ErrNotRefundable) {
			t.Fatalf("refund after full refund: %v", err)
		}
	})
}

// TestPartialRefunds: staff partial refunds, concurrent, never add up to
// more than was paid.
func TestPartialRefunds(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		o := h.paidOrder(t, "m1", 3000, 1)
		var mu sync.Mutex
		var issued int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					r, err := h.svc.IssueRefund(ctx, "staff-1", o.ID, "少发一件", 1000)
					if errors.Is(err, ErrRefundOpen) {
						// Another goroutine's refund is being settled.
						time.Sleep(5 * time.Millisecond)
						continue
					}
					if err == nil {
						mu.Lock()
						issued += r.Amount
						mu.Unlock()
						if err := h.svc.SubmitRefund(ctx, r.ID); err != nil {
							t.Error(err)
						}
						eventually(t, 5*time.Second, "refund settled", func() bool {
							got, _ := h.svc.RefundByID(ctx, r.ID)
							return got.Status == RefundSucceeded
						})
					}
					if err != nil && !errors.Is(err, ErrNotRefundable) && !errors.Is(err, ErrRefundTooLarge) {
						t.Errorf("refund: %v", err)
					}
					return
				}
			}()
		}
		wg.Wait()
		got := h.status(t, o.ID)
		var sandboxed int64
		for _, r := range h.wx.Refunds() {
			sandboxed += r.Amount.Refund
		}
		if issued != 3000 || got.Refunded != 3000 || sandboxed != 3000 || got.Status != StatusRefunded {
			t.Fatalf("issued %d, order refunded %d (%s), sandbox refunded %d; want 3000", issued, got.Refunded, got.Status, sandboxed)
		}
		if _, err := h.svc.IssueRefund(ctx, "staff-1", o.ID, "again", 1); !errors.Is(err, ErrNotRefundable) {
			t.Fatalf("refund beyond the total: %v", err)
		}
	})
}

// TestRefundClosedAndReconciled: a refund WeChat Pay closes frees its
// amount; one whose notification is lost is settled by reconciliation.
func TestRefundClosedAndReconciled(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		o := h.paidOrder(t, "m1", 4000, 1)
		if err := h.wx.AddNotifyRule(wxpay.NotifyRule{EventType: "REFUND", Drop: true}); err != nil {
			t.Fatal(err)
		}
		rf, err := h.svc.IssueRefund(ctx, "staff-1", o.ID, "破损", 1500)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.svc.SubmitRefund(ctx, rf.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "sandbox refund success", func() bool {
			r, err := h.wx.Refund(rf.OutRefundNo)
			return err == nil && r.Status == wxpay.RefundSuccess
		})
		if r, _ := h.svc.RefundByID(ctx, rf.ID); r.Status != RefundProcessing {
			t.Fatalf("with the notification dropped the refund is %s", r.Status)
		}
		h.clk.Add(4 * time.Minute)
		if n, err := h.svc.ReconcileRefunds(ctx, 10); err != nil || n != 1 {
			t.Fatalf("reconcile refunds: %d %v", n, err)
		}
		if got := h.status(t, o.ID); got.Refunded != 1500 || got.Status != StatusPaid {
			t.Fatalf("order %+v", got)
		}
		if _, err := h.svc.IssueRefund(ctx, "staff-1", o.ID, "再退", 2600); !errors.Is(err, ErrRefundTooLarge) {
			t.Fatalf("refund above what is left: %v", err)
		}
	})
}
