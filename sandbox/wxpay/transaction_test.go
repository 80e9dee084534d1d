package wxpay

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/siyu-live/siyu/sandbox/fault"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
)

// TestPrepayValidation checks the documented field rules of JSAPI prepay.
func TestPrepayValidation(t *testing.T) {
	s := newServer(t, Config{}, nil)
	set := func(path string, v any) func(map[string]any) {
		return func(b map[string]any) {
			parts := strings.Split(path, ".")
			m := b
			for _, p := range parts[:len(parts)-1] {
				m = m[p].(map[string]any)
			}
			if v == nil {
				delete(m, parts[len(parts)-1])
			} else {
				m[parts[len(parts)-1]] = v
			}
		}
	}
	for _, tc := range []struct {
		name   string
		change func(map[string]any)
		status int
		code   string
	}{
		{"valid", func(map[string]any) {}, 200, ""},
		{"no appid", set("appid", nil), 400, "PARAM_ERROR"},
		{"no mchid", set("mchid", nil), 400, "PARAM_ERROR"},
		{"no description", set("description", nil), 400, "PARAM_ERROR"},
		{"description of 127 characters", set("description", strings.Repeat("衫", 127)), 200, ""},
		{"description of 128 characters", set("description", strings.Repeat("衫", 128)), 400, "PARAM_ERROR"},
		{"no out_trade_no", set("out_trade_no", nil), 400, "PARAM_ERROR"},
		{"out_trade_no of 5", set("out_trade_no", "SY123"), 400, "PARAM_ERROR"},
		{"out_trade_no of 6", set("out_trade_no", "SY"+digits(4)), 200, ""},
		{"out_trade_no of 32", set("out_trade_no", "SY"+digits(30)), 200, ""},
		{"out_trade_no of 33", set("out_trade_no", "SY"+digits(31)), 400, "PARAM_ERROR"},
		{"out_trade_no with _-|*", set("out_trade_no", "S_Y-1|2*"+digits(6)), 200, ""},
		{"out_trade_no with a space", set("out_trade_no", "SY 12345678"), 400, "PARAM_ERROR"},
		{"out_trade_no with #", set("out_trade_no", "SY#12345678"), 400, "PARAM_ERROR"},
		{"out_trade_no with @", set("out_trade_no", "SY@12345678"), 400, "PARAM_ERROR"},
		{"no notify_url", set("notify_url", nil), 400, "PARAM_ERROR"},
		{"relative notify_url", set("notify_url", "/pay/notify"), 400, "PARAM_ERROR"},
		{"ftp notify_url", set("notify_url", "ftp://shop.example.com/notify"), 400, "PARAM_ERROR"},
		{"notify_url with a query", set("notify_url", "https://shop.example.com/notify?order=1"), 400, "PARAM_ERROR"},
		{"http notify_url", set("notify_url", "http://localhost:8080/pay/notify"), 200, ""},
		{"no amount", set("amount", nil), 400, "PARAM_ERROR"},
		{"no amount.total", set("amount.total", nil), 400, "PARAM_ERROR"},
		{"amount.total 0", set("amount.total", 0), 400, "PARAM_ERROR"},
		{"amount.total -1", set("amount.total", -1), 400, "PARAM_ERROR"},
		{"amount.total 1.5", set("amount.total", 1.5), 400, "PARAM_ERROR"},
		{"currency USD", set("amount.currency", "USD"), 400, "PARAM_ERROR"},
		{"no currency", set("amount.currency", nil), 200, ""},
		{"no payer", set("payer", nil), 400, "PARAM_ERROR"},
		{"no payer.openid", set("payer.openid", nil), 400, "PARAM_ERROR"},
		{"time_expire not RFC 3339", set("time_expire", "2030-01-01 10:00:00"), 400, "PARAM_ERROR"},
		{"time_expire RFC 3339", set("time_expire", time.Now().Add(time.Hour).Format(time.RFC3339)), 200, ""},
		{"attach of 129", set("attach", strings.Repeat("a", 129)), 400, "PARAM_ERROR"},
		{"another appid", set("appid", "wx0000000000000000"), 400, "APPID_MCHID_NOT_MATCH"},
		{"another mchid", set("mchid", "1900000001"), 400, "MCH_NOT_EXISTS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := prepayBody(s, "SY"+digits(12), 100)
			tc.change(body)
			resp := call(t, s, http.MethodPost, "/v3/pay/transactions/jsapi", body)
			status, code, msg := apiErr(t, resp)
			if status != tc.status || code != tc.code {
				t.Fatalf("%d %s %s, want %d %s", status, code, msg, tc.status, tc.code)
			}
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		resp := rawRequest(t, s, s.keys.MerchantKey, s.cfg.MchID, s.keys.MerchantSerial, time.Now(), "POST", "/v3/pay/transactions/jsapi", []byte("{"))
		if status, code, _ := apiErr(t, resp); status != 400 || code != "PARAM_ERROR" {
			t.Fatalf("%d %s", status, code)
		}
	})
}

