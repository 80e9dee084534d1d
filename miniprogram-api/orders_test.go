package miniprogramapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/edge"
	miniprogramapi "github.com/siyu-live/siyu/miniprogram-api"
	"github.com/siyu-live/siyu/payments"
	"github.com/siyu-live/siyu/sandbox/wxpay"
	"github.com/siyu-live/siyu/testsupport"
)

// payKeys are generated once per test binary: RSA keys are slow.
var payKeys = sync.OnceValues(func() (*wxpay.Keys, error) { return wxpay.GenerateKeys(time.Now()) })

// bearerSessions takes "Bearer m-<id>" as member <id>.
type bearerSessions struct{}

func (bearerSessions) Authenticate(_ context.Context, token string) (string, error) {
	id, ok := strings.CutPrefix(token, "m-")
	if !ok {
		return "", errors.New("unknown token")
	}
	return id, nil
}

type openids struct{}

func (openids) OpenID(_ context.Context, id string) (string, error) { return "o_" + id, nil }
func (openids) Inviter(context.Context, string) (string, error)     { return "", nil }

// handlerRT serves requests with h in-process, keeping the request URI as
// the client wrote it (WeChat Pay signs it).
type handlerRT struct{ h http.Handler }

func (t handlerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	in := httptest.NewRequestWithContext(r.Context(), r.Method, r.URL.RequestURI(), bytes.NewReader(body))
	in.Header = r.Header.Clone()
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// mall is the shopper API over real catalog and payments services, with
// the WeChat Pay sandbox as the merchant's platform.
type mall struct {
	app *fiber.App
	cat *catalog.Service
	pay *wxpay.Server
}

func newMall(t *testing.T, db *bun.DB) *mall {
	t.Helper()
	keys, err := payKeys()
	if err != nil {
		t.Fatal(err)
	}
	notify := http.NewServeMux()
	wx, err := wxpay.New(wxpay.Config{Keys: keys, TimeScale: 0.001, HTTPClient: &http.Client{Transport: handlerRT{notify}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wx.Close() })
	c := wx.Credentials()
	wcp, err := payments.NewWeChatPay(context.Background(), payments.WeChatPayConfig{AppID: c.AppID, MchID: c.MchID,
		MchCertSerial: c.MerchantSerial, MchPrivateKeyPEM: c.MerchantPrivateKeyPEM, APIv3Key: c.APIv3Key,
		PublicKeyID: c.PublicKeyID, PublicKeyPEM: c.PublicKeyPEM, NotifyURL: "https://siyu.example.com/callbacks/wxpay/transactions",
		RefundURL: "https://siyu.example.com/callbacks/wxpay/refunds", HTTPClient: &http.Client{Transport: handlerRT{wx}}})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := redis.ParseURL(testsupport.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	opt.PoolSize = 64
	rc := redis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	cat, err := catalog.New(catalog.Config{DB: db, Redis: rc})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := payments.New(payments.Config{DB: db, Catalog: cat, Pay: wcp, Members: openids{},
		NotifyURL: "https://siyu.example.com/callbacks/wxpay/transactions", RefundNotifyURL: "https://siyu.example.com/callbacks/wxpay/refunds"})
	if err != nil {
		t.Fatal(err)
	}
	notes := payments.NewNotifications(svc, wcp.NotifyHandler(), nil)
	notify.Handle("/callbacks/wxpay/transactions", notes.Transactions())
	log := slog.New(slog.DiscardHandler)
	app := edge.New(edge.Config{Logger: log, Registry: prometheus.NewRegistry(), ConsoleOrigin: "http://localhost:8080"})
	api := miniprogramapi.New(miniprogramapi.Config{Logger: log, Sessions: bearerSessions{}, Orders: svc, FlashSales: cat})
	if err := api.Mount(app, edge.NewDoc("test", "0", "")); err != nil {
		t.Fatal(err)
	}
	return &mall{app: app, cat: cat, pay: wx}
}

// call sends a request as member and decodes the answer into out.
func (s *mall) call(t *testing.T, member, method, path, key string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer m-"+member)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := s.app.Test(req, -1)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Errorf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

func (s *mall) sku(t *testing.T, price int64, stock int) catalog.SKU {
	t.Helper()
	ctx := context.Background()
	p, err := s.cat.CreateProduct(ctx, "staff-1", catalog.ProductInput{Title: "明前龙井"}, []catalog.SKUInput{{Title: "50g", ListPrice: price, Stock: stock}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.cat.SetPublished(ctx, "staff-1", p.ID, true); err != nil {
		t.Fatal(err)
	}
	return p.SKUs[0]
}

var address = map[string]string{"name": "李四", "phone": "13900139000", "province": "上海市", "city": "上海市", "district": "徐汇区", "detail": "漕溪北路 1 号"}

type errorBody struct {
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

func TestOrdersHTTP(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		s := newMall(t, db)
		sku := s.sku(t, 6800, 10)
		order := map[string]any{"items": []map[string]any{{"sku_id": sku.ID, "quantity": 2}}, "address": address}

		var first, again payments.Receipt
		if code := s.call(t, "u1", http.MethodPost, "/mp/v1/orders", "key-1", order, &first); code != http.StatusCreated {
			t.Fatalf("create: %d", code)
		}
		if first.Order.Total != 13600 || first.Pay.Package == "" || first.Pay.SignType != "RSA" {
			t.Fatalf("receipt %+v", first)
		}
		if code := s.call(t, "u1", http.MethodPost, "/mp/v1/orders", "key-1", order, &again); code != http.StatusCreated || again.Order.ID != first.Order.ID || again.Pay != first.Pay {
			t.Fatalf("repeat: %d %+v", code, again)
		}
		for _, tc := range []struct {
			name   string
			key    string
			body   any
			status int
			code   string
		}{
			{"other body, same key", "key-1", map[string]any{"items": []map[string]any{{"sku_id": sku.ID, "quantity": 1}}, "address": address}, http.StatusUnprocessableEntity, "idempotency_key_reused"},
			{"no key", "", order, http.StatusBadRequest, "idempotency_key_required"},
			{"coupon", "key-2", map[string]any{"items": order["items"], "address": address, "coupon_id": "c-1"}, http.StatusUnprocessableEntity, "coupon_not_applicable"},
			{"out of stock", "key-3", map[string]any{"items": []map[string]any{{"sku_id": sku.ID, "quantity": 9}}, "address": address}, http.StatusConflict, "out_of_stock"},
			{"no address", "key-4", map[string]any{"items": order["items"]}, http.StatusUnprocessableEntity, "invalid_address"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var e errorBody
				if code := s.call(t, "u1", http.MethodPost, "/mp/v1/orders", tc.key, tc.body, &e); code != tc.status || e.Error.Code != tc.code {
					t.Fatalf("%d %s, want %d %s", code, e.Error.Code, tc.status, tc.code)
				}
			})
		}

		// Another member cannot see or cancel the order.
		if code := s.call(t, "u2", http.MethodGet, "/mp/v1/orders/"+first.Order.ID, "", nil, nil); code != http.StatusNotFound {
			t.Fatalf("another member's order: %d", code)
		}
		if code := s.call(t, "u2", http.MethodPost, "/mp/v1/orders/"+first.Order.ID+"/cancel", "", nil, nil); code != http.StatusNotFound {
			t.Fatalf("another member cancelling: %d", code)
		}
		// The shopper pays in the cashier; the notification settles it.
		res, err := s.pay.Pay(wxpay.PayRequest{TimeStamp: first.Pay.TimeStamp, NonceStr: first.Pay.NonceStr, Package: first.Pay.Package,
			SignType: first.Pay.SignType, PaySign: first.Pay.PaySign})
		if err != nil || res.ErrMsg != "requestPayment:ok" {
			t.Fatalf("pay %+v %v", res, err)
		}
		var got payments.Order
		deadline := time.Now().Add(5 * time.Second)
		for got.Status != payments.StatusPaid && time.Now().Before(deadline) {
			s.call(t, "u1", http.MethodGet, "/mp/v1/orders/"+first.Order.ID, "", nil, &got)
			time.Sleep(5 * time.Millisecond)
		}
		if got.Status != payments.StatusPaid {
			t.Fatalf("order is %s after payment", got.Status)
		}
		var e errorBody
		if code := s.call(t, "u1", http.MethodPost, "/mp/v1/orders/"+first.Order.ID+"/cancel", "", nil, &e); code != http.StatusConflict || e.Error.Code != "not_cancellable" {
			t.Fatalf("cancel a paid order: %d %s", code, e.Error.Code)
		}
		var rf payments.Refund
		if code := s.call(t, "u1", http.MethodPost, "/mp/v1/orders/"+first.Order.ID+"/refund-requests", "", map[string]any{"reason": "买多了"}, &rf); code != http.StatusCreated || rf.Amount != 13600 {
			t.Fatalf("refund request: %d %+v", code, rf)
		}
		if code := s.call(t, "u1", http.MethodPost, "/mp/v1/orders/"+first.Order.ID+"/refund-requests", "", map[string]any{"reason": "买多了"}, &e); code != http.StatusConflict || e.Error.Code != "refund_open" {
			t.Fatalf("second refund request: %d %s", code, e.Error.Code)
		}
		var list struct {
			Orders []payments.Order `json:"orders"`
		}
		if code := s.call(t, "u1", http.MethodGet, "/mp/v1/orders?status=paid", "", nil, &list); code != http.StatusOK || len(list.Orders) != 1 {
			t.Fatalf("list: %d %d", code, len(list.Orders))
		}
	})
}

// TestFlashSaleHTTP is the crowd through HTTP, smaller: 600 requests from
// 80 members for 100 units, 2 each.
func TestFlashSaleHTTP(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		s := newMall(t, db)
		ctx := context.Background()
		sku := s.sku(t, 19900, 100)
		if _, err := s.cat.SetLineup(ctx, "staff-1", "show-1", []catalog.LineupEntry{{SKUID: sku.ID, LivePrice: 15900}}); err != nil {
			t.Fatal(err)
		}
		f, err := s.cat.CreateFlashSale(ctx, "staff-1", catalog.FlashSaleInput{ShowID: "show-1", SKUID: sku.ID, Price: 9900, Quantity: 100,
			PerMemberLimit: 2, StartsAt: time.Now().Add(-time.Second), EndsAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		units := map[string]int{}
		codes := map[string]int{}
		var wonMember, wonKey, wonOrder string
		var wg sync.WaitGroup
		for i := range 600 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				member := fmt.Sprintf("u%02d", i%80)
				var raw json.RawMessage
				body := map[string]any{"quantity": 1, "address": address}
				code := s.call(t, member, http.MethodPost, "/mp/v1/flash-sales/"+f.ID+"/orders", fmt.Sprintf("req-%d", i), body, &raw)
				mu.Lock()
				defer mu.Unlock()
				switch code {
				case http.StatusCreated:
					// The order alone: paying is the next call.
					var r map[string]json.RawMessage
					var o payments.Order
					if err := json.Unmarshal(raw, &r); err != nil || len(r) != 1 || json.Unmarshal(r["order"], &o) != nil ||
						o.Total != 9900 || o.Status != payments.StatusPending || o.Address.Name != address["name"] {
						t.Errorf("winner's answer %s", raw)
					}
					units[member]++
					codes["won"]++
					if wonKey == "" {
						wonMember, wonKey, wonOrder = member, fmt.Sprintf("req-%d", i), o.ID
					}
				case http.StatusConflict:
					var e errorBody
					_ = json.Unmarshal(raw, &e)
					codes[e.Error.Code]++
				default:
					t.Errorf("request %d answered %d", i, code)
				}
			}()
		}
		wg.Wait()
		total := 0
		for m, n := range units {
			total += n
			if n > 2 {
				t.Errorf("member %s won %d", m, n)
			}
		}
		if total != 100 {
			t.Fatalf("won %d units, want 100 (%v)", total, codes)
		}
		var sale catalog.FlashSale
		if code := s.call(t, "u01", http.MethodGet, "/mp/v1/flash-sales/"+f.ID, "", nil, &sale); code != http.StatusOK || sale.Remaining != 0 {
			t.Fatalf("sale %d %+v", code, sale)
		}
		var e errorBody
		if code := s.call(t, "late", http.MethodPost, "/mp/v1/flash-sales/"+f.ID+"/orders", "", map[string]any{"quantity": 1, "address": address}, &e); code != http.StatusConflict || e.Error.Code != "sold_out" {
			t.Fatalf("after the last unit: %d %s", code, e.Error.Code)
		}
		// The crowd after the last unit is answered before its body is
		// read; a retry with its key still gets the order it won.
		e = errorBody{}
		if code := s.call(t, "late", http.MethodPost, "/mp/v1/flash-sales/"+f.ID+"/orders", "", map[string]any{"quantity": "many"}, &e); code != http.StatusConflict || e.Error.Code != "sold_out" {
			t.Fatalf("a bad body after the last unit: %d %s", code, e.Error.Code)
		}
		var again struct{ Order payments.Order }
		if code := s.call(t, wonMember, http.MethodPost, "/mp/v1/flash-sales/"+f.ID+"/orders", wonKey, map[string]any{"quantity": 1, "address": address}, &again); code != http.StatusCreated || again.Order.ID != wonOrder {
			t.Fatalf("a winner's retry after the last unit: %d %s, want 201 %s", code, again.Order.ID, wonOrder)
		}
		// No journal runs here: the winner's order is not in the database
		// yet, and reading and paying it work all the same.
		if code := s.call(t, "stranger", http.MethodPost, "/mp/v1/orders/"+wonOrder+"/pay", "", nil, nil); code != http.StatusNotFound {
			t.Fatalf("another member paying: %d", code)
		}
		var got payments.Order
		if code := s.call(t, wonMember, http.MethodGet, "/mp/v1/orders/"+wonOrder, "", nil, &got); code != http.StatusOK || got.Status != payments.StatusPending {
			t.Fatalf("the winner's order: %d %+v", code, got)
		}
		var r payments.Receipt
		if code := s.call(t, wonMember, http.MethodPost, "/mp/v1/orders/"+wonOrder+"/pay", "", nil, &r); code != http.StatusOK || r.Pay.PaySign == "" || r.Order.ID != wonOrder {
			t.Fatalf("pay the win: %d %+v", code, r)
		}
		res, err := s.pay.Pay(wxpay.PayRequest{TimeStamp: r.Pay.TimeStamp, NonceStr: r.Pay.NonceStr, Package: r.Pay.Package,
			SignType: r.Pay.SignType, PaySign: r.Pay.PaySign})
		if err != nil || res.ErrMsg != "requestPayment:ok" {
			t.Fatalf("requestPayment %+v %v", res, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for got.Status != payments.StatusPaid && time.Now().Before(deadline) {
			s.call(t, wonMember, http.MethodGet, "/mp/v1/orders/"+wonOrder, "", nil, &got)
			time.Sleep(5 * time.Millisecond)
		}
		if got.Status != payments.StatusPaid {
			t.Fatalf("the win is %s after payment", got.Status)
		}
	})
}
