package payments

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/sandbox/wxpay"
	"github.com/siyu-live/siyu/testsupport"
)

// sharedKeys are generated once per test binary: RSA keys are slow.
var sharedKeys = sync.OnceValues(func() (*wxpay.Keys, error) { return wxpay.GenerateKeys(time.Now()) })

// clock is a time a test moves.
type clock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.d)
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.d += d
}

// members knows every member: openid o_ID, inviters by member.
type members struct {
	inviters map[string]string
}

func (m members) OpenID(_ context.Context, id string) (string, error) { return "o_" + id, nil }
func (m members) Inviter(_ context.Context, id string) (string, error) {
	return m.inviters[id], nil
}

// shows is a set of shows with their state.
type shows struct {
	mu sync.Mutex
	m  map[string]ShowStatus
}

func (s *shows) ShowStatus(_ context.Context, id string) (ShowStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.m[id]
	if !ok {
		return ShowStatus{}, fmt.Errorf("show %s: %w", id, ErrShowNotFound)
	}
	return st, nil
}

// shipping records uploads and fails the first fails of them.
type shipping struct {
	mu    sync.Mutex
	fails int
	got   []ShippingInfo
}

func (s *shipping) UploadShippingInfo(_ context.Context, in ShippingInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fails > 0 {
		s.fails--
		return fmt.Errorf("errcode 10060001: 支付单不存在")
	}
	s.got = append(s.got, in)
	return nil
}

// handlerTransport serves requests with h in-process, keeping the request
// URI as the client wrote it (WeChat Pay signs it).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	in := httptest.NewRequestWithContext(r.Context(), r.Method, r.URL.RequestURI(), bytes.NewReader(body))
	in.Header = r.Header.Clone()
	in.Host = r.URL.Host
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// harness is payments wired to the WeChat Pay sandbox, whose
// notifications reach the service's handlers in-process.
type harness struct {
	db     *bun.DB
	cat    *catalog.Service
	svc    *Service
	wx     *wxpay.Server
	pay    *WeChatPay
	notes  *Notifications
	clk    *clock
	shows  *shows
	ship   *shipping
	mux    *http.ServeMux
	member members
}

type options struct {
	mode   wxpay.Mode
	verify string
}

const (
	notifyURL = "https://siyu.example.com/callbacks/wxpay/transactions"
	refundURL = "https://siyu.example.com/callbacks/wxpay/refunds"
)

