package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hibiken/asynq"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/jobs"
	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/payments"
	"github.com/siyu-live/siyu/sandbox"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/sandbox/wxpay"
)

// commerce is the catalog and payments wired together: the flash-sale
// journal writes won claims through payments, WeChat Pay is the real
// merchant or the sandbox's.
type commerce struct {
	catalog  *catalog.Service
	journal  *catalog.Journal
	payments *payments.Service
	pay      *payments.WeChatPay
	notes    *payments.Notifications
	// coupons is set by community, before or after buildPayments; while
	// it is nil an order naming a coupon answers coupon_not_applicable.
	coupons *community.Coupons
	// stopJournal ends the journal's run in this process, after it has
	// persisted the claims won here.
	stopJournal func()
}

// buildCatalog builds the catalog; shows need it for their lineups, so it
// comes before them.
func (a *application) buildCatalog() error {
	c, err := catalog.New(catalog.Config{DB: a.st.db, Redis: a.st.redis, Logger: a.log})
	if err != nil {
		return err
	}
	a.commerce = &commerce{catalog: c}
	return nil
}

// buildPayments builds WeChat Pay's client and the payments service, after
// identity (openids, first touch) and shows (live state, hosts).
func (a *application) buildPayments(ctx context.Context) error {
	pc, err := payConfig(a.cfg, a.wechat.sandbox)
	if err != nil {
		return err
	}
	if a.commerce.pay, err = payments.NewWeChatPay(ctx, pc); err != nil {
		return &ConfigError{"WECHATPAY_MCH_PRIVATE_KEY", err.Error()}
	}
	cfg := payments.Config{
		DB:              a.st.db,
		Catalog:         a.commerce.catalog,
		Pay:             a.commerce.pay,
		Members:         memberDirectory{a.members},
		Shipping:        payments.NewMiniProgramShipping(pc.AppID, a.cfg.WeChatAppSecret, a.wechat.mpTokens),
		NotifyURL:       pc.NotifyURL,
		RefundNotifyURL: pc.RefundURL,
		Logger:          a.log,
	}
	cfg.Shows, cfg.Coupons = lazyShows{a}, lazyCoupons{a}
	if a.commerce.payments, err = payments.New(cfg); err != nil {
		return err
	}
	a.commerce.journal = catalog.NewJournal(a.commerce.catalog, a.commerce.payments)
	// Every process persists the flash-sale claims it wins, in batches,
	// until it closes (after the HTTP server has stopped).
	jctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.commerce.journal.Run(jctx)
	}()
	a.commerce.stopJournal = func() {
		cancel()
		<-done
	}
	a.commerce.notes = payments.NewNotifications(a.commerce.payments, a.commerce.pay.NotifyHandler(), a.reg)
	return nil
}

