package wxpay

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// placeOrder makes a prepay through the API and returns its prepay_id.
func placeOrder(t *testing.T, s *Server, outTradeNo string, total int64) string {
	t.Helper()
	resp := call(t, s, http.MethodPost, "/v3/pay/transactions/jsapi", prepayBody(s, outTradeNo, total))
	defer resp.Body.Close()
	var out struct {
		PrepayID string `json:"prepay_id"`
	}
	if resp.StatusCode != http.StatusOK {
		_, code, msg := apiErr(t, resp)
		t.Fatalf("prepay %s: %d %s %s", outTradeNo, resp.StatusCode, code, msg)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.PrepayID
}

func prepayBody(s *Server, outTradeNo string, total int64) map[string]any {
	return map[string]any{
		"appid":        s.cfg.AppID,
		"mchid":        s.cfg.MchID,
		"description":  "私域直播间-秒杀 T恤",
		"out_trade_no": outTradeNo,
		"notify_url":   "https://shop.example.com/pay/notify",
		"amount":       map[string]any{"total": total, "currency": "CNY"},
		"payer":        map[string]any{"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
	}
}

// paidOrder places and pays an order, starting its notification.
func paidOrder(t *testing.T, s *Server, outTradeNo string) Transaction {
	t.Helper()
	tx, err := s.ConfirmPayment(placeOrder(t, s, outTradeNo, 100))
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// TestNotificationVerification: wechatpay-go's notify.Handler, set up as a
// merchant in each mode sets it up, accepts the platform's notification and
// rejects it with any one byte or signed header changed.
func TestNotificationVerification(t *testing.T) {
	for _, mode := range []Mode{ModePublicKey, ModeCertificate, ModeMigrating} {
		t.Run(string(mode), func(t *testing.T) {
			m := &merchant{}
			s := newServer(t, Config{Mode: mode}, m)
			h := notifyHandler(t, s, mode)
			paidOrder(t, s, "SY"+digits(12))
			eventually(t, 5*time.Second, "notification", func() bool { return len(m.received()) == 1 })
			got := m.received()[0]
			var content map[string]any
			if _, err := h.ParseNotifyRequest(context.Background(), got.request(), &content); err != nil {
				t.Fatalf("genuine notification refused: %v", err)
			}

			body := string(got.body)
			for _, tc := range []struct {
				name   string
				change func(r *received)
			}{
				{"one byte of the id", func(r *received) { r.body = flip(r.body, strings.Index(body, `"id":"`)+6) }},
				{"the summary", func(r *received) { r.body = []byte(strings.Replace(body, "支付成功", "支付失败", 1)) }},
				{"one byte of the ciphertext", func(r *received) { r.body = flip(r.body, strings.Index(body, `"ciphertext":"`)+20) }},
				{"the timestamp", func(r *received) {
					ts, _ := strconv.ParseInt(r.header.Get("Wechatpay-Timestamp"), 10, 64)
					r.header.Set("Wechatpay-Timestamp", strconv.FormatInt(ts+1, 10))
				}},
				{"the nonce", func(r *received) { r.header.Set("Wechatpay-Nonce", nonce()) }},
				{"the serial", func(r *received) { r.header.Set("Wechatpay-Serial", "PUB_KEY_ID_0000") }},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := received{header: got.header.Clone(), body: append([]byte(nil), got.body...)}
					tc.change(&r)
					var content map[string]any
					if _, err := h.ParseNotifyRequest(context.Background(), r.request(), &content); err == nil {
						t.Fatal("tampered notification accepted")
					}
				})
			}
		})
	}
}

// flip changes the character at i to a different one of the same kind,
// so the body stays well-formed JSON.
func flip(b []byte, i int) []byte {
	out := append([]byte(nil), b...)
	if out[i] == 'a' {
		out[i] = 'b'
	} else if out[i] >= '0' && out[i] <= '9' {
		out[i] = '0' + (out[i]-'0'+1)%10
	} else {
		out[i] = 'a'
	}
	return out
}

// TestProbe: the WECHATPAY/SIGNTEST/ probe is refused by a merchant that
// verifies and recorded as accepted by one that does not, and it carries a
// decryptable resource that claims success even for an unpaid order.
func TestProbe(t *testing.T) {
	for _, tc := range []struct {
		name     string
		verifies bool
		wantOK   bool
	}{
		{"merchant verifies", true, false},
		{"merchant does not verify", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &merchant{}
			s := newServer(t, Config{}, m)
			h := notifyHandler(t, s, ModePublicKey)
			if tc.verifies {
				m.handler = h
			}
			no := "SY" + digits(12)
			placeOrder(t, s, no, 100)
			n, err := s.Probe(no)
			if err != nil {
				t.Fatal(err)
			}
			if n.Status != NotifyProbe || !n.Probe || len(n.Attempts) != 1 || n.Attempts[0].OK != tc.wantOK {
				t.Fatalf("probe: %+v", n)
			}
			got := m.received()
			if len(got) != 1 || !strings.HasPrefix(got[0].header.Get("Wechatpay-Signature"), "WECHATPAY/SIGNTEST/") {
				t.Fatalf("probe as received: %+v", got)
			}
			var content map[string]any
			if _, err := h.ParseNotifyRequest(context.Background(), got[0].request(), &content); err == nil {
				t.Fatal("notify.Handler accepted the probe")
			}
			var env struct {
				Resource sealed `json:"resource"`
			}
			if err := json.Unmarshal(got[0].body, &env); err != nil {
				t.Fatal(err)
			}
			plain, err := utils.DecryptAES256GCM(s.Credentials().APIv3Key, env.Resource.AssociatedData, env.Resource.Nonce, env.Resource.Ciphertext)
			if err != nil || !strings.Contains(plain, `"trade_state":"SUCCESS"`) {
				t.Fatalf("probe resource %q: %v", plain, err)
			}
			// The probe changes nothing and is never retried.
			time.Sleep(50 * time.Millisecond)
			if o, _ := s.Order(no); o.TradeState != StateNotPay || len(m.received()) != 1 {
				t.Fatalf("after probe: %s, %d requests", o.TradeState, len(m.received()))
			}
		})
	}
}

