package analytics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/analytics"
	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/payments"
	"github.com/siyu-live/siyu/sandbox/wxpay"
	"github.com/siyu-live/siyu/testsupport"
)

// sharedKeys are made once per test binary: RSA keys are slow.
var sharedKeys = sync.OnceValues(func() (*wxpay.Keys, error) { return wxpay.GenerateKeys(time.Now()) })

// clock is the scripted show's time, which the script sets.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// rooms stands in for LiveKit: the script writes viewer sessions itself,
// as LiveKit's webhooks would.
type rooms struct{}

func (rooms) CreateRoom(context.Context, live.RoomSpec) error                  { return nil }
func (rooms) DeleteRoom(context.Context, string) error                         { return nil }
func (rooms) Participants(context.Context, string) ([]live.Participant, error) { return nil, nil }
func (rooms) RemoveParticipant(context.Context, string, string) error          { return nil }
func (rooms) SendData(context.Context, string, string, []byte) error           { return nil }

// moderator hides comments that advertise (contain 广告).
type moderator struct{}

func (moderator) Check(_ context.Context, _, text string) (live.Verdict, error) {
	if bytes.Contains([]byte(text), []byte("广告")) {
		return live.Verdict{Reason: "wechat:risky:20006"}, nil
	}
	return live.Verdict{Pass: true}, nil
}

// directory knows the script's members: openid o_ID, nickname N_ID, and
// who first invited whom.
type directory struct{ inviters map[string]string }

func (d directory) Member(_ context.Context, id string) (live.Member, error) {
	return live.Member{OpenID: "o_" + id, Nickname: "N_" + id}, nil
}
func (d directory) OpenID(_ context.Context, id string) (string, error) { return "o_" + id, nil }
func (d directory) Inviter(_ context.Context, id string) (string, error) {
	return d.inviters[id], nil
}

// catalogForLive is the catalog as shows see it (as app wires it).
type catalogForLive struct{ c *catalog.Service }

func (l catalogForLive) LineupOf(ctx context.Context, showID string) ([]live.LineupItem, error) {
	items, err := l.c.Lineup(ctx, showID)
	if err != nil {
		return nil, err
	}
	out := make([]live.LineupItem, 0, len(items))
	for _, it := range items {
		out = append(out, live.LineupItem{ProductID: it.ProductID, SKUID: it.SKUID, Title: it.Title, SKUTitle: it.SKUTitle,
			LivePrice: it.LivePrice, ListPrice: it.ListPrice, Stock: it.Stock})
	}
	return out, nil
}

func (l catalogForLive) HasProduct(ctx context.Context, showID, productID string) (bool, error) {
	return l.c.HasProduct(ctx, showID, productID)
}

func (l catalogForLive) FlashSale(ctx context.Context, id string) (live.FlashSale, error) {
	f, err := l.c.FlashSale(ctx, id)
	if errors.Is(err, catalog.ErrFlashSaleNotFound) {
		return live.FlashSale{}, live.ErrFlashSaleNotFound
	}
	if err != nil {
		return live.FlashSale{}, err
	}
	return live.FlashSale{ID: f.ID, ShowID: f.ShowID, ProductID: f.ProductID, SKUID: f.SKUID, Price: f.Price,
		Quantity: f.Quantity, StartsAt: f.StartsAt, EndsAt: f.EndsAt}, nil
}

// showsForPayments tells payments whether a show is live.
type showsForPayments struct{ l *live.Service }

func (s showsForPayments) ShowStatus(ctx context.Context, id string) (payments.ShowStatus, error) {
	sh, err := s.l.Show(ctx, id)
	if err != nil {
		return payments.ShowStatus{}, fmt.Errorf("%w: %v", payments.ErrShowNotFound, err)
	}
	return payments.ShowStatus{Live: sh.Status == live.StatusLive, HostID: sh.HostStaffID}, nil
}

// couponsForPayments is the coupon ledger as payments sees it (as app
// wires it).
type couponsForPayments struct{ c *community.Coupons }

func (p couponsForPayments) Reserve(ctx context.Context, db bun.IDB, memberID, couponID, orderID string, lines []payments.CouponLine) (int64, error) {
	items := make([]community.CouponItem, 0, len(lines))
	for _, ln := range lines {
		items = append(items, community.CouponItem{ProductID: ln.ProductID, Amount: ln.Amount})
	}
	return p.c.Reserve(ctx, db, memberID, couponID, orderID, items)
}

func (p couponsForPayments) Redeem(ctx context.Context, db bun.IDB, memberID, couponID, orderID string) error {
	return p.c.Redeem(ctx, db, memberID, couponID, orderID)
}

func (p couponsForPayments) Release(ctx context.Context, db bun.IDB, memberID, couponID, orderID string) error {
	return p.c.Release(ctx, db, memberID, couponID, orderID)
}

// noShipping is never called: the script ships nothing.
type noShipping struct{}

func (noShipping) UploadShippingInfo(context.Context, payments.ShippingInfo) error { return nil }

// handlerTransport serves requests in-process, keeping the request URI as
// written (WeChat Pay signs it).
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