// TestRepeatedPrepay: the same out_trade_no with the same parameters gets a
// fresh prepay_id for the same order; anything else is refused with the
// documented code.
func TestRepeatedPrepay(t *testing.T) {
	s := newServer(t, Config{}, nil)
	ctx := context.Background()
	pay := jsapi.JsapiApiService{Client: sdkClient(t, s, withPublicKey)}
	req := validPrepay(s, "SY"+digits(12), 500)
	req.TimeExpire = core.Time(time.Now().Add(time.Hour).Truncate(time.Second))
	first, _, err := pay.Prepay(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := pay.Prepay(ctx, req)
	if err != nil {
		t.Fatalf("same parameters: %v", err)
	}
	if *again.PrepayId == *first.PrepayId {
		t.Fatal("the repeated prepay got the same prepay_id")
	}
	o, err := s.Order(*req.OutTradeNo)
	if err != nil || len(o.PrepayIDs) != 2 || len(s.Orders()) != 1 {
		t.Fatalf("order %+v %v", o, err)
	}

	for _, tc := range []struct {
		name   string
		change func(r *jsapi.PrepayRequest)
	}{
		{"another amount", func(r *jsapi.PrepayRequest) { r.Amount = &jsapi.Amount{Total: core.Int64(501)} }},
		{"another description", func(r *jsapi.PrepayRequest) { r.Description = core.String("别的商品") }},
		{"another time_expire", func(r *jsapi.PrepayRequest) { r.TimeExpire = core.Time(r.TimeExpire.Add(time.Minute)) }},
		{"another payer", func(r *jsapi.PrepayRequest) { r.Payer = &jsapi.Payer{Openid: core.String("oOther")} }},
		{"an attach", func(r *jsapi.PrepayRequest) { r.Attach = core.String("x") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changed := req
			tc.change(&changed)
			_, _, err := pay.Prepay(ctx, changed)
			if status, code := sdkCode(err); status != http.StatusForbidden || code != "OUT_TRADE_NO_USED" {
				t.Fatalf("%v", err)
			}
		})
	}

	// Either prepay_id pays the one order, once.
	if _, err := s.ConfirmPayment(*first.PrepayId); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmPayment(*again.PrepayId); !errors.Is(err, ErrPaid) {
		t.Fatalf("second payment: %v", err)
	}
	_, _, err = pay.Prepay(ctx, req)
	if status, code := sdkCode(err); status != http.StatusBadRequest || code != "ORDERPAID" {
		t.Fatalf("prepay a paid order: %v", err)
	}

	closed := validPrepay(s, "SY"+digits(12), 500)
	if _, _, err := pay.Prepay(ctx, closed); err != nil {
		t.Fatal(err)
	}
	if _, err := pay.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: closed.OutTradeNo, Mchid: core.String(s.cfg.MchID)}); err != nil {
		t.Fatal(err)
	}
	_, _, err = pay.Prepay(ctx, closed)
	if status, code := sdkCode(err); status != http.StatusBadRequest || code != "ORDER_CLOSED" {
		t.Fatalf("prepay a closed order: %v", err)
	}
}