// TestAcknowledgement: only 200 and 204 acknowledge a notification.
func TestAcknowledgement(t *testing.T) {
	for _, tc := range []struct {
		status int
		ok     bool
	}{
		{http.StatusOK, true},
		{http.StatusNoContent, true},
		{http.StatusCreated, false},
		{http.StatusAccepted, false},
		{http.StatusBadRequest, false},
		{http.StatusInternalServerError, false},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			m := &merchant{answer: func(n int) int {
				if n == 1 {
					return tc.status
				}
				return http.StatusOK
			}}
			s := newServer(t, Config{}, m)
			paidOrder(t, s, "SY"+digits(12))
			eventually(t, 5*time.Second, "delivery", func() bool { return s.Notifications()[0].Status == NotifyDelivered })
			n := s.Notifications()[0]
			if n.Attempts[0].OK != tc.ok || n.Attempts[0].Status != tc.status {
				t.Fatalf("first attempt %+v", n.Attempts[0])
			}
			if want := map[bool]int{true: 1, false: 2}[tc.ok]; len(n.Attempts) != want {
				t.Fatalf("%d attempts, want %d", len(n.Attempts), want)
			}
		})
	}
}

// TestRetrySchedule: unanswered notifications are retried on the
// documented schedule (scaled), each attempt freshly signed, until the
// merchant answers; then never again.
func TestRetrySchedule(t *testing.T) {
	const scale = 0.001
	m := &merchant{answer: func(n int) int {
		if n <= 4 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	}}
	s := newServer(t, Config{TimeScale: scale}, m)
	paidOrder(t, s, "SY"+digits(12))
	eventually(t, 10*time.Second, "delivery", func() bool { return s.Notifications()[0].Status == NotifyDelivered })
	time.Sleep(100 * time.Millisecond)
	n := s.Notifications()[0]
	if len(n.Attempts) != 5 || len(m.received()) != 5 {
		t.Fatalf("%d attempts, %d requests, want 5", len(n.Attempts), len(m.received()))
	}
	checkGaps(t, n.Attempts, scale)
	nonces := map[string]bool{}
	for _, r := range m.received() {
		nonces[r.header.Get("Wechatpay-Nonce")] = true
		if !strings.Contains(string(r.body), n.ID) {
			t.Errorf("a retry carries another notification")
		}
	}
	if len(nonces) != 5 {
		t.Errorf("retries reuse signatures: %d nonces", len(nonces))
	}
}

