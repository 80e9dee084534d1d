package main

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/valyala/fasthttp"

	"github.com/siyu-live/siyu/sandbox/wxpay"
)

// poolOrder is a pending order made for the payment scenarios.
type poolOrder struct {
	ID, OutTradeNo, OpenID string
	Total                  int64
}

// templateOrder returns a flash-sale order made through the API, buying
// one unit of a small sale when no scenario has made one yet.
func (w *world) templateOrder(ctx context.Context) (string, error) {
	var id string
	err := w.e.db.QueryRowContext(ctx, "SELECT id FROM orders WHERE flash_sale_id <> '' ORDER BY created_at LIMIT 1").Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	if err := w.ensureMembers(ctx); err != nil {
		return "", err
	}
	sale, err := w.createFlashSale(ctx, 10, 10)
	if err != nil {
		return "", err
	}
	var r struct {
		Order struct {
			ID string `json:"id"`
		} `json:"order"`
	}
	c := newAPIClient(w.siyuBase(), "")
	var body map[string]any
	_ = json.Unmarshal(saleBody, &body)
	if err := c.call(ctx, "POST", "/mp/v1/flash-sales/"+sale.ID+"/orders", body, &r, "Authorization", string(w.members[0].auth)); err != nil {
		return "", err
	}
	// A win reaches the database moments after its answer; reading the
	// order through the API stores it at once.
	if err := c.call(ctx, "GET", "/mp/v1/orders/"+r.Order.ID, nil, nil, "Authorization", string(w.members[0].auth)); err != nil {
		return "", err
	}
	return r.Order.ID, nil
}

// pendingOrders copies a real flash-sale order (made through the API) into
// n pending orders with their items, straight in the database: making
// tens of thousands through the API would take minutes of prepay calls
// (each one RSA-signed) that these scenarios do not measure.
func (w *world) pendingOrders(ctx context.Context, tag string, n int) ([]poolOrder, error) {
	tpl, err := w.templateOrder(ctx)
	if err != nil {
		return nil, err
	}
	prefix := "bench-" + tag + "-"
	no := "BN" + tag
	if _, err := w.e.db.ExecContext(ctx, `INSERT INTO orders (id, member_id, out_trade_no, status, items_total, discount, total, refunded,
		show_id, host_id, inviter_id, flash_sale_id, coupon_id, address, description, payer_openid, prepay_id, transaction_id,
		expires_at, created_at, updated_at)
		SELECT ? || g, o.member_id, ? || lpad(g::text, 9, '0'), 'pending', o.items_total, 0, o.total, 0,
		o.show_id, o.host_id, o.inviter_id, o.flash_sale_id, '', o.address, o.description, o.payer_openid, 'wx' || md5(g::text), '',
		now() + interval '2 hours', now(), now()
		FROM orders o, generate_series(1, ?) g WHERE o.id = ?`, prefix, no, n, tpl); err != nil {
		return nil, fmt.Errorf("copy orders: %w", err)
	}
	if _, err := w.e.db.ExecContext(ctx, `INSERT INTO order_items (order_id, line, sku_id, product_id, title, sku_title, quantity, unit_price, total)
		SELECT ? || g, i.line, i.sku_id, i.product_id, i.title, i.sku_title, i.quantity, i.unit_price, i.total
		FROM order_items i, generate_series(1, ?) g WHERE i.order_id = ?`, prefix, n, tpl); err != nil {
		return nil, fmt.Errorf("copy order items: %w", err)
	}
	if _, err := w.e.db.ExecContext(ctx, "ANALYZE orders"); err != nil {
		return nil, err
	}
	var total int64
	var openID string
	if err := w.e.db.QueryRowContext(ctx, "SELECT total, payer_openid FROM orders WHERE id = ?", tpl).Scan(&total, &openID); err != nil {
		return nil, err
	}
	out := make([]poolOrder, n)
	for i := range out {
		g := i + 1
		out[i] = poolOrder{ID: prefix + strconv.Itoa(g), OutTradeNo: fmt.Sprintf("%s%09d", no, g), OpenID: openID, Total: total}
	}
	return out, nil
}

