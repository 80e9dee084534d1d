package payments

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/outbox"
)

// CheckoutRequest is a shopper's order. Prices, discounts and totals are
// computed by the server.
type CheckoutRequest struct {
	Items    []catalog.Line `json:"items"`
	ShowID   string         `json:"show_id,omitempty"`
	CouponID string         `json:"coupon_id,omitempty"`
	Address  Address        `json:"address"`
}

// Receipt is what creating an order answers: the order and the
// parameters of wx.requestPayment.
type Receipt struct {
	Order Order     `json:"order"`
	Pay   PayParams `json:"pay"`
}

type idempotencyRow struct {
	bun.BaseModel `bun:"table:idempotency_keys"`

	MemberID    string    `bun:"member_id,pk"`
	Key         string    `bun:"key,pk"`
	RequestHash string    `bun:"request_hash,notnull"`
	OrderID     string    `bun:"order_id,notnull"`
	Response    *string   `bun:"response"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
}

const maxLines = 50

// normalize validates req and merges repeated SKUs, so that equivalent
// bodies hash alike.
func (req CheckoutRequest) normalize() (CheckoutRequest, error) {
	if len(req.Items) == 0 {
		return req, fmt.Errorf("%w: no items", ErrInvalidOrder)
	}
	qty := map[string]int{}
	for _, it := range req.Items {
		if it.SKUID == "" {
			return req, fmt.Errorf("%w: an item has no sku_id", ErrInvalidOrder)
		}
		if it.Quantity <= 0 || it.Quantity > 999 {
			return req, fmt.Errorf("%w: quantity of %s must be 1 to 999", ErrInvalidOrder, it.SKUID)
		}
		qty[it.SKUID] += it.Quantity
	}
	if len(qty) > maxLines {
		return req, fmt.Errorf("%w: at most %d different SKUs", ErrInvalidOrder, maxLines)
	}
	lines := make([]catalog.Line, 0, len(qty))
	for id, q := range qty {
		lines = append(lines, catalog.Line{SKUID: id, Quantity: q})
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].SKUID < lines[j].SKUID })
	req.Items = lines
	return req, req.Address.validate()
}

func requestHash(req CheckoutRequest) string {
	b, _ := json.Marshal(req)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Checkout creates an order under the member's idempotency key, reserves
// its stock, and asks WeChat Pay for the prepay. The same key with the
// same request answers what the first answered; with a different request
// it is ErrIdempotencyKeyReused.
func (s *Service) Checkout(ctx context.Context, memberID, key string, req CheckoutRequest) (Receipt, error) {
	if key == "" {
		return Receipt{}, ErrIdempotencyKeyRequired
	}
	if len(key) > 200 {
		return Receipt{}, fmt.Errorf("%w: the Idempotency-Key is longer than 200 characters", ErrInvalidOrder)
	}
	// The hash covers the body as sent, before validation, so a key reused
	// with a different body is refused even when the body is wrong.
	hash := requestHash(req)
	if r, ok, err := s.idempotent(ctx, memberID, key, hash); err != nil || ok {
		return r, err
	}
	norm, err := req.normalize()
	if err != nil {
		return Receipt{}, err
	}
	if norm.CouponID != "" && s.cfg.Coupons == nil {
		return Receipt{}, ErrCouponNotApplicable
	}
	var show ShowStatus
	if norm.ShowID != "" && s.cfg.Shows != nil {
		if show, err = s.cfg.Shows.ShowStatus(ctx, norm.ShowID); err != nil {
			return Receipt{}, err
		}
	}
	openID, err := s.cfg.Members.OpenID(ctx, memberID)
	if err != nil {
		return Receipt{}, fmt.Errorf("openid of %s: %w", memberID, err)
	}
	inviter, err := s.cfg.Members.Inviter(ctx, memberID)
	if err != nil {
		return Receipt{}, fmt.Errorf("inviter of %s: %w", memberID, err)
	}
	now := s.now()
	id := newID()
	raced := false
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(&idempotencyRow{MemberID: memberID, Key: key, RequestHash: hash, OrderID: id, CreatedAt: now}).
			On("CONFLICT (member_id, key) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("store idempotency key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// A concurrent request with the same key won; answer as it does.
			raced = true
			return nil
		}
		quoted, err := s.cat.Quote(ctx, tx, norm.ShowID, show.Live, norm.Items)
		if err != nil {
			return err
		}
		if err := s.cat.Reserve(ctx, tx, norm.Items); err != nil {
			return err
		}
		o := orderRow{ID: id, MemberID: memberID, OutTradeNo: outTradeNo(id), Status: StatusPending,
			ShowID: norm.ShowID, HostID: show.HostID, InviterID: inviter, CouponID: norm.CouponID,
			Address: marshal(norm.Address), PayerOpenID: openID, ExpiresAt: now.Add(s.cfg.OrderTTL).Truncate(time.Second),
			CreatedAt: now, UpdatedAt: now}
		items := make([]itemRow, 0, len(quoted))
		for i, q := range quoted {
			total := q.UnitPrice * int64(q.Quantity)
			items = append(items, itemRow{OrderID: id, Line: i + 1, SKUID: q.SKUID, ProductID: q.ProductID, Title: q.Title,
				SKUTitle: q.SKUTitle, Quantity: q.Quantity, UnitPrice: q.UnitPrice, Total: total})
			o.ItemsTotal += total
		}
		if norm.CouponID != "" {
			lines := make([]CouponLine, 0, len(items))
			for _, it := range items {
				lines = append(lines, CouponLine{ProductID: it.ProductID, Amount: it.Total})
			}
			if o.Discount, err = s.cfg.Coupons.Reserve(ctx, tx, memberID, norm.CouponID, id, lines); err != nil {
				return err
			}
		}
		// WeChat Pay collects at least one fen.
		o.Total = max(o.ItemsTotal-o.Discount, 1)
		o.Description = describe(items)
		return s.insertOrder(ctx, tx, o, items)
	})
	if err != nil {
		return Receipt{}, err
	}
	if raced {
		r, _, err := s.idempotent(ctx, memberID, key, hash)
		return r, err
	}
	return s.answer(ctx, memberID, key, id)
}

// insertOrder stores a new order with its lines and schedules its close.
func (s *Service) insertOrder(ctx context.Context, tx bun.IDB, o orderRow, items []itemRow) error {
	if _, err := tx.NewInsert().Model(&o).Exec(ctx); err != nil {
		return fmt.Errorf("insert order: %w", err)
	}
	if _, err := tx.NewInsert().Model(&items).Exec(ctx); err != nil {
		return fmt.Errorf("insert order lines: %w", err)
	}
	return outbox.Add(ctx, tx, outbox.Message{
		ID:        "close-order:" + o.ID,
		TaskType:  TaskCloseOrder,
		Payload:   OrderTask{OrderID: o.ID},
		Queue:     "critical",
		ProcessAt: o.ExpiresAt,
	})
}

// idempotent answers a key already used: the stored answer, or, when the
// first request stopped before WeChat Pay answered, a fresh attempt for
// the same order. ok is false for a key never used.
func (s *Service) idempotent(ctx context.Context, memberID, key, hash string) (Receipt, bool, error) {
	var row idempotencyRow
	err := s.db.NewSelect().Model(&row).Where("member_id = ? AND key = ?", memberID, key).Scan(ctx)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Receipt{}, false, nil
		}
		return Receipt{}, false, fmt.Errorf("read idempotency key: %w", err)
	}
	if row.RequestHash != hash {
		return Receipt{}, true, ErrIdempotencyKeyReused
	}
	if row.Response != nil {
		var r Receipt
		if err := json.Unmarshal([]byte(*row.Response), &r); err != nil {
			return Receipt{}, true, fmt.Errorf("stored answer of key %q: %w", key, err)
		}
		return r, true, nil
	}
	r, err := s.answer(ctx, memberID, key, row.OrderID)
	return r, true, err
}

// answer gets the prepay for an order created under a key and stores the
// receipt as the key's answer; when a concurrent request stored one first,
// that one is returned, so every request with the key answers the same.
func (s *Service) answer(ctx context.Context, memberID, key, orderID string) (Receipt, error) {
	r, err := s.receipt(ctx, memberID, orderID)
	if err != nil {
		return Receipt{}, err
	}
	if _, err := s.db.NewUpdate().Model((*idempotencyRow)(nil)).Set("response = ?", marshal(r)).
		Where("member_id = ? AND key = ? AND response IS NULL", memberID, key).Exec(ctx); err != nil {
		return Receipt{}, fmt.Errorf("store answer of key %q: %w", key, err)
	}
	var row idempotencyRow
	if err := s.db.NewSelect().Model(&row).Where("member_id = ? AND key = ?", memberID, key).Scan(ctx); err != nil {
		return Receipt{}, fmt.Errorf("read idempotency key: %w", err)
	}
	var stored Receipt
	if row.Response == nil || json.Unmarshal([]byte(*row.Response), &stored) != nil {
		return r, nil
	}
	return stored, nil
}

// Pay returns wx.requestPayment parameters for one of the member's pending
// orders: a flash-sale winner's (whose win answered the order alone), or
// fresh ones for a shopper who closed the cashier.
func (s *Service) Pay(ctx context.Context, memberID, orderID string) (Receipt, error) {
	return s.receipt(ctx, memberID, orderID)
}

// receipt asks WeChat Pay for the prepay of a pending order.
func (s *Service) receipt(ctx context.Context, memberID, orderID string) (Receipt, error) {
	r, items, err := s.orderOrClaim(ctx, orderID)
	if err != nil {
		return Receipt{}, err
	}
	if r.MemberID != memberID {
		return Receipt{}, ErrOrderNotFound
	}
	if r.Status != StatusPending || !s.now().Before(r.ExpiresAt) {
		return Receipt{}, fmt.Errorf("%w: it is %s", ErrNotPayable, r.Status)
	}
	if r.PayerOpenID == "" {
		// A flash-sale order whose buyer the batch that stored it could
		// not look up: the payer is the caller, asked again now, and so
		// is who invited them (first touch: the same answer as then), so
		// the commission is not lost.
		if r.PayerOpenID, err = s.cfg.Members.OpenID(ctx, memberID); err != nil {
			return Receipt{}, fmt.Errorf("openid of %s: %w", memberID, err)
		}
		if r.InviterID == "" {
			if r.InviterID, err = s.cfg.Members.Inviter(ctx, memberID); err != nil {
				return Receipt{}, fmt.Errorf("inviter of %s: %w", memberID, err)
			}
		}
	}
	params, err := s.pay.Prepay(ctx, PrepayRequest{OutTradeNo: r.OutTradeNo, Description: r.Description, Total: r.Total,
		OpenID: r.PayerOpenID, TimeExpire: r.ExpiresAt, Attach: attach(r)})
	if err != nil {
		return Receipt{}, fmt.Errorf("%w: %w", ErrPaymentUnavailable, err)
	}
	prepayID := strings.TrimPrefix(params.Package, "prepay_id=")
	if _, err := s.db.NewUpdate().Model((*orderRow)(nil)).Set("prepay_id = ?", prepayID).Set("payer_openid = ?", r.PayerOpenID).
		Set("inviter_id = ?", r.InviterID).Set("updated_at = ?", s.now()).Where("id = ?", r.ID).Exec(ctx); err != nil {
		return Receipt{}, fmt.Errorf("store prepay id: %w", err)
	}
	return Receipt{Order: r.order(items), Pay: params}, nil
}

// attach is the order's attribution, which WeChat Pay echoes back.
func attach(r orderRow) string {
	if r.ShowID == "" {
		return ""
	}
	return "show=" + r.ShowID
}

// describe is the order's description on the shopper's bill.
func describe(items []itemRow) string {
	if len(items) == 0 {
		return "订单"
	}
	d := items[0].Title
	if items[0].SKUTitle != "" {
		d += " " + items[0].SKUTitle
	}
	if len(items) > 1 {
		d += " 等" + strconv.Itoa(len(items)) + "件商品"
	}
	return description(d)
}

func marshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