// checkGaps checks that attempt i+1 came at least the scaled i-th wait
// after attempt i, and not absurdly later.
func checkGaps(t *testing.T, attempts []Attempt, scale float64) {
	t.Helper()
	schedule := retrySchedule()
	for i := 1; i < len(attempts); i++ {
		want := time.Duration(float64(schedule[i-1]) * scale)
		gap := attempts[i].At.Sub(attempts[i-1].At)
		if gap < want || gap > want+2*time.Second {
			t.Errorf("gap before attempt %d is %v, want %v", i+1, gap, want)
		}
	}
}

// TestRetryGivesUp: a notification never acknowledged is sent 16 times
// (the first delivery and 15 retries, 24h4m unscaled) and then abandoned.
func TestRetryGivesUp(t *testing.T) {
	const scale = 0.00002
	m := &merchant{answer: func(int) int { return http.StatusInternalServerError }}
	s := newServer(t, Config{TimeScale: scale}, m)
	paidOrder(t, s, "SY"+digits(12))
	eventually(t, 20*time.Second, "abandon", func() bool { return s.Notifications()[0].Status == NotifyAbandoned })
	n := s.Notifications()[0]
	if len(n.Attempts) != 16 {
		t.Fatalf("%d attempts, want 16", len(n.Attempts))
	}
	checkGaps(t, n.Attempts, scale)
	time.Sleep(50 * time.Millisecond)
	if got := len(m.received()); got != 16 {
		t.Fatalf("%d requests after giving up, want 16", got)
	}
}

// TestNotifyTimeout: an answer slower than NotifyTimeout counts as none.
func TestNotifyTimeout(t *testing.T) {
	m := &merchant{answer: func(n int) int {
		if n == 1 {
			time.Sleep(100 * time.Millisecond)
		}
		return http.StatusOK
	}}
	s := newServer(t, Config{NotifyTimeout: 20 * time.Millisecond}, m)
	paidOrder(t, s, "SY"+digits(12))
	eventually(t, 5*time.Second, "delivery", func() bool { return s.Notifications()[0].Status == NotifyDelivered })
	a := s.Notifications()[0].Attempts
	if len(a) != 2 || a[0].OK || a[0].Status != 0 || !strings.Contains(a[0].Answer, "deadline") {
		t.Fatalf("attempts %+v", a)
	}
}