// benchOrder is a row of orders, every column, as payments reads it.
type benchOrder struct {
	bun.BaseModel `bun:"table:orders"`

	ID                 string     `bun:"id,pk"`
	MemberID           string     `bun:"member_id"`
	OutTradeNo         string     `bun:"out_trade_no"`
	Status             string     `bun:"status"`
	ItemsTotal         int64      `bun:"items_total"`
	Discount           int64      `bun:"discount"`
	Total              int64      `bun:"total"`
	Refunded           int64      `bun:"refunded"`
	ShowID             string     `bun:"show_id"`
	HostID             string     `bun:"host_id"`
	InviterID          string     `bun:"inviter_id"`
	FlashSaleID        string     `bun:"flash_sale_id"`
	CouponID           string     `bun:"coupon_id"`
	Address            string     `bun:"address"`
	Description        string     `bun:"description"`
	PayerOpenID        string     `bun:"payer_openid"`
	PrepayID           string     `bun:"prepay_id"`
	TransactionID      string     `bun:"transaction_id"`
	ExpiresAt          time.Time  `bun:"expires_at"`
	PaidAt             *time.Time `bun:"paid_at"`
	ClosedAt           *time.Time `bun:"closed_at"`
	ShippedAt          *time.Time `bun:"shipped_at"`
	Carrier            string     `bun:"carrier"`
	TrackingNo         string     `bun:"tracking_no"`
	ShippingUploadedAt *time.Time `bun:"shipping_uploaded_at"`
	ShippingError      string     `bun:"shipping_error"`
	CreatedAt          time.Time  `bun:"created_at"`
	UpdatedAt          time.Time  `bun:"updated_at"`
}

// benchNotification is a row of payment_notifications.
type benchNotification struct {
	bun.BaseModel `bun:"table:payment_notifications"`

	ID         string    `bun:"id,pk"`
	EventType  string    `bun:"event_type"`
	Reference  string    `bun:"reference"`
	ReceivedAt time.Time `bun:"received_at"`
}

// benchCommission is a row of commission_entries.
type benchCommission struct {
	bun.BaseModel `bun:"table:commission_entries"`

	ID              string     `bun:"id,pk"`
	OrderID         string     `bun:"order_id"`
	RefundID        string     `bun:"refund_id"`
	BeneficiaryKind string     `bun:"beneficiary_kind"`
	BeneficiaryID   string     `bun:"beneficiary_id"`
	ShowID          string     `bun:"show_id"`
	Basis           int64      `bun:"basis"`
	Amount          int64      `bun:"amount"`
	Status          string     `bun:"status"`
	AvailableAt     time.Time  `bun:"available_at"`
	CreatedAt       time.Time  `bun:"created_at"`
	SettledAt       *time.Time `bun:"settled_at"`
}

// accruals are the commission rows Siyu writes for a paid order, at its
// default rates (3% to the host, 5% to the inviter) and refund window.
func accruals(o benchOrder, paidAt time.Time) []benchCommission {
	var rows []benchCommission
	for _, b := range []struct {
		kind, id string
		rate     int64
	}{{"host", o.HostID, 300}, {"inviter", o.InviterID, 500}} {
		if b.id == "" || o.Total*b.rate/10000 <= 0 {
			continue
		}
		rows = append(rows, benchCommission{ID: uuid.NewString(), OrderID: o.ID, BeneficiaryKind: b.kind, BeneficiaryID: b.id,
			ShowID: o.ShowID, Basis: o.Total, Amount: o.Total * b.rate / 10000, Status: "pending",
			AvailableAt: paidAt.Add(7 * 24 * time.Hour), CreatedAt: paidAt})
	}
	return rows
}

