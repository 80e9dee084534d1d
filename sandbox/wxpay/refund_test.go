package wxpay

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"
)

func refundBody(outTradeNo, outRefundNo string, refund, total int64) map[string]any {
	return map[string]any{
		"out_trade_no":  outTradeNo,
		"out_refund_no": outRefundNo,
		"reason":        "商品已售完",
		"notify_url":    "https://shop.example.com/pay/refund-notify",
		"amount":        map[string]any{"refund": refund, "total": total, "currency": "CNY"},
	}
}

// refundCall posts a refund and returns the status, error code and refund.
func refundCall(t *testing.T, s *Server, body map[string]any) (int, string, Refund) {
	t.Helper()
	resp := call(t, s, http.MethodPost, "/v3/refund/domestic/refunds", body)
	if resp.StatusCode != http.StatusOK {
		status, code, _ := apiErr(t, resp)
		return status, code, Refund{}
	}
	defer resp.Body.Close()
	var rf Refund
	if err := json.NewDecoder(resp.Body).Decode(&rf); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, "", rf
}

// TestRefundRules checks refund creation against the documented rules.
func TestRefundRules(t *testing.T) {
	s := newServer(t, Config{ManualRefunds: true}, nil)
	paid := "SY" + digits(12)
	paidOrder(t, s, paid) // 100 fen
	unpaid := "SY" + digits(12)
	placeOrder(t, s, unpaid, 100)
	closed := "SY" + digits(12)
	placeOrder(t, s, closed, 100)
	apiErr(t, call(t, s, http.MethodPost, "/v3/pay/transactions/out-trade-no/"+closed+"/close", map[string]string{"mchid": s.cfg.MchID}))
	tx, _ := s.Order(paid)

	first := "RF" + digits(10)
	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"unknown order", refundBody("SY000000000000", "RF"+digits(10), 10, 100), 404, "RESOURCE_NOT_EXISTS"},
		{"unpaid order", refundBody(unpaid, "RF"+digits(10), 10, 100), 404, "RESOURCE_NOT_EXISTS"},
		{"closed order", refundBody(closed, "RF"+digits(10), 10, 100), 404, "RESOURCE_NOT_EXISTS"},
		{"more than paid", refundBody(paid, "RF"+digits(10), 101, 100), 400, "INVALID_REQUEST"},
		{"wrong total", refundBody(paid, "RF"+digits(10), 10, 99), 400, "INVALID_REQUEST"},
		{"no currency", func() map[string]any {
			b := refundBody(paid, "RF"+digits(10), 10, 100)
			b["amount"] = map[string]any{"refund": 10, "total": 100}
			return b
		}(), 400, "PARAM_ERROR"},
		{"refund 0", refundBody(paid, "RF"+digits(10), 0, 100), 400, "PARAM_ERROR"},
		{"no out_refund_no", refundBody(paid, "", 10, 100), 400, "PARAM_ERROR"},
		{"out_refund_no of 65", refundBody(paid, "RF"+digits(63), 10, 100), 400, "PARAM_ERROR"},
		{"no order number", func() map[string]any {
			b := refundBody(paid, "RF"+digits(10), 10, 100)
			delete(b, "out_trade_no")
			return b
		}(), 400, "PARAM_ERROR"},
		{"partial 60", refundBody(paid, first, 60, 100), 200, ""},
		{"same out_refund_no again", refundBody(paid, first, 60, 100), 200, ""},
		{"same out_refund_no, other amount", refundBody(paid, first, 50, 100), 400, "INVALID_REQUEST"},
		{"41 more: over the rest", refundBody(paid, "RF"+digits(10), 41, 100), 400, "INVALID_REQUEST"},
		{"by transaction_id, the rest", map[string]any{
			"transaction_id": tx.TransactionID, "out_refund_no": "RF" + digits(10),
			"amount": map[string]any{"refund": 40, "total": 100, "currency": "CNY"},
		}, 200, ""},
		{"fully refunded", refundBody(paid, "RF"+digits(10), 1, 100), 400, "INVALID_REQUEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, _ := refundCall(t, s, tc.body)
			if status != tc.status || code != tc.code {
				t.Fatalf("%d %s, want %d %s", status, code, tc.status, tc.code)
			}
		})
	}

	// The repeated out_refund_no answered the one refund it made.
	_, _, again := refundCall(t, s, refundBody(paid, first, 60, 100))
	if rfs := s.Refunds(); len(rfs) != 2 || again.RefundID != rfs[0].RefundID {
		t.Fatalf("refunds %+v, repeated %+v", rfs, again)
	}
	if o, _ := s.Order(paid); o.TradeState != StateRefund || o.Refunded != 100 {
		t.Fatalf("order after refunds: %+v", o)
	}
}