// TestNotifyFaults covers Drop, Copies, Delay and Tamper rules.
func TestNotifyFaults(t *testing.T) {
	t.Run("drop", func(t *testing.T) {
		m := &merchant{}
		s := newServer(t, Config{}, m)
		if err := s.AddNotifyRule(NotifyRule{EventType: "TRANSACTION.", Drop: true, Times: 1}); err != nil {
			t.Fatal(err)
		}
		first, second := "SY"+digits(12), "SY"+digits(12)
		paidOrder(t, s, first)
		paidOrder(t, s, second)
		eventually(t, 5*time.Second, "second delivered", func() bool { return s.Notifications()[1].Status == NotifyDelivered })
		ns := s.Notifications()
		if ns[0].Status != NotifyDropped || len(ns[0].Attempts) != 0 || ns[0].OutTradeNo != first {
			t.Fatalf("dropped: %+v", ns[0])
		}
		if got := m.received(); len(got) != 1 || !strings.Contains(string(got[0].body), ns[1].ID) {
			t.Fatalf("merchant got %d notifications", len(got))
		}
		if len(s.NotifyRules()) != 0 {
			t.Fatalf("rule not used up: %+v", s.NotifyRules())
		}
	})

	t.Run("copies arrive at once", func(t *testing.T) {
		const copies = 3
		var arrived sync.WaitGroup
		arrived.Add(copies)
		all := make(chan struct{})
		go func() { arrived.Wait(); close(all) }()
		m := &merchant{answer: func(int) int {
			arrived.Done()
			// Only copies sent concurrently all get past this barrier.
			select {
			case <-all:
				return http.StatusOK
			case <-time.After(2 * time.Second):
				return http.StatusInternalServerError
			}
		}}
		s := newServer(t, Config{}, m)
		if err := s.AddNotifyRule(NotifyRule{Copies: copies, Times: 1}); err != nil {
			t.Fatal(err)
		}
		paidOrder(t, s, "SY"+digits(12))
		eventually(t, 5*time.Second, "delivery", func() bool { return s.Notifications()[0].Status == NotifyDelivered })
		n := s.Notifications()[0]
		if len(n.Attempts) != copies {
			t.Fatalf("%d attempts, want %d", len(n.Attempts), copies)
		}
		for _, a := range n.Attempts {
			if !a.OK || a.Number != 1 {
				t.Errorf("copy %+v", a)
			}
		}
		for _, r := range m.received() {
			if !strings.Contains(string(r.body), n.ID) {
				t.Errorf("a copy is another notification")
			}
		}
	})

	t.Run("delay", func(t *testing.T) {
		m := &merchant{}
		s := newServer(t, Config{}, m)
		if err := s.AddNotifyRule(NotifyRule{Delay: 150 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		paidOrder(t, s, "SY"+digits(12))
		eventually(t, 5*time.Second, "delivery", func() bool { return s.Notifications()[0].Status == NotifyDelivered })
		if at := s.Notifications()[0].Attempts[0].At; at.Sub(start) < 150*time.Millisecond {
			t.Fatalf("delivered after %v", at.Sub(start))
		}
	})

	t.Run("tamper", func(t *testing.T) {
		m := &merchant{}
		s := newServer(t, Config{TimeScale: 0.00002}, m)
		m.handler = notifyHandler(t, s, ModePublicKey)
		if err := s.AddNotifyRule(NotifyRule{Tamper: true, Times: 1}); err != nil {
			t.Fatal(err)
		}
		paidOrder(t, s, "SY"+digits(12))
		eventually(t, 20*time.Second, "abandon", func() bool { return s.Notifications()[0].Status == NotifyAbandoned })
		for _, a := range s.Notifications()[0].Attempts {
			if a.OK || a.Status != http.StatusUnauthorized {
				t.Fatalf("tampered attempt answered %+v", a)
			}
		}
		if m.rejections() != 16 {
			t.Fatalf("merchant rejected %d, want 16", m.rejections())
		}
	})

	t.Run("bad rule", func(t *testing.T) {
		s := newServer(t, Config{}, nil)
		if err := s.AddNotifyRule(NotifyRule{Copies: -1}); err == nil {
			t.Fatal("negative copies accepted")
		}
	})
}

// TestReorder: ReorderNext holds notifications and sends them newest first.
func TestReorder(t *testing.T) {
	m := &merchant{}
	s := newServer(t, Config{}, m)
	s.ReorderNext(3)
	nos := []string{"SY" + digits(12), "SY" + digits(12), "SY" + digits(12)}
	paidOrder(t, s, nos[0])
	paidOrder(t, s, nos[1])
	if ns := s.Notifications(); ns[0].Status != NotifyHeld || ns[1].Status != NotifyHeld || len(m.received()) != 0 {
		t.Fatalf("not held: %+v", ns)
	}
	paidOrder(t, s, nos[2])
	eventually(t, 5*time.Second, "three deliveries", func() bool { return len(m.received()) == 3 })
	ns := s.Notifications()
	for i, r := range m.received() {
		want := ns[2-i]
		if !strings.Contains(string(r.body), want.ID) {
			t.Fatalf("delivery %d is not %s's notification", i+1, want.OutTradeNo)
		}
	}

	// ReleaseHeld sends what is held early.
	s.ReorderNext(5)
	paidOrder(t, s, "SY"+digits(12))
	s.ReleaseHeld()
	eventually(t, 5*time.Second, "released", func() bool { return len(m.received()) == 4 })
}

// TestRefundWithoutNotifyURL: nothing is sent for a refund that named no
// notify_url, and the inspection list says so.
func TestRefundWithoutNotifyURL(t *testing.T) {
	m := &merchant{}
	s := newServer(t, Config{ManualRefunds: true}, m)
	no := "SY" + digits(12)
	paidOrder(t, s, no)
	resp := call(t, s, http.MethodPost, "/v3/refund/domestic/refunds", map[string]any{
		"out_trade_no": no, "out_refund_no": "RF" + no,
		"amount": map[string]any{"refund": 100, "total": 100, "currency": "CNY"},
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatal(apiErr(t, resp))
	}
	if _, err := s.SettleRefund("RF"+no, RefundSuccess); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "payment delivered", func() bool { return len(m.received()) == 1 })
	ns := notificationsOf(s, "REFUND.SUCCESS")
	if len(ns) != 1 || ns[0].Status != NotifyNoURL {
		t.Fatalf("refund notifications %+v", ns)
	}
	time.Sleep(30 * time.Millisecond)
	if len(m.received()) != 1 {
		t.Fatal("a refund notification without notify_url was sent")
	}
}