// dbCeiling runs the SQL transaction of a payment notification straight
// against PostgreSQL, through a pool like Siyu's, at the same
// concurrency, on distinct pending orders: remember the notification id,
// lock the order, mark it paid, write its commission accruals
// (payments/settle.go applyTransaction, statement for statement).
func dbCeiling(ctx context.Context, w *world) (result, error) {
	orders, err := w.pendingOrders(ctx, "ceil", 200_000)
	if err != nil {
		return result{}, err
	}
	var next atomic.Int64
	res := loop(ctx, w.o.concurrency, w.o.warmup, w.o.duration, func(int) operation {
		return func(int) error {
			i := next.Add(1) - 1
			if i >= int64(len(orders)) {
				return errDone
			}
			o := orders[i]
			return w.e.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				r, err := tx.NewInsert().Model(&benchNotification{ID: uuid.NewString(), EventType: "TRANSACTION.SUCCESS", Reference: o.OutTradeNo, ReceivedAt: time.Now().UTC()}).
					On("CONFLICT (id) DO NOTHING").Exec(ctx)
				if err != nil {
					return err
				}
				if n, _ := r.RowsAffected(); n != 1 {
					return errors.New("notification already there")
				}
				var row benchOrder
				if err := tx.NewSelect().Model(&row).Where("out_trade_no = ?", o.OutTradeNo).For("UPDATE").Scan(ctx); err != nil {
					return err
				}
				now := time.Now().UTC()
				if _, err := tx.NewUpdate().Model((*benchOrder)(nil)).Set("status = ?", "paid").Set("paid_at = ?", now).
					Set("transaction_id = ?", "42"+strconv.FormatInt(i, 10)).Set("updated_at = ?", now).Where("id = ?", row.ID).Exec(ctx); err != nil {
					return err
				}
				rows := accruals(row, now)
				if len(rows) == 0 {
					return nil
				}
				_, err = tx.NewInsert().Model(&rows).On("CONFLICT (order_id, refund_id, beneficiary_kind) DO NOTHING").Exec(ctx)
				return err
			})
		}
	})
	w.ceilingRate = res.Rate
	res.Notes = append(res.Notes, "a pool of 32 connections (Siyu's), the generator's core")
	return res, nil
}

// notification is a signed TRANSACTION.SUCCESS notification, ready to
// POST.
type notification struct {
	body                                []byte
	timestamp, nonce, signature, serial string
	order                               poolOrder
}

