package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/payments"
	"github.com/siyu-live/siyu/testsupport"
)

// freeAddr returns a loopback address nobody listens on: Siyu must know
// its own URL so that WeChat Pay's notifications come back to it.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// callKey is call with an Idempotency-Key.
func callKey(t *testing.T, c *http.Client, method, url, token, key string, body, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

// TestFlashSaleEndToEnd runs the real program with the in-process sandbox
// and a real LiveKit: staff build a product, a show and its lineup, go
// live and start a flash sale; a shopper logs in through the sandbox,
// joins the show, wins the flash sale, pays on the sandbox's phone, and
// the signed notification marks the order paid in GET /mp/v1/orders/{id}.
// The order is then shipped (uploaded to WeChat by the worker) and
// refunded after the shopper asks.
func TestFlashSaleEndToEnd(t *testing.T) {
	lk := testsupport.StartLiveKit(t, testsupport.LiveKitOptions{})
	for _, d := range testsupport.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			addr := freeAddr(t)
			env := map[string]string{
				"DATABASE_URL": testsupport.DatabaseURL(t, d), "REDIS_URL": testsupport.Redis(t), "SIYU_DATA_DIR": t.TempDir(),
				"SIYU_HTTP_ADDR": addr, "SIYU_PUBLIC_URL": "http://" + addr,
				"LIVEKIT_URL": lk.URL, "LIVEKIT_API_KEY": lk.APIKey, "LIVEKIT_API_SECRET": lk.APISecret,
			}
			getenv := func(k string) string { return env[k] }
			var out, errb strings.Builder
			if code := run(t.Context(), []string{"siyu", "migrate", "up"}, getenv, &out, &errb); code != 0 {
				t.Fatal(errb.String())
			}
			out.Reset()
			if code := run(t.Context(), []string{"siyu", "seed"}, getenv, &out, &errb); code != 0 {
				t.Fatal(errb.String())
			}
			m := seededPassword.FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("seed printed %q", out.String())
			}
			s := startSiyu(t, env)
			base := s.URL
			jar, _ := cookiejar.New(nil)
			staff := &http.Client{Jar: jar, Timeout: 20 * time.Second}
			shopper := &http.Client{Timeout: 20 * time.Second}
			must := func(what string, got, want int) {
				t.Helper()
				if got != want {
					t.Fatalf("%s = %d, want %d\n%s", what, got, want, s.Logs())
				}
			}

			// Staff: product, show, lineup, live, flash sale.
			must("sign in", call(t, staff, http.MethodPost, base+"/console/api/v1/session", "", map[string]string{"name": "owner", "password": m[2]}, nil), 200)
			var me struct{ Staff struct{ ID string } }
			call(t, staff, http.MethodGet, base+"/console/api/v1/session", "", nil, &me)
			var product struct {
				ID   string
				SKUs []struct{ ID string } `json:"skus"`
			}
			must("create product", call(t, staff, http.MethodPost, base+"/console/api/v1/products", "", map[string]any{
				"title": "高山乌龙 150g", "images": []string{"https://cdn.example.com/oolong.jpg"},
				"skus": []map[string]any{{"title": "罐装", "list_price": 16800, "stock": 20}},
			}, &product), 201)
			must("publish", call(t, staff, http.MethodPost, base+"/console/api/v1/products/"+product.ID+"/publish", "", nil, nil), 200)
			var show struct{ ID string }
			must("schedule show", call(t, staff, http.MethodPost, base+"/console/api/v1/shows", "", map[string]any{
				"title": "周五茶会", "scheduled_at": time.Now().Add(time.Minute), "host_staff_id": me.Staff.ID,
			}, &show), 201)
			must("lineup", call(t, staff, http.MethodPut, base+"/console/api/v1/shows/"+show.ID+"/lineup", "", map[string]any{
				"items": []map[string]any{{"sku_id": product.SKUs[0].ID, "live_price": 12800}},
			}, nil), 200)
			must("go live", call(t, staff, http.MethodPost, base+"/console/api/v1/shows/"+show.ID+"/start", "", nil, nil), 200)
			var sale struct {
				ID        string
				Remaining int
			}
			must("flash sale", call(t, staff, http.MethodPost, base+"/console/api/v1/flash-sales", "", map[string]any{
				"show_id": show.ID, "sku_id": product.SKUs[0].ID, "price": 6800, "quantity": 5, "per_member_limit": 1,
				"starts_at": time.Now().Add(-time.Second), "ends_at": time.Now().Add(10 * time.Minute),
			}, &sale), 201)

			// Shopper: log in through the sandbox, join, win, pay.
			var code struct{ Code string }
			must("wx.login", call(t, shopper, http.MethodPost, base+"/sandbox/miniprogram/login-code", "", map[string]string{"openid": "o-buyer"}, &code), 200)
			var sess struct{ Token string }
			must("login", call(t, shopper, http.MethodPost, base+"/mp/v1/session", "", map[string]any{"code": code.Code}, &sess), 201)
			var join struct{ Token string }
			must("join show", call(t, shopper, http.MethodPost, base+"/mp/v1/shows/"+show.ID+"/join", sess.Token, nil, &join), 200)
			if join.Token == "" {
				t.Fatal("joined without a LiveKit token")
			}
			var win struct {
				Order struct {
					ID     string
					Status string
				}
				Pay map[string]string
			}
			address := map[string]string{"name": "王五", "phone": "13700137000", "province": "广东省", "city": "深圳市", "district": "南山区", "detail": "科技园 8 号"}
			must("win the flash sale", callKey(t, shopper, http.MethodPost, base+"/mp/v1/flash-sales/"+sale.ID+"/orders", sess.Token, "tap-1",
				map[string]any{"quantity": 1, "address": address}, &win), 201)
			if win.Order.ID == "" || win.Order.Status != "pending" || win.Pay != nil {
				t.Fatalf("the win answered %+v: want the pending order alone", win)
			}
			var again struct{ Error struct{ Code string } }
			must("over the limit", callKey(t, shopper, http.MethodPost, base+"/mp/v1/flash-sales/"+sale.ID+"/orders", sess.Token, "tap-2",
				map[string]any{"quantity": 1, "address": address}, &again), 409)
			if again.Error.Code != "limit_reached" {
				t.Fatalf("second win: %s", again.Error.Code)
			}
			// Paying is the next call: WeChat Pay's prepay happens here.
			var receipt struct {
				Order struct {
					ID         string
					OutTradeNo string `json:"out_trade_no"`
				}
				Pay map[string]string
			}
			must("pay parameters", call(t, shopper, http.MethodPost, base+"/mp/v1/orders/"+win.Order.ID+"/pay", sess.Token, nil, &receipt), 200)
			if receipt.Order.ID != win.Order.ID || receipt.Pay["paySign"] == "" {
				t.Fatalf("pay answered %+v", receipt)
			}
			var paid struct{ ErrMsg string }
			must("pay", call(t, shopper, http.MethodPost, base+"/sandbox/wxpay/pay", "", receipt.Pay, &paid), 200)
			if paid.ErrMsg != "requestPayment:ok" {
				t.Fatalf("requestPayment: %s", paid.ErrMsg)
			}
			var order struct {
				Status           string
				Total            int64
				ShowID           string `json:"show_id"`
				HostID           string `json:"host_id"`
				ShippingUploaded bool   `json:"shipping_uploaded"`
				Refunded         int64
			}
			waitFor := func(what string, cond func() bool) {
				t.Helper()
				deadline := time.Now().Add(20 * time.Second)
				for !cond() {
					if time.Now().After(deadline) {
						t.Fatalf("timed out waiting for %s\n%s", what, s.Logs())
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			waitFor("the order paid", func() bool {
				call(t, shopper, http.MethodGet, base+"/mp/v1/orders/"+receipt.Order.ID, sess.Token, nil, &order)
				return order.Status == "paid"
			})
			if order.Total != 6800 || order.ShowID != show.ID || order.HostID != me.Staff.ID {
				t.Fatalf("paid order %+v", order)
			}
			var notes []struct {
				OutTradeNo string `json:"out_trade_no"`
				Status     string
			}
			call(t, shopper, http.MethodGet, base+"/sandbox/wxpay/notifications", "", nil, &notes)
			if len(notes) != 1 || notes[0].OutTradeNo != receipt.Order.OutTradeNo || notes[0].Status != "delivered" {
				t.Fatalf("notifications %+v", notes)
			}

			// Fulfilment: shipped, and the worker uploads it to WeChat.
			must("ship", call(t, staff, http.MethodPost, base+"/console/api/v1/orders/"+receipt.Order.ID+"/shipment", "", map[string]string{
				"carrier": "ZTO", "tracking_no": "ZT7700001234"}, nil), 200)
			waitFor("the shipping upload", func() bool {
				call(t, shopper, http.MethodGet, base+"/mp/v1/orders/"+receipt.Order.ID, sess.Token, nil, &order)
				return order.ShippingUploaded
			})

			// After-sales: asked, approved, refunded once by the worker.
			var rf struct{ ID string }
			must("refund request", call(t, shopper, http.MethodPost, base+"/mp/v1/orders/"+receipt.Order.ID+"/refund-requests", sess.Token,
				map[string]any{"reason": "不想要了"}, &rf), 201)
			must("approve", call(t, staff, http.MethodPost, base+"/console/api/v1/refunds/"+rf.ID+"/approve", "", nil, nil), 200)
			waitFor("the refund", func() bool {
				call(t, shopper, http.MethodGet, base+"/mp/v1/orders/"+receipt.Order.ID, sess.Token, nil, &order)
				return order.Status == "refunded"
			})
			if order.Refunded != 6800 {
				t.Fatalf("refunded %d", order.Refunded)
			}
			var refunds []struct{ Amount struct{ Refund int64 } }
			call(t, shopper, http.MethodGet, base+"/sandbox/wxpay/refunds", "", nil, &refunds)
			if len(refunds) != 1 || refunds[0].Amount.Refund != 6800 {
				t.Fatalf("sandbox refunds %+v", refunds)
			}
			if code := s.Stop(t); code != 0 {
				t.Fatalf("exit %d\n%s", code, s.Logs())
			}
		})
	}
}

// ordersOfA makes a pending order of member A (memberObjects).
func ordersOfA(t *testing.T, e *authzEnv) ownedRequest {
	t.Helper()
	ctx := t.Context()
	c := e.a.commerce
	p, err := c.catalog.CreateProduct(ctx, "", catalog.ProductInput{Title: "authz"}, []catalog.SKUInput{{Title: "1", ListPrice: 100, Stock: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.catalog.SetPublished(ctx, "", p.ID, true); err != nil {
		t.Fatal(err)
	}
	r, err := c.payments.Checkout(ctx, e.A.ID, p.ID, payments.CheckoutRequest{
		Items:   []catalog.Line{{SKUID: p.SKUs[0].ID, Quantity: 1}},
		Address: payments.Address{Name: "A", Phone: "13800138000", Province: "浙江省", City: "杭州市", Detail: "1 号"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ownedRequest{Params: map[string]string{"id": r.Order.ID}, Body: map[string]any{"reason": "authz"}}
}