// TestPlatformClock covers what Config.Now moves: time_expire, the 2-hour
// prepay_id lifetime and the automatic close of unpaid orders.
func TestPlatformClock(t *testing.T) {
	t.Run("time_expire", func(t *testing.T) {
		clk := newClock()
		s := newServer(t, Config{Now: clk.Now}, nil)
		no := "SY" + digits(12)
		body := prepayBody(s, no, 100)
		// Documented: a deadline sooner than a minute away becomes a minute away.
		body["time_expire"] = clk.Now().Add(-time.Hour).Format(time.RFC3339)
		resp := call(t, s, http.MethodPost, "/v3/pay/transactions/jsapi", body)
		if resp.StatusCode != 200 {
			t.Fatal(apiErr(t, resp))
		}
		o, _ := s.Order(no)
		if want := stamp(clk.Now().Add(time.Minute)); o.TimeExpire != want {
			t.Fatalf("time_expire %s, want %s", o.TimeExpire, want)
		}
		clk.Add(2 * time.Minute)
		if _, err := s.ConfirmPayment(o.PrepayIDs[0]); !errors.Is(err, ErrPastDeadline) {
			t.Fatalf("pay after time_expire: %v", err)
		}
		resp = call(t, s, http.MethodPost, "/v3/pay/transactions/jsapi", body)
		if status, code, _ := apiErr(t, resp); status != 403 || code != "OUT_TRADE_NO_USED" {
			t.Fatalf("prepay after time_expire: %d %s", status, code)
		}
		// Past time_expire the order stays NOTPAY until the merchant closes it.
		if o, _ := s.Order(no); o.TradeState != StateNotPay {
			t.Fatalf("state %s", o.TradeState)
		}
		resp = call(t, s, http.MethodPost, "/v3/pay/transactions/out-trade-no/"+no+"/close", map[string]string{"mchid": s.cfg.MchID})
		if resp.StatusCode != http.StatusNoContent {
			t.Fatal(apiErr(t, resp))
		}
		if o, _ := s.Order(no); o.TradeState != StateClosed {
			t.Fatalf("state %s", o.TradeState)
		}
	})

	t.Run("prepay_id lifetime", func(t *testing.T) {
		clk := newClock()
		s := newServer(t, Config{Now: clk.Now}, nil)
		no := "SY" + digits(12)
		old := placeOrder(t, s, no, 100)
		clk.Add(2*time.Hour + time.Second)
		if err := s.CancelPayment(old); !errors.Is(err, ErrPrepayExpired) {
			t.Fatalf("old prepay_id: %v", err)
		}
		fresh := placeOrder(t, s, no, 100)
		if _, err := s.ConfirmPayment(fresh); err != nil {
			t.Fatalf("fresh prepay_id: %v", err)
		}
	})

	t.Run("automatic close", func(t *testing.T) {
		clk := newClock()
		s := newServer(t, Config{Now: clk.Now}, nil)
		no := "SY" + digits(12)
		id := placeOrder(t, s, no, 100)
		clk.Add(7 * 24 * time.Hour)
		if _, err := s.ConfirmPayment(id); !errors.Is(err, ErrClosed) {
			t.Fatalf("pay a week later: %v", err)
		}
		if o, _ := s.Order(no); o.TradeState != StateClosed {
			t.Fatalf("state %s", o.TradeState)
		}
	})
}