// mintNotification builds what WeChat Pay sends when order is paid: the
// transaction encrypted with the APIv3 key (AEAD_AES_256_GCM, associated
// data "transaction"), in the envelope, signed SHA256withRSA over
// "timestamp\nnonce\nbody\n" with the platform's public-key-mode key
// (sandbox/wxpay's notify.go and sign.go do the same).
func (p *payKeys) mintNotification(o poolOrder, now time.Time) (notification, error) {
	total := o.Total
	cst := time.FixedZone("CST", 8*3600)
	tx := wxpay.Transaction{AppID: p.appID, MchID: p.mchID, OutTradeNo: o.OutTradeNo,
		TransactionID: "4200" + randomDigits(24), TradeType: "JSAPI", TradeState: "SUCCESS", TradeStateDesc: "支付成功",
		BankType: "OTHERS", SuccessTime: now.In(cst).Format(time.RFC3339), Payer: &wxpay.Payer{OpenID: o.OpenID},
		Amount: wxpay.TransactionAmount{Total: total, PayerTotal: &total, Currency: "CNY", PayerCurrency: "CNY"}}
	plain, err := json.Marshal(tx)
	if err != nil {
		return notification{}, err
	}
	block, err := aes.NewCipher([]byte(p.apiV3Key))
	if err != nil {
		return notification{}, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return notification{}, err
	}
	nonce := randomAlnum(gcm.NonceSize())
	sealed := gcm.Seal(nil, []byte(nonce), plain, []byte("transaction"))
	body, err := json.Marshal(map[string]any{
		"id": uuid.NewString(), "create_time": now.In(cst).Format(time.RFC3339), "resource_type": "encrypt-resource",
		"event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
		"resource": map[string]string{"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.StdEncoding.EncodeToString(sealed),
			"associated_data": "transaction", "original_type": "transaction", "nonce": nonce},
	})
	if err != nil {
		return notification{}, err
	}
	ts, hnonce := strconv.FormatInt(now.Unix(), 10), randomAlnum(32)
	sum := sha256.Sum256([]byte(ts + "\n" + hnonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.keys.PublicKey, crypto.SHA256, sum[:])
	if err != nil {
		return notification{}, err
	}
	return notification{body: body, timestamp: ts, nonce: hnonce, signature: base64.StdEncoding.EncodeToString(sig), serial: p.keys.PublicKeyID, order: o}, nil
}

func randomDigits(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

// paymentNotifications measures POST /callbacks/wxpay/transactions with
// signed, encrypted TRANSACTION.SUCCESS notifications of distinct pending
// orders (copies of a flash-sale order). They are signed before the load
// (a fifth more than the database ceiling's rate could apply in the
// run); the measurement ends early if they run out. Afterwards every
// order must be paid once, with one notification row and its commission
// accruals, and a replay of some must change nothing.
func paymentNotifications(ctx context.Context, w *world) (result, error) {
	n := 20_000
	if w.ceilingRate > 0 {
		n = int(w.ceilingRate * (w.o.warmup + w.o.duration).Seconds() * 1.2)
	}
	n = min(max(n, 2000), 60_000)
	orders, err := w.pendingOrders(ctx, "pay", n)
	if err != nil {
		return result{}, err
	}
	notes := make([]notification, n)
	now := time.Now()
	for i, o := range orders {
		if notes[i], err = w.e.pay.mintNotification(o, now); err != nil {
			return result{}, err
		}
	}
	var next, applied atomic.Int64
	send := func(_, _ int, req *fasthttp.Request) bool {
		i := next.Add(1) - 1
		if i >= int64(len(notes)) {
			return false
		}
		nt := notes[i]
		req.Header.SetMethod("POST")
		req.SetRequestURI("/callbacks/wxpay/transactions")
		req.Header.SetContentType("application/json")
		req.Header.Set("Wechatpay-Timestamp", nt.timestamp)
		req.Header.Set("Wechatpay-Nonce", nt.nonce)
		req.Header.Set("Wechatpay-Signature", nt.signature)
		req.Header.Set("Wechatpay-Serial", nt.serial)
		req.Header.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
		req.SetBody(nt.body)
		return true
	}
	res, err := w.siyuLoad(ctx, send, func(status int, body []byte) error {
		if status != 204 {
			return fmt.Errorf("%d %.300s", status, body)
		}
		applied.Add(1)
		return nil
	})
	if err != nil {
		return res, err
	}
	sent := min(next.Load(), int64(n))
	res.Notes = append(res.Notes, fmt.Sprintf("%d notifications signed beforehand, %d sent", n, sent))
	// A replay of the first hundred: acknowledged, and nothing changes.
	replays := notes[:min(100, int(sent))]
	var ri, acked atomic.Int64
	rr := httpLoad(ctx, w.e.siyuAddr, runOptions{concurrency: 8, duration: time.Minute}, func(_, _ int, req *fasthttp.Request) bool {
		i := ri.Add(1) - 1
		if i >= int64(len(replays)) {
			return false
		}
		nt := replays[i]
		req.Header.SetMethod("POST")
		req.SetRequestURI("/callbacks/wxpay/transactions")
		req.Header.SetContentType("application/json")
		req.Header.Set("Wechatpay-Timestamp", nt.timestamp)
		req.Header.Set("Wechatpay-Nonce", nt.nonce)
		req.Header.Set("Wechatpay-Signature", nt.signature)
		req.Header.Set("Wechatpay-Serial", nt.serial)
		req.Header.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
		req.SetBody(nt.body)
		return true
	}, func(status int, body []byte) error {
		if status != 204 {
			return fmt.Errorf("%d %.300s", status, body)
		}
		acked.Add(1)
		return nil
	})
	var paid, remembered, accrued int64
	if err := w.e.db.QueryRowContext(ctx, "SELECT count(*) FROM orders WHERE id LIKE 'bench-pay-%' AND status = 'paid' AND transaction_id <> ''").Scan(&paid); err != nil {
		return res, err
	}
	if err := w.e.db.QueryRowContext(ctx, "SELECT count(*) FROM payment_notifications WHERE reference LIKE 'BNpay%'").Scan(&remembered); err != nil {
		return res, err
	}
	// Each order has one beneficiary or two, the same for all (they are
	// copies of one order): count the orders with accruals.
	if err := w.e.db.QueryRowContext(ctx, "SELECT count(DISTINCT order_id) FROM commission_entries WHERE order_id LIKE 'bench-pay-%'").Scan(&accrued); err != nil {
		return res, err
	}
	res.Checks = append(res.Checks, fmt.Sprintf("%d acknowledged (204), %d orders paid, %d notification ids remembered, %d orders with commissions accrued; %d replays acknowledged with %d errors",
		applied.Load(), paid, remembered, accrued, acked.Load(), rr.Errors))
	if paid != applied.Load() || remembered != applied.Load() || accrued != applied.Load() || rr.Errors > 0 || acked.Load() != int64(len(replays)) {
		return res, fmt.Errorf("notifications were not applied exactly once")
	}
	return res, nil
}