// payConfig is the merchant's WeChat Pay configuration: from the settings,
// or from the in-process sandbox's merchant.
func payConfig(cfg Config, sb *sandbox.Sandbox) (payments.WeChatPayConfig, error) {
	base := strings.TrimSuffix(cfg.PublicURL.String(), "/")
	pc := payments.WeChatPayConfig{
		AppID: cfg.WeChatAppID, MchID: cfg.PayMchID, MchCertSerial: cfg.PayMchCertSerial, MchPrivateKeyPEM: cfg.PayMchPrivateKey,
		APIv3Key: cfg.PayAPIv3Key, PublicKeyID: cfg.PayPublicKeyID, PublicKeyPEM: cfg.PayPublicKey, Verify: cfg.PayVerifyMode,
		NotifyURL: base + "/callbacks/wxpay/transactions", RefundURL: base + "/callbacks/wxpay/refunds",
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
	}
	switch {
	case cfg.WeChatSandbox == "inprocess":
		if sb == nil {
			return pc, errors.New("the in-process sandbox is not running")
		}
		c := sb.Pay.Credentials()
		pc.AppID, pc.MchID, pc.MchCertSerial, pc.MchPrivateKeyPEM = c.AppID, c.MchID, c.MerchantSerial, c.MerchantPrivateKeyPEM
		pc.APIv3Key, pc.PublicKeyID, pc.PublicKeyPEM = c.APIv3Key, c.PublicKeyID, c.PublicKeyPEM
		pc.Verify = map[wxpay.Mode]string{wxpay.ModePublicKey: payments.VerifyPublicKey, wxpay.ModeCertificate: payments.VerifyCertificate,
			wxpay.ModeMigrating: payments.VerifyMigrating}[c.Mode]
		pc.HTTPClient.Transport = sb.Transport(http.DefaultTransport)
	case cfg.WeChatSandbox != "off":
		u, err := url.Parse(cfg.WeChatSandbox)
		if err != nil {
			return pc, &ConfigError{"WECHAT_SANDBOX", err.Error()}
		}
		pc.HTTPClient.Transport = sandbox.Remote(u, http.DefaultTransport)
		if pc.AppID == "" {
			pc.AppID = miniprogram.DefaultAppID
		}
	}
	if pc.MchID == "" || pc.MchPrivateKeyPEM == "" || len(pc.APIv3Key) != 32 {
		return pc, &ConfigError{"WECHATPAY_MCH_ID", "WeChat Pay needs WECHATPAY_MCH_ID, WECHATPAY_MCH_CERT_SERIAL, WECHATPAY_MCH_PRIVATE_KEY and a 32-character WECHATPAY_APIV3_KEY (siyu sandbox prints them)"}
	}
	return pc, nil
}

// mountPayCallbacks serves WeChat Pay's notifications: the SDK verifies a
// net/http request, so the handlers are adapted, not rewritten.
func (a *application) mountPayCallbacks(app *fiber.App) {
	app.Post("/callbacks/wxpay/transactions", edge.HTTPHandler(a.commerce.notes.Transactions(), 30*time.Second))
	app.Post("/callbacks/wxpay/refunds", edge.HTTPHandler(a.commerce.notes.Refunds(), 30*time.Second))
}

// handleCommerceTasks adds the catalog's and payments' task handlers.
func (a *application) handleCommerceTasks(mux *asynq.ServeMux) {
	jobs.HandleCatalog(mux, a.commerce.catalog, a.commerce.journal)
	jobs.HandlePayments(mux, a.commerce.payments)
}

// scheduleCommerce registers the periodic catalog and payment tasks.
func (a *application) scheduleCommerce(s *asynq.Scheduler) error {
	if err := jobs.RegisterSchedules(s, jobs.CatalogSchedules()); err != nil {
		return err
	}
	return jobs.RegisterSchedules(s, jobs.PaymentSchedules())
}

// closeCommerce persists the flash-sale claims won here and stops WeChat
// Pay's certificate refresh.
func (a *application) closeCommerce() {
	if a.commerce != nil && a.commerce.stopJournal != nil {
		a.commerce.stopJournal()
	}
	if a.commerce != nil && a.commerce.pay != nil {
		a.commerce.pay.Close()
	}
}

// memberDirectory is payments' view of shoppers.
type memberDirectory struct{ m *community.Members }

// OpenID implements payments.Members.
func (d memberDirectory) OpenID(ctx context.Context, id string) (string, error) {
	m, err := d.m.Get(ctx, id)
	if err != nil {
		return "", err
	}
	return m.OpenID, nil
}

// Inviter implements payments.Members: who brought the member first.
func (d memberDirectory) Inviter(ctx context.Context, id string) (string, error) {
	m, err := d.m.Get(ctx, id)
	if err != nil {
		return "", err
	}
	return m.FirstTouch.InviterID, nil
}

// Payers implements payments.Payers: the buyers of a batch of flash-sale
// claims in one query.
func (d memberDirectory) Payers(ctx context.Context, ids []string) (map[string]payments.Payer, error) {
	ms, err := d.m.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]payments.Payer, len(ms))
	for id, m := range ms {
		out[id] = payments.Payer{OpenID: m.OpenID, InviterID: m.FirstTouch.InviterID}
	}
	return out, nil
}