// TestRefundOutcomes: refunds stay PROCESSING until settled, each outcome
// is notified, a CLOSED refund frees its amount and a settled one is final.
func TestRefundOutcomes(t *testing.T) {
	m := &merchant{}
	s := newServer(t, Config{ManualRefunds: true}, m)
	m.handler = notifyHandler(t, s, ModePublicKey)
	no := "SY" + digits(12)
	paidOrder(t, s, no)
	a, b := "RF"+digits(10), "RF"+digits(10)
	if status, code, rf := refundCall(t, s, refundBody(no, a, 100, 100)); status != 200 || rf.Status != RefundProcessing {
		t.Fatalf("%d %s %+v", status, code, rf)
	}
	time.Sleep(20 * time.Millisecond)
	if rf, _ := s.Refund(a); rf.Status != RefundProcessing || rf.SuccessTime != "" {
		t.Fatalf("manual refund moved by itself: %+v", rf)
	}

	if _, err := s.SettleRefund(a, RefundAbnormal); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SettleRefund(a, RefundClosed); err != nil {
		t.Fatalf("close an abnormal refund: %v", err)
	}
	if _, err := s.SettleRefund(a, RefundSuccess); !errors.Is(err, ErrRefundFinal) {
		t.Fatalf("settle a closed refund: %v", err)
	}
	if _, err := s.SettleRefund(a, "DONE"); !errors.Is(err, ErrBadStatus) {
		t.Fatalf("bad status: %v", err)
	}
	if _, err := s.SettleRefund("RF000", RefundSuccess); !errors.Is(err, ErrUnknownRefund) {
		t.Fatalf("unknown refund: %v", err)
	}
	// The closed refund's 100 fen can be refunded again.
	if status, code, _ := refundCall(t, s, refundBody(no, b, 100, 100)); status != 200 {
		t.Fatalf("refund after close: %d %s", status, code)
	}
	rf, err := s.SettleRefund(b, RefundSuccess)
	if err != nil || rf.SuccessTime == "" {
		t.Fatalf("%+v %v", rf, err)
	}

	eventually(t, 5*time.Second, "four notifications", func() bool {
		ns := s.Notifications()
		if len(ns) != 4 {
			return false
		}
		for _, n := range ns {
			if n.Status != NotifyDelivered {
				return false
			}
		}
		return true
	})
	var events []string
	for _, n := range s.Notifications() {
		events = append(events, n.EventType)
	}
	want := []string{"TRANSACTION.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED", "REFUND.SUCCESS"}
	for i := range want {
		if events[i] != want[i] {
			t.Fatalf("events %v, want %v", events, want)
		}
	}
	var content struct {
		RefundStatus string `json:"refund_status"`
		OutRefundNo  string `json:"out_refund_no"`
		SuccessTime  string `json:"success_time"`
	}
	success := notificationsOf(s, "REFUND.SUCCESS")[0]
	n, err := m.handler.ParseNotifyRequest(context.Background(), m.receivedFor(t, success.ID).request(), &content)
	if err != nil || n.Summary != "退款成功" || content.RefundStatus != RefundSuccess || content.OutRefundNo != b || content.SuccessTime == "" {
		t.Fatalf("refund notification %+v %+v %v", n, content, err)
	}
}

// TestRefundSucceedsAfterDelay: without ManualRefunds a refund succeeds by
// itself after the (scaled) RefundDelay, and not before.
func TestRefundSucceedsAfterDelay(t *testing.T) {
	s := newServer(t, Config{RefundDelay: 100 * time.Second, TimeScale: 0.001}, nil)
	no := "SY" + digits(12)
	paidOrder(t, s, no)
	start := time.Now()
	if status, code, _ := refundCall(t, s, refundBody(no, "RF"+no, 100, 100)); status != 200 {
		t.Fatal(status, code)
	}
	eventually(t, 5*time.Second, "refund success", func() bool {
		rf, _ := s.Refund("RF" + no)
		return rf.Status == RefundSuccess
	})
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Fatalf("succeeded after %v, before RefundDelay", took)
	}
	resp := call(t, s, http.MethodGet, "/v3/refund/domestic/refunds/RF000000", nil)
	if status, code, _ := apiErr(t, resp); status != 404 || code != "RESOURCE_NOT_EXISTS" {
		t.Fatalf("unknown refund: %d %s", status, code)
	}
}

// TestRefundWindow: a year after payment the refund is refused.
func TestRefundWindow(t *testing.T) {
	clk := newClock()
	s := newServer(t, Config{Now: clk.Now, AutoCloseAfter: 400 * 24 * time.Hour}, nil)
	no := "SY" + digits(12)
	paidOrder(t, s, no)
	clk.Add(366 * 24 * time.Hour)
	if status, code, _ := refundCall(t, s, refundBody(no, "RF"+no, 100, 100)); status != 400 || code != "INVALID_REQUEST" {
		t.Fatalf("%d %s", status, code)
	}
}

// TestValidNo checks the merchant-number rules of out_trade_no and
// out_refund_no.
func TestValidNo(t *testing.T) {
	for _, tc := range []struct {
		no       string
		min, max int
		extra    string
		ok       bool
	}{
		{"SY1234", 6, 32, "_-|*", true},
		{"SY123", 6, 32, "_-|*", false},
		{"a_b-c|d*e", 6, 32, "_-|*", true},
		{"RF@1", 1, 64, "_-|*@", true},
		{"RF@1", 6, 32, "_-|*", false},
		{"RF#123", 1, 64, "_-|*@", false},
		{"订单123456", 6, 32, "_-|*", false},
		{"", 1, 64, "_-|*@", false},
	} {
		t.Run(tc.no, func(t *testing.T) {
			if got := validNo(tc.no, tc.min, tc.max, tc.extra); got != tc.ok {
				t.Errorf("validNo(%q, %d, %d, %q) = %v", tc.no, tc.min, tc.max, tc.extra, got)
			}
		})
	}
}