func newHarness(t *testing.T, db *bun.DB, o options) *harness {
	t.Helper()
	ctx := context.Background()
	keys, err := sharedKeys()
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{db: db, clk: &clock{}, shows: &shows{m: map[string]ShowStatus{}}, ship: &shipping{}, mux: http.NewServeMux(),
		member: members{inviters: map[string]string{}}}
	if o.mode == "" {
		o.mode = wxpay.ModePublicKey
	}
	h.wx, err = wxpay.New(wxpay.Config{MchID: "19" + strconv.FormatInt(time.Now().UnixNano()%1e8, 10), Mode: o.mode, Keys: keys,
		TimeScale: 0.001, HTTPClient: &http.Client{Transport: handlerTransport{h.mux}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.wx.Close() })
	c := h.wx.Credentials()
	h.pay, err = NewWeChatPay(ctx, WeChatPayConfig{AppID: c.AppID, MchID: c.MchID, MchCertSerial: c.MerchantSerial,
		MchPrivateKeyPEM: c.MerchantPrivateKeyPEM, APIv3Key: c.APIv3Key, PublicKeyID: c.PublicKeyID, PublicKeyPEM: c.PublicKeyPEM,
		Verify: o.verify, NotifyURL: notifyURL, RefundURL: refundURL,
		HTTPClient: &http.Client{Transport: handlerTransport{h.wx}, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.pay.Close)
	ropt, err := redis.ParseURL(testsupport.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	ropt.PoolSize = 64
	rc := redis.NewClient(ropt)
	t.Cleanup(func() { rc.Close() })
	if h.cat, err = catalog.New(catalog.Config{DB: db, Redis: rc, Now: h.clk.Now}); err != nil {
		t.Fatal(err)
	}
	h.svc, err = New(Config{DB: db, Catalog: h.cat, Pay: h.pay, Members: h.member, Shows: h.shows, Shipping: h.ship,
		NotifyURL: notifyURL, RefundNotifyURL: refundURL, Now: h.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.notes = NewNotifications(h.svc, h.pay.NotifyHandler(), prometheus.NewRegistry())
	h.mux.Handle("/callbacks/wxpay/transactions", h.notes.Transactions())
	h.mux.Handle("/callbacks/wxpay/refunds", h.notes.Refunds())
	return h
}

// withMembers returns another Service over the harness's stores and
// WeChat Pay, with its own member directory.
func (h *harness) withMembers(t *testing.T, dir Members) *Service {
	t.Helper()
	svc, err := New(Config{DB: h.db, Catalog: h.cat, Pay: h.pay, Members: dir, Shows: h.shows, Shipping: h.ship,
		NotifyURL: notifyURL, RefundNotifyURL: refundURL, Now: h.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// product creates a published product with one SKU.
func (h *harness) product(t *testing.T, price int64, stock int) catalog.SKU {
	t.Helper()
	ctx := context.Background()
	p, err := h.cat.CreateProduct(ctx, "staff-1", catalog.ProductInput{Title: "云南普洱 357g"}, []catalog.SKUInput{{Title: "2019 生茶", ListPrice: price, Stock: stock}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.cat.SetPublished(ctx, "staff-1", p.ID, true); err != nil {
		t.Fatal(err)
	}
	return p.SKUs[0]
}

var addr = Address{Name: "张三", Phone: "13800138000", Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "文三路 1 号"}

// order checks out one SKU for member.
func (h *harness) order(t *testing.T, member string, sku catalog.SKU, qty int) Receipt {
	t.Helper()
	r, err := h.svc.Checkout(context.Background(), member, "key-"+strconv.FormatInt(time.Now().UnixNano(), 36),
		CheckoutRequest{Items: []catalog.Line{{SKUID: sku.ID, Quantity: qty}}, Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// payInSandbox is the shopper confirming wx.requestPayment.
func (h *harness) payInSandbox(t *testing.T, r Receipt) {
	t.Helper()
	res, err := h.wx.Pay(wxpay.PayRequest{TimeStamp: r.Pay.TimeStamp, NonceStr: r.Pay.NonceStr, Package: r.Pay.Package,
		SignType: r.Pay.SignType, PaySign: r.Pay.PaySign})
	if err != nil || res.ErrMsg != "requestPayment:ok" {
		t.Fatalf("pay: %+v %v", res, err)
	}
}

func (h *harness) status(t *testing.T, id string) Order {
	t.Helper()
	o, err := h.svc.Order(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (h *harness) rejected(reason string) float64 {
	var m dto.Metric
	if err := h.notes.Rejected().WithLabelValues(reason).Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// notification builds a notification by hand: resource encrypted with the
// APIv3 key and the envelope signed by key under serial at ts.
func notification(t *testing.T, apiV3Key string, key *rsa.PrivateKey, serial string, ts time.Time, id, eventType, originalType string, resource any) *http.Request {
	t.Helper()
	plain, err := json.Marshal(resource)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher([]byte(apiV3Key))
	gcm, _ := cipher.NewGCM(block)
	nonce := "0123456789ab"
	ct := gcm.Seal(nil, []byte(nonce), plain, []byte(originalType))
	body, _ := json.Marshal(map[string]any{
		"id": id, "create_time": ts.Format(time.RFC3339), "resource_type": "encrypt-resource", "event_type": eventType, "summary": "支付成功",
		"resource": map[string]string{"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.StdEncoding.EncodeToString(ct),
			"associated_data": originalType, "original_type": originalType, "nonce": nonce},
	})
	tsStr := strconv.FormatInt(ts.Unix(), 10)
	msg := tsStr + "\n" + "n0nce" + "\n" + string(body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/callbacks/wxpay/transactions", bytes.NewReader(body))
	req.Header.Set("Wechatpay-Timestamp", tsStr)
	req.Header.Set("Wechatpay-Nonce", "n0nce")
	req.Header.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	req.Header.Set("Wechatpay-Serial", serial)
	req.Header.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	return req
}

// deliver posts a notification to handler and returns the status.
func deliver(handler http.Handler, req *http.Request) int {
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	return rec.Code
}