// TestQueryAndCloseErrors checks the documented error answers.
func TestQueryAndCloseErrors(t *testing.T) {
	s := newServer(t, Config{}, nil)
	no := "SY" + digits(12)
	placeOrder(t, s, no, 100)
	mch := "?mchid=" + s.cfg.MchID
	for _, tc := range []struct {
		name, method, uri string
		body              any
		status            int
		code              string
	}{
		{"unknown out_trade_no", "GET", "/v3/pay/transactions/out-trade-no/SY000000000000" + mch, nil, 404, "ORDER_NOT_EXIST"},
		{"unknown transaction_id", "GET", "/v3/pay/transactions/id/4200000000000000000000000000" + mch, nil, 404, "ORDER_NOT_EXIST"},
		{"query without mchid", "GET", "/v3/pay/transactions/out-trade-no/" + no, nil, 400, "PARAM_ERROR"},
		{"query with another mchid", "GET", "/v3/pay/transactions/out-trade-no/" + no + "?mchid=1900000001", nil, 400, "MCH_NOT_EXISTS"},
		{"unpaid order", "GET", "/v3/pay/transactions/out-trade-no/" + no + mch, nil, 200, ""},
		{"close unknown", "POST", "/v3/pay/transactions/out-trade-no/SY000000000000/close", map[string]string{"mchid": s.cfg.MchID}, 404, "ORDER_NOT_EXIST"},
		{"close without mchid", "POST", "/v3/pay/transactions/out-trade-no/" + no + "/close", map[string]string{}, 400, "PARAM_ERROR"},
		{"close", "POST", "/v3/pay/transactions/out-trade-no/" + no + "/close", map[string]string{"mchid": s.cfg.MchID}, 204, ""},
		{"close again", "POST", "/v3/pay/transactions/out-trade-no/" + no + "/close", map[string]string{"mchid": s.cfg.MchID}, 204, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, msg := apiErr(t, call(t, s, tc.method, tc.uri, tc.body))
			if status != tc.status || code != tc.code {
				t.Fatalf("%d %s %s, want %d %s", status, code, msg, tc.status, tc.code)
			}
		})
	}
}

// TestUnknownPathsAndMethods: 404 and 405 with empty bodies.
func TestUnknownPathsAndMethods(t *testing.T) {
	s := newServer(t, Config{}, nil)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/v3/pay/transactions/native", 404},
		{"GET", "/cgi-bin/token", 404},
		{"GET", "/v3/pay/transactions/out-trade-no/", 404},
		{"GET", "/v3/pay/transactions/jsapi", 405},
		{"POST", "/v3/pay/transactions/out-trade-no/SY000000000001", 405},
		{"DELETE", "/v3/refund/domestic/refunds", 405},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tc.status || len(body) != 0 {
				t.Fatalf("%d %q", rec.Code, body)
			}
		})
	}
}

// TestAPIFaults: the shared fault set answers errors or hangs on demand,
// and a response probe fails the SDK's verification.
func TestAPIFaults(t *testing.T) {
	s := newServer(t, Config{}, nil)
	pay := jsapi.JsapiApiService{Client: sdkClient(t, s, withPublicKey)}
	ctx := context.Background()

	s.Faults().Add(fault.Rule{Path: "/v3/pay/transactions/jsapi", Status: http.StatusServiceUnavailable, Times: 1})
	req := validPrepay(s, "SY"+digits(12), 100)
	if _, _, err := pay.Prepay(ctx, req); err == nil {
		t.Fatal("the 503 fault did not fail the prepay")
	} else if status, _ := sdkCode(err); status != http.StatusServiceUnavailable {
		t.Fatalf("503 fault: %v", err)
	}
	if _, _, err := pay.Prepay(ctx, req); err != nil {
		t.Fatalf("after the fault: %v", err)
	}

	s.Faults().Add(fault.Rule{Path: "/close", Hang: true, Times: 1})
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := pay.CloseOrder(short, jsapi.CloseOrderRequest{OutTradeNo: req.OutTradeNo, Mchid: core.String(s.cfg.MchID)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hang: %v", err)
	}

	s.ProbeResponses(1)
	q := jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: req.OutTradeNo, Mchid: core.String(s.cfg.MchID)}
	_, result, err := pay.QueryOrderByOutTradeNo(ctx, q)
	if err == nil || !strings.HasPrefix(result.Response.Header.Get("Wechatpay-Signature"), "WECHATPAY/SIGNTEST/") {
		t.Fatalf("a probe response verified: %v", err)
	}
	if status, _ := sdkCode(err); status != 0 {
		t.Fatalf("want a verification failure, got %v", err)
	}
	if _, _, err := pay.QueryOrderByOutTradeNo(ctx, q); err != nil {
		t.Fatalf("after the probe: %v", err)
	}
}
