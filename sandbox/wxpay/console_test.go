package wxpay

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
)

// consoleDo sends one Console request and decodes the JSON answer into out.
func consoleDo(t *testing.T, h http.Handler, method, path string, body any, out any) int {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewReader(b)))
	if out != nil && rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s answered %q: %v", method, path, rec.Body.String(), err)
		}
	}
	return rec.Code
}

type consoleErr struct {
	ErrMsg string `json:"errMsg"`
	Error  struct {
		Code string `json:"code"`
	} `json:"error"`
}

// TestConsolePay: POST /pay verifies the wx.requestPayment parameters the
// way WeChat does before it acts on them.
func TestConsolePay(t *testing.T) {
	s := newServer(t, Config{}, &merchant{})
	console := s.Console()
	pay := jsapi.JsapiApiService{Client: sdkClient(t, s, withPublicKey)}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	params := func(t *testing.T) (string, PayRequest) {
		req := validPrepay(s, "SY"+digits(12), 100)
		resp, _, err := pay.PrepayWithRequestPayment(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return *req.OutTradeNo, PayRequest{
			PrepayID: *resp.PrepayId, TimeStamp: *resp.TimeStamp, NonceStr: *resp.NonceStr,
			Package: *resp.Package, SignType: *resp.SignType, PaySign: *resp.PaySign,
		}
	}
	for _, tc := range []struct {
		name      string
		change    func(p *PayRequest)
		status    int
		errMsg    string
		code      string
		wantState string
	}{
		{"confirm", func(*PayRequest) {}, 200, "requestPayment:ok", "", StateSuccess},
		{"cancel", func(p *PayRequest) { p.Action = "cancel" }, 200, "requestPayment:fail cancel", "", StateNotPay},
		{"fail", func(p *PayRequest) { p.Action = "fail" }, 200, "requestPayment:fail", "", StatePayError},
		{"paySign changed", func(p *PayRequest) { p.PaySign = string(flip([]byte(p.PaySign), 10)) }, 400, "", "bad_pay_sign", StateNotPay},
		{"timeStamp changed", func(p *PayRequest) {
			ts, _ := strconv.ParseInt(p.TimeStamp, 10, 64)
			p.TimeStamp = strconv.FormatInt(ts+1, 10)
		}, 400, "", "bad_pay_sign", StateNotPay},
		{"signed by another key", func(p *PayRequest) {
			p.PaySign, _ = signSHA256(other, s.cfg.AppID+"\n"+p.TimeStamp+"\n"+p.NonceStr+"\n"+p.Package+"\n")
		}, 400, "", "bad_pay_sign", StateNotPay},
		{"signed for another appid", func(p *PayRequest) {
			p.PaySign, _ = signSHA256(s.keys.MerchantKey, "wx0000000000000000\n"+p.TimeStamp+"\n"+p.NonceStr+"\n"+p.Package+"\n")
		}, 400, "", "bad_pay_sign", StateNotPay},
		{"signType MD5", func(p *PayRequest) { p.SignType = "MD5" }, 400, "", "bad_pay_sign", StateNotPay},
		{"package without prepay_id=", func(p *PayRequest) { p.Package = p.PrepayID }, 400, "", "bad_pay_sign", StateNotPay},
		{"prepay_id and package disagree", func(p *PayRequest) { p.PrepayID = "wx000" }, 400, "", "bad_pay_sign", StateNotPay},
		{"unknown action", func(p *PayRequest) { p.Action = "refund" }, 400, "", "bad_pay_sign", StateNotPay},
	} {
		t.Run(tc.name, func(t *testing.T) {
			no, p := params(t)
			tc.change(&p)
			var got consoleErr
			status := consoleDo(t, console, "POST", "/pay", p, &got)
			if status != tc.status || got.Error.Code != tc.code || (tc.errMsg != "" && got.ErrMsg != tc.errMsg) {
				t.Fatalf("%d %+v", status, got)
			}
			if o, _ := s.Order(no); o.TradeState != tc.wantState {
				t.Fatalf("state %s, want %s", o.TradeState, tc.wantState)
			}
		})
	}

	t.Run("unknown prepay_id", func(t *testing.T) {
		var got consoleErr
		if status := consoleDo(t, console, "POST", "/prepays/wx000/confirm", nil, &got); status != 404 || got.Error.Code != "unknown_prepay" {
			t.Fatalf("%d %+v", status, got)
		}
	})
	t.Run("pay twice", func(t *testing.T) {
		_, p := params(t)
		consoleDo(t, console, "POST", "/pay", p, nil)
		var got consoleErr
		if status := consoleDo(t, console, "POST", "/pay", p, &got); status != 409 || got.Error.Code != "order_paid" {
			t.Fatalf("%d %+v", status, got)
		}
	})
}

// TestConsoleEndpoints exercises the remaining Console endpoints.
func TestConsoleEndpoints(t *testing.T) {
	m := &merchant{}
	s := newServer(t, Config{ManualRefunds: true}, m)
	console := s.Console()
	no := "SY" + digits(12)
	id := placeOrder(t, s, no, 300)

	var failed Transaction
	if status := consoleDo(t, console, "POST", "/prepays/"+id+"/fail", nil, &failed); status != 200 || failed.TradeState != StatePayError {
		t.Fatalf("fail: %d %+v", status, failed)
	}
	if status := consoleDo(t, console, "POST", "/prepays/"+id+"/cancel", nil, nil); status != 200 {
		t.Fatalf("cancel: %d", status)
	}
	var tx Transaction
	if status := consoleDo(t, console, "POST", "/prepays/"+id+"/confirm", nil, &tx); status != 200 || tx.TradeState != StateSuccess || tx.TransactionID == "" {
		t.Fatalf("confirm: %d %+v", status, tx)
	}

	var orders []Order
	if consoleDo(t, console, "GET", "/orders", nil, &orders); len(orders) != 1 || orders[0].OutTradeNo != no || orders[0].PrepayIDs[0] != id {
		t.Fatalf("orders %+v", orders)
	}
	var one Order
	if status := consoleDo(t, console, "GET", "/orders/"+no, nil, &one); status != 200 || one.TransactionID != tx.TransactionID {
		t.Fatalf("order %d %+v", status, one)
	}
	if status := consoleDo(t, console, "GET", "/orders/SY0", nil, nil); status != 404 {
		t.Fatalf("unknown order: %d", status)
	}

	if status, code, _ := refundCall(t, s, refundBody(no, "RF"+no, 300, 300)); status != 200 {
		t.Fatal(status, code)
	}
	var rf Refund
	if status := consoleDo(t, console, "POST", "/refunds/RF"+no+"/settle", map[string]string{"status": "SUCCESS"}, &rf); status != 200 || rf.Status != RefundSuccess {
		t.Fatalf("settle: %d %+v", status, rf)
	}
	if status := consoleDo(t, console, "POST", "/refunds/RF"+no+"/settle", map[string]string{"status": "CLOSED"}, nil); status != 409 {
		t.Fatalf("settle twice: %d", status)
	}
	var rfs []Refund
	if consoleDo(t, console, "GET", "/refunds", nil, &rfs); len(rfs) != 1 || rfs[0].OutRefundNo != "RF"+no {
		t.Fatalf("refunds %+v", rfs)
	}
	if status := consoleDo(t, console, "GET", "/refunds/RF"+no, nil, &rf); status != 200 || rf.RefundID != rfs[0].RefundID {
		t.Fatalf("refund %d %+v", status, rf)
	}

	eventually(t, 5*time.Second, "two deliveries", func() bool {
		ns := s.Notifications()
		return len(ns) == 2 && ns[0].Status == NotifyDelivered && ns[1].Status == NotifyDelivered
	})
	var ns []Notification
	if consoleDo(t, console, "GET", "/notifications", nil, &ns); len(ns) != 2 || ns[0].EventType != "TRANSACTION.SUCCESS" || len(ns[0].Attempts) == 0 {
		t.Fatalf("notifications %+v", ns)
	}

	var probe Notification
	if status := consoleDo(t, console, "POST", "/notifications/probe", map[string]string{"out_trade_no": no}, &probe); status != 200 || !probe.Probe {
		t.Fatalf("probe %d %+v", status, probe)
	}

	var rule NotifyRule
	if status := consoleDo(t, console, "POST", "/notify-faults", NotifyRule{EventType: "REFUND.", Drop: true}, &rule); status != 201 || !rule.Drop {
		t.Fatalf("add rule %d %+v", status, rule)
	}
	if status := consoleDo(t, console, "POST", "/notify-faults", map[string]any{"copies": -2}, nil); status != 400 {
		t.Fatalf("bad rule %d", status)
	}
	var rules []NotifyRule
	if consoleDo(t, console, "GET", "/notify-faults", nil, &rules); len(rules) != 1 {
		t.Fatalf("rules %+v", rules)
	}
	if status := consoleDo(t, console, "DELETE", "/notify-faults", nil, nil); status != 204 || len(s.NotifyRules()) != 0 {
		t.Fatalf("clear %d", status)
	}

	if status := consoleDo(t, console, "POST", "/notify-faults/reorder", map[string]int{"count": 2}, nil); status != 204 {
		t.Fatalf("reorder %d", status)
	}
	paidOrder(t, s, "SY"+digits(12))
	if n := s.Notifications(); n[len(n)-1].Status != NotifyHeld {
		t.Fatalf("not held: %+v", n[len(n)-1])
	}
	if status := consoleDo(t, console, "POST", "/notifications/release", nil, nil); status != 204 {
		t.Fatalf("release %d", status)
	}
	eventually(t, 5*time.Second, "released delivery", func() bool { return len(m.received()) == 4 })

	if status := consoleDo(t, console, "POST", "/faults", map[string]any{"path": "/jsapi", "status": 500, "times": 1}, nil); status != 201 {
		t.Fatalf("fault %d", status)
	}
	if resp := call(t, s, "POST", "/v3/pay/transactions/jsapi", prepayBody(s, "SY"+digits(12), 1)); resp.StatusCode != 500 {
		t.Fatalf("fault not applied: %d", resp.StatusCode)
	}

	if status := consoleDo(t, console, "POST", "/response-probes", map[string]int{"count": 1}, nil); status != 204 {
		t.Fatalf("response probes %d", status)
	}
	resp := call(t, s, "GET", "/v3/pay/transactions/out-trade-no/"+no+"?mchid="+s.cfg.MchID, nil)
	if sig := resp.Header.Get("Wechatpay-Signature"); len(sig) < 19 || sig[:19] != "WECHATPAY/SIGNTEST/" {
		t.Fatalf("response signature %q", sig)
	}

	var settings map[string]string
	consoleDo(t, console, "GET", "/settings", nil, &settings)
	if settings["WECHATPAY_MCH_ID"] != s.cfg.MchID || settings["WECHATPAY_PUBLIC_KEY_ID"] == "" || settings["WECHATPAY_PLATFORM_CERT"] != "" {
		t.Fatalf("settings %v", settings)
	}
	var c Credentials
	consoleDo(t, console, "GET", "/credentials", nil, &c)
	if c != s.Credentials() {
		t.Fatalf("credentials %+v", c)
	}
	if status := consoleDo(t, console, "POST", "/pay", "{", nil); status != 400 {
		t.Fatalf("bad json %d", status)
	}
}

// TestSettingsPerMode: the verification settings follow the mode.
func TestSettingsPerMode(t *testing.T) {
	for _, tc := range []struct {
		mode      Mode
		publicKey bool
	}{
		{ModePublicKey, true},
		{ModeCertificate, false},
		{ModeMigrating, true},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			m := newServer(t, Config{Mode: tc.mode}, nil).Settings()
			if _, ok := m["WECHATPAY_PUBLIC_KEY"]; ok != tc.publicKey {
				t.Errorf("public key offered: %v", ok)
			}
			// Siyu downloads the platform certificate itself in certificate
			// and migrating modes, so it is never a setting.
			if _, ok := m["WECHATPAY_PLATFORM_CERT"]; ok {
				t.Errorf("certificate offered as a setting")
			}
			if m["WECHATPAY_VERIFY_MODE"] != string(tc.mode) || m["WECHATPAY_MCH_PRIVATE_KEY"] == "" || len(m["WECHATPAY_APIV3_KEY"]) != 32 {
				t.Errorf("settings %v", m)
			}
		})
	}
}

// TestConfig rejects configurations that cannot work.
func TestConfig(t *testing.T) {
	keys, err := sharedKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{Keys: keys}, true},
		{"unknown mode", Config{Keys: keys, Mode: "hmac"}, false},
		{"short APIv3 key", Config{Keys: keys, APIv3Key: "0123456789"}, false},
		{"negative time scale", Config{Keys: keys, TimeScale: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v", err)
			}
			if s != nil {
				_ = s.Close()
			}
		})
	}
}
