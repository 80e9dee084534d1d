package payments

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/sandbox/wxpay"
	"github.com/siyu-live/siyu/testsupport"
)

// TestPaidByNotification pays through the sandbox in every verification
// setup: the signed, encrypted notification reaches the handler, which
// marks the order paid once.
func TestPaidByNotification(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		for _, tc := range []struct {
			name   string
			mode   wxpay.Mode
			verify string
		}{
			{"public key", wxpay.ModePublicKey, VerifyPublicKey},
			{"certificate", wxpay.ModeCertificate, VerifyCertificate},
			{"migrating", wxpay.ModeMigrating, VerifyMigrating},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h := newHarness(t, db, options{mode: tc.mode, verify: tc.verify})
				sku := h.product(t, 2990, 10)
				// Two payments: during a migration they come signed by the
				// public key and by the certificate in turn.
				for range 2 {
					r := h.order(t, "m1", sku, 1)
					h.payInSandbox(t, r)
					eventually(t, 5*time.Second, "order paid", func() bool { return h.status(t, r.Order.ID).Status == StatusPaid })
					o := h.status(t, r.Order.ID)
					if o.TransactionID == "" || o.PaidAt == nil {
						t.Fatalf("paid order %+v", o)
					}
				}
				eventually(t, 5*time.Second, "notifications acknowledged", func() bool {
					for _, n := range h.wx.Notifications() {
						if n.Status != wxpay.NotifyDelivered {
							return false
						}
					}
					return true
				})
				if n := h.rejected(RejectForged); n != 0 {
					t.Fatalf("%v genuine notifications refused as forged", n)
				}
			})
		}
	})
}

