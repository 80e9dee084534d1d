package payments

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/testsupport"
)

func TestCommissionsAndShipping(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		h.member.inviters["m1"] = "inviter-1"
		h.shows.m["show-1"] = ShowStatus{Live: true, HostID: "host-1"}
		sku := h.product(t, 10000, 10)
		r, err := h.svc.Checkout(ctx, "m1", "k", CheckoutRequest{Items: []catalog.Line{{SKUID: sku.ID, Quantity: 1}}, ShowID: "show-1", Address: addr})
		if err != nil {
			t.Fatal(err)
		}
		if r.Order.InviterID != "inviter-1" || r.Order.HostID != "host-1" {
			t.Fatalf("attribution %+v", r.Order)
		}
		h.payInSandbox(t, r)
		eventually(t, 5*time.Second, "paid", func() bool { return h.status(t, r.Order.ID).Status == StatusPaid })
		// The payment wrote its accruals; the task queued by an older
		// version, run again, changes nothing.
		entries, err := h.svc.CommissionEntries(ctx, r.Order.ID, "")
		if err != nil || len(entries) != 2 {
			t.Fatalf("entries with the payment %+v %v", entries, err)
		}
		for range 2 {
			if err := h.svc.AccrueCommissions(ctx, r.Order.ID); err != nil {
				t.Fatal(err)
			}
		}
		entries, err = h.svc.CommissionEntries(ctx, r.Order.ID, "")
		if err != nil || len(entries) != 2 {
			t.Fatalf("entries %+v %v", entries, err)
		}
		want := map[string]int64{BeneficiaryHost: 300, BeneficiaryInviter: 500}
		for _, e := range entries {
			if e.Amount != want[e.BeneficiaryKind] || e.Status != CommissionPending {
				t.Fatalf("entry %+v", e)
			}
		}

		// Shipping: the upload fails once, is recorded, then succeeds.
		if _, err := h.svc.Ship(ctx, "staff-1", r.Order.ID, "", "1"); !errors.Is(err, ErrInvalidShipment) {
			t.Fatalf("no carrier: %v", err)
		}
		o, err := h.svc.Ship(ctx, "staff-1", r.Order.ID, "SF", "SF1234567890")
		if err != nil || o.Status != StatusShipped {
			t.Fatalf("ship %+v %v", o, err)
		}
		h.ship.fails = 1
		if err := h.svc.UploadShipping(ctx, o.ID); err == nil {
			t.Fatal("a failed upload reported success")
		}
		if err := h.svc.UploadShipping(ctx, o.ID); err != nil {
			t.Fatal(err)
		}
		if err := h.svc.UploadShipping(ctx, o.ID); err != nil || len(h.ship.got) != 1 {
			t.Fatalf("uploads %d %v, want 1", len(h.ship.got), err)
		}
		up := h.ship.got[0]
		if up.OutTradeNo != o.OutTradeNo || up.OpenID != "o_m1" || up.Carrier != "SF" || up.ReceiverContact != "138****8000" {
			t.Fatalf("upload %+v", up)
		}
		if !h.status(t, o.ID).ShippingUploaded {
			t.Fatal("upload not recorded")
		}

		// A partial refund reverses its share; the rest a full refund.
		rf, err := h.svc.IssueRefund(ctx, "staff-1", o.ID, "少发", 4000)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.svc.SubmitRefund(ctx, rf.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "refund", func() bool { got, _ := h.svc.RefundByID(ctx, rf.ID); return got.Status == RefundSucceeded })
		for range 2 {
			if err := h.svc.ReverseCommissions(ctx, rf.ID); err != nil {
				t.Fatal(err)
			}
		}
		report, err := h.svc.CommissionReport(ctx, time.Time{}, time.Time{}, "")
		if err != nil || len(report) != 2 {
			t.Fatalf("report %+v %v", report, err)
		}
		for _, l := range report {
			if l.Reversed != want[l.BeneficiaryKind]*4/10 || l.Net != want[l.BeneficiaryKind]*6/10 || l.Orders != 1 {
				t.Fatalf("line %+v", l)
			}
		}
		rf2, err := h.svc.IssueRefund(ctx, "staff-1", o.ID, "全退", 0)
		if err != nil || rf2.Amount != 6000 {
			t.Fatalf("rest %+v %v", rf2, err)
		}
		if err := h.svc.SubmitRefund(ctx, rf2.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "refund", func() bool { got, _ := h.svc.RefundByID(ctx, rf2.ID); return got.Status == RefundSucceeded })
		if err := h.svc.ReverseCommissions(ctx, rf2.ID); err != nil {
			t.Fatal(err)
		}
		report, _ = h.svc.CommissionReport(ctx, time.Time{}, time.Time{}, "show-1")
		for _, l := range report {
			if l.Net != 0 || l.Pending != 0 {
				t.Fatalf("after a full refund %+v", l)
			}
		}
		// Past the refund window the ledger settles.
		h.clk.Add(8 * 24 * time.Hour)
		if n, err := h.svc.SettleCommissions(ctx); err != nil || n != 6 {
			t.Fatalf("settled %d %v, want 6", n, err)
		}
	})
}