// world is every service a show touches, on one database, Redis and the
// WeChat Pay sandbox, all on the script's clock.
type world struct {
	db        *bun.DB
	clk       *clock
	live      *live.Service
	broadcast *live.Broadcaster
	moderator *live.ModerationWorker
	catalog   *catalog.Service
	coupons   *community.Coupons
	payments  *payments.Service
	wx        *wxpay.Server
	analytics *analytics.Service
	dir       directory
}

const (
	notifyURL = "https://siyu.example.com/callbacks/wxpay/transactions"
	refundURL = "https://siyu.example.com/callbacks/wxpay/refunds"
)

func newWorld(t *testing.T, db *bun.DB, start time.Time) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{db: db, clk: &clock{now: start}, dir: directory{inviters: map[string]string{}}}
	ropt, err := redis.ParseURL(testsupport.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(ropt)
	t.Cleanup(func() { rc.Close() })
	if w.catalog, err = catalog.New(catalog.Config{DB: db, Redis: rc, Now: w.clk.Now}); err != nil {
		t.Fatal(err)
	}
	cl := catalogForLive{w.catalog}
	if w.live, err = live.New(live.Config{DB: db, Redis: rc, Rooms: rooms{}, APIKey: "key", APISecret: "secret-secret-secret-secret-secret",
		LiveKitURL: "ws://127.0.0.1:7880", Lineups: cl, FlashSales: cl, Members: w.dir, Moderator: moderator{},
		CommentInterval: time.Millisecond, Now: w.clk.Now}); err != nil {
		t.Fatal(err)
	}
	w.broadcast = w.live.Broadcaster()
	w.moderator = w.live.ModerationWorker()
	if w.coupons, err = community.NewCoupons(community.CouponsConfig{DB: db, Redis: rc, Now: w.clk.Now}); err != nil {
		t.Fatal(err)
	}
	keys, err := sharedKeys()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	w.wx, err = wxpay.New(wxpay.Config{MchID: "19" + strconv.FormatInt(time.Now().UnixNano()%1e8, 10), Keys: keys, Now: w.clk.Now,
		TimeScale: 0.001, HTTPClient: &http.Client{Transport: handlerTransport{mux}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.wx.Close() })
	c := w.wx.Credentials()
	pay, err := payments.NewWeChatPay(ctx, payments.WeChatPayConfig{AppID: c.AppID, MchID: c.MchID, MchCertSerial: c.MerchantSerial,
		MchPrivateKeyPEM: c.MerchantPrivateKeyPEM, APIv3Key: c.APIv3Key, PublicKeyID: c.PublicKeyID, PublicKeyPEM: c.PublicKeyPEM,
		NotifyURL: notifyURL, RefundURL: refundURL, HTTPClient: &http.Client{Transport: handlerTransport{w.wx}, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pay.Close)
	if w.payments, err = payments.New(payments.Config{DB: db, Catalog: w.catalog, Pay: pay, Members: w.dir,
		Shows: showsForPayments{w.live}, Coupons: couponsForPayments{w.coupons}, Shipping: noShipping{},
		NotifyURL: notifyURL, RefundNotifyURL: refundURL, Now: w.clk.Now}); err != nil {
		t.Fatal(err)
	}
	notes := payments.NewNotifications(w.payments, pay.NotifyHandler(), prometheus.NewRegistry())
	mux.Handle("/callbacks/wxpay/transactions", notes.Transactions())
	if w.analytics, err = analytics.New(analytics.Config{DB: db, Now: w.clk.Now}); err != nil {
		t.Fatal(err)
	}
	return w
}

// memberRow is a row of community's members table, written directly: a
// member's login goes through WeChat, which the script has no part in.
type memberRow struct {
	bun.BaseModel `bun:"table:members"`

	ID        string    `bun:"id,pk"`
	OpenID    string    `bun:"openid,notnull"`
	Nickname  string    `bun:"nickname,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// touchRow is a login that came through a share link (member_touches).
type touchRow struct {
	bun.BaseModel `bun:"table:member_touches"`

	ID        string    `bun:"id,pk"`
	MemberID  string    `bun:"member_id,notnull"`
	InviterID string    `bun:"inviter_id,notnull"`
	ShowID    string    `bun:"show_id,notnull"`
	First     bool      `bun:"is_first,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// conversionRow is a WeCom conversion (traffic_conversions), written
// directly: it comes from WeCom's callbacks.
type conversionRow struct {
	bun.BaseModel `bun:"table:traffic_conversions"`

	ID             string    `bun:"id,pk"`
	Kind           string    `bun:"kind,notnull"`
	ExternalUserID string    `bun:"external_userid,notnull"`
	Target         string    `bun:"target,notnull"`
	Source         string    `bun:"source,notnull"`
	ShowID         string    `bun:"show_id,notnull"`
	InviterID      string    `bun:"inviter_id,notnull"`
	OccurredAt     time.Time `bun:"occurred_at,notnull"`
	CreatedAt      time.Time `bun:"created_at,notnull"`
}

var address = payments.Address{Name: "张三", Phone: "13800138000", Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "文三路 1 号"}

// eventually polls cond until it holds or ten seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