// TestNotificationAttacks: duplicates change the order once; tampered,
// foreign-signed, probe, stale and mismatched notifications change
// nothing and are counted.
func TestNotificationAttacks(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		keys, _ := sharedKeys()
		creds := h.wx.Credentials()
		sku := h.product(t, 1000, 50)

		// Five copies of one notification at once.
		h.member.inviters["m1"] = "inviter-1"
		r := h.order(t, "m1", sku, 1)
		if err := h.wx.AddNotifyRule(wxpay.NotifyRule{EventType: "TRANSACTION", Copies: 5, Times: 1}); err != nil {
			t.Fatal(err)
		}
		h.payInSandbox(t, r)
		eventually(t, 5*time.Second, "five copies answered", func() bool {
			ns := h.wx.Notifications()
			return len(ns) == 1 && len(ns[0].Attempts) == 5
		})
		for _, a := range h.wx.Notifications()[0].Attempts {
			if !a.OK {
				t.Fatalf("a copy was answered %d %s", a.Status, a.Answer)
			}
		}
		if o := h.status(t, r.Order.ID); o.Status != StatusPaid {
			t.Fatalf("status %s", o.Status)
		}
		if got := h.rejected(RejectReplay); got != 4 {
			t.Fatalf("replays counted %v, want 4", got)
		}
		n, _ := h.db.NewSelect().Model((*notificationRow)(nil)).Count(ctx)
		accrued, _ := h.db.NewSelect().Model((*commissionRow)(nil)).Where("order_id = ?", r.Order.ID).Count(ctx)
		if n != 1 || accrued != 1 {
			t.Fatalf("notifications stored %d, commissions accrued %d: want one change", n, accrued)
		}

		// Each of these targets a fresh unpaid order and must leave it unpaid.
		other, _ := rsa.GenerateKey(rand.Reader, 2048)
		for _, tc := range []struct {
			name   string
			reason string
			status int
			send   func(r Receipt) int
		}{
			{"tampered byte", RejectForged, http.StatusUnauthorized, func(r Receipt) int {
				if err := h.wx.AddNotifyRule(wxpay.NotifyRule{EventType: "TRANSACTION", Tamper: true, Times: 1}); err != nil {
					t.Fatal(err)
				}
				h.payInSandbox(t, r)
				var first wxpay.Attempt
				eventually(t, 5*time.Second, "tampered delivery", func() bool {
					for _, n := range h.wx.Notifications() {
						if n.OutTradeNo == r.Order.OutTradeNo && len(n.Attempts) > 0 {
							first = n.Attempts[0]
							return true
						}
					}
					return false
				})
				return first.Status
			}},
			{"signed by another key", RejectForged, http.StatusUnauthorized, func(r Receipt) int {
				return deliver(h.notes.Transactions(), notification(t, creds.APIv3Key, other, creds.PublicKeyID, time.Now(), "evt-forged",
					"TRANSACTION.SUCCESS", "transaction", paidResource(creds, r, r.Order.Total)))
			}},
			{"probe", RejectProbe, http.StatusUnauthorized, func(r Receipt) int {
				n, err := h.wx.Probe(r.Order.OutTradeNo)
				if err != nil || len(n.Attempts) != 1 {
					t.Fatalf("probe %+v %v", n, err)
				}
				return n.Attempts[0].Status
			}},
			{"stale", RejectStale, http.StatusUnauthorized, func(r Receipt) int {
				return deliver(h.notes.Transactions(), notification(t, creds.APIv3Key, keys.PublicKey, creds.PublicKeyID, time.Now().Add(-6*time.Minute),
					"evt-stale", "TRANSACTION.SUCCESS", "transaction", paidResource(creds, r, r.Order.Total)))
			}},
			{"amount mismatch", RejectMismatch, http.StatusBadRequest, func(r Receipt) int {
				return deliver(h.notes.Transactions(), notification(t, creds.APIv3Key, keys.PublicKey, creds.PublicKeyID, time.Now(),
					"evt-mismatch", "TRANSACTION.SUCCESS", "transaction", paidResource(creds, r, 1)))
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := h.rejected(tc.reason)
				r := h.order(t, "m2", sku, 1)
				if got := tc.send(r); got != tc.status {
					t.Fatalf("answered %d, want %d", got, tc.status)
				}
				if got := h.rejected(tc.reason) - before; got < 1 {
					t.Fatalf("%s not counted", tc.reason)
				}
				if o := h.status(t, r.Order.ID); o.Status != StatusPending {
					t.Fatalf("status %s, want pending", o.Status)
				}
			})
		}

		// A genuine notification (signed with the platform key) for an
		// order reconciliation already settled changes nothing more.
		r = h.order(t, "m3", sku, 1)
		req := func(id string) *http.Request {
			return notification(t, creds.APIv3Key, keys.PublicKey, creds.PublicKeyID, time.Now(), id, "TRANSACTION.SUCCESS", "transaction", paidResource(creds, r, r.Order.Total))
		}
		if got := deliver(h.notes.Transactions(), req("evt-1")); got != http.StatusNoContent {
			t.Fatalf("genuine hand-made notification answered %d", got)
		}
		before := h.rejected(RejectReplay)
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got := deliver(h.notes.Transactions(), req("evt-1")); got != http.StatusNoContent {
					t.Errorf("replay answered %d", got)
				}
			}()
		}
		wg.Wait()
		if got := h.rejected(RejectReplay) - before; got != 3 {
			t.Fatalf("replays counted %v, want 3", got)
		}
	})
}

// paidResource is the decrypted resource of a TRANSACTION.SUCCESS for r.
func paidResource(c wxpay.Credentials, r Receipt, total int64) map[string]any {
	return map[string]any{
		"appid": c.AppID, "mchid": c.MchID, "out_trade_no": r.Order.OutTradeNo, "transaction_id": "4200000000202601011234567890",
		"trade_type": "JSAPI", "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
		"success_time": time.Now().Format(time.RFC3339), "payer": map[string]string{"openid": "o_" + r.Order.MemberID},
		"amount": map[string]any{"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"},
	}
}