// lazyShows is payments' view of shows, looked up when used, so that the
// order in which the areas are built does not matter.
type lazyShows struct{ a *application }

// ShowStatus implements payments.Shows.
func (l lazyShows) ShowStatus(ctx context.Context, id string) (payments.ShowStatus, error) {
	if l.a.live == nil {
		return payments.ShowStatus{}, fmt.Errorf("%w: shows are not connected", payments.ErrShowNotFound)
	}
	sh, err := l.a.live.Show(ctx, id)
	if errors.Is(err, live.ErrShowNotFound) {
		return payments.ShowStatus{}, fmt.Errorf("%w: %s", payments.ErrShowNotFound, id)
	}
	if err != nil {
		return payments.ShowStatus{}, err
	}
	return payments.ShowStatus{Live: sh.Status == live.StatusLive, HostID: sh.HostStaffID}, nil
}

// lazyCoupons is payments' view of coupons, looked up when used.
type lazyCoupons struct{ a *application }

// Reserve implements payments.Coupons.
func (l lazyCoupons) Reserve(ctx context.Context, db bun.IDB, memberID, couponID, orderID string, lines []payments.CouponLine) (int64, error) {
	if l.a.commerce.coupons == nil {
		return 0, payments.ErrCouponNotApplicable
	}
	items := make([]community.CouponItem, 0, len(lines))
	for _, ln := range lines {
		items = append(items, community.CouponItem{ProductID: ln.ProductID, Amount: ln.Amount})
	}
	return l.a.commerce.coupons.Reserve(ctx, db, memberID, couponID, orderID, items)
}

// Redeem implements payments.Coupons; without coupons none was reserved.
func (l lazyCoupons) Redeem(ctx context.Context, db bun.IDB, memberID, couponID, orderID string) error {
	if l.a.commerce.coupons == nil {
		return nil
	}
	return l.a.commerce.coupons.Redeem(ctx, db, memberID, couponID, orderID)
}

// Release implements payments.Coupons; without coupons none was reserved.
func (l lazyCoupons) Release(ctx context.Context, db bun.IDB, memberID, couponID, orderID string) error {
	if l.a.commerce.coupons == nil {
		return nil
	}
	return l.a.commerce.coupons.Release(ctx, db, memberID, couponID, orderID)
}

// catalogForLive is the catalog as shows see it: lineups and flash sales.
type catalogForLive struct{ c *catalog.Service }

// LineupOf implements live.Lineups.
func (l catalogForLive) LineupOf(ctx context.Context, showID string) ([]live.LineupItem, error) {
	items, err := l.c.Lineup(ctx, showID)
	if err != nil {
		return nil, err
	}
	out := make([]live.LineupItem, 0, len(items))
	for _, it := range items {
		out = append(out, live.LineupItem{ProductID: it.ProductID, SKUID: it.SKUID, Title: it.Title, SKUTitle: it.SKUTitle,
			Image: it.Image, ListPrice: it.ListPrice, LivePrice: it.LivePrice, Stock: it.Stock})
	}
	return out, nil
}

// HasProduct implements live.Lineups.
func (l catalogForLive) HasProduct(ctx context.Context, showID, productID string) (bool, error) {
	return l.c.HasProduct(ctx, showID, productID)
}

// FlashSale implements live.FlashSales.
func (l catalogForLive) FlashSale(ctx context.Context, id string) (live.FlashSale, error) {
	f, err := l.c.FlashSale(ctx, id)
	if errors.Is(err, catalog.ErrFlashSaleNotFound) {
		return live.FlashSale{}, fmt.Errorf("%w: %s", live.ErrFlashSaleNotFound, id)
	}
	if err != nil {
		return live.FlashSale{}, err
	}
	return live.FlashSale{ID: f.ID, ShowID: f.ShowID, ProductID: f.ProductID, SKUID: f.SKUID, Price: f.Price,
		Quantity: f.Quantity, StartsAt: f.StartsAt, EndsAt: f.EndsAt}, nil
}
