package payments

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// Order statuses.
const (
	StatusPending  = "pending"  // waiting for payment
	StatusPaid     = "paid"     // paid, not shipped
	StatusShipped  = "shipped"  // paid and handed to the carrier
	StatusClosed   = "closed"   // never paid: cancelled or expired
	StatusRefunded = "refunded" // paid, then refunded in full
)

// Address is where an order is delivered.
type Address struct {
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Province string `json:"province"`
	City     string `json:"city"`
	District string `json:"district"`
	Detail   string `json:"detail"`
}

func (a Address) validate() error {
	for _, f := range []struct{ name, v string }{
		{"name", a.Name}, {"phone", a.Phone}, {"province", a.Province}, {"city", a.City}, {"detail", a.Detail},
	} {
		if strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("%w: %s is required", ErrInvalidAddress, f.name)
		}
		if utf8.RuneCountInString(f.v) > 200 {
			return fmt.Errorf("%w: %s is longer than 200 characters", ErrInvalidAddress, f.name)
		}
	}
	digits := 0
	for _, r := range a.Phone {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' || r == '-' || r == ' ':
		default:
			return fmt.Errorf("%w: phone must be digits", ErrInvalidAddress)
		}
	}
	if digits < 5 {
		return fmt.Errorf("%w: phone is too short", ErrInvalidAddress)
	}
	return nil
}

// maskedPhone keeps the last four digits, as WeChat's shipping upload wants.
func (a Address) maskedPhone() string {
	var d []rune
	for _, r := range a.Phone {
		if r >= '0' && r <= '9' {
			d = append(d, r)
		}
	}
	for i := 0; i < len(d)-4; i++ {
		if i >= 3 {
			d[i] = '*'
		}
	}
	return string(d)
}

// Item is one line of an order.
type Item struct {
	SKUID     string `json:"sku_id"`
	ProductID string `json:"product_id"`
	Title     string `json:"title"`
	SKUTitle  string `json:"sku_title"`
	Quantity  int    `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
	Total     int64  `json:"total"`
}

// Order is a shopper's order. Amounts are fen.
type Order struct {
	ID          string     `json:"id"`
	MemberID    string     `json:"member_id"`
	OutTradeNo  string     `json:"out_trade_no"`
	Status      string     `json:"status"`
	Items       []Item     `json:"items"`
	ItemsTotal  int64      `json:"items_total"`
	Discount    int64      `json:"discount"`
	Total       int64      `json:"total"`
	Refunded    int64      `json:"refunded"`
	ShowID      string     `json:"show_id,omitempty"`
	HostID      string     `json:"host_id,omitempty"`
	InviterID   string     `json:"inviter_id,omitempty"`
	FlashSaleID string     `json:"flash_sale_id,omitempty"`
	CouponID    string     `json:"coupon_id,omitempty"`
	Address     Address    `json:"address"`
	Description string     `json:"description"`
	ExpiresAt   time.Time  `json:"expires_at"`
	PaidAt      *time.Time `json:"paid_at,omitempty"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	ShippedAt   *time.Time `json:"shipped_at,omitempty"`
	Carrier     string     `json:"carrier,omitempty"`
	TrackingNo  string     `json:"tracking_no,omitempty"`
	// TransactionID is WeChat Pay's id of the payment.
	TransactionID string `json:"transaction_id,omitempty"`
	// ShippingUploaded says WeChat accepted the shipping information.
	ShippingUploaded bool      `json:"shipping_uploaded"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

type orderRow struct {
	bun.BaseModel `bun:"table:orders"`

	ID                 string     `bun:"id,pk"`
	MemberID           string     `bun:"member_id,notnull"`
	OutTradeNo         string     `bun:"out_trade_no,notnull"`
	Status             string     `bun:"status,notnull"`
	ItemsTotal         int64      `bun:"items_total,notnull"`
	Discount           int64      `bun:"discount,notnull"`
	Total              int64      `bun:"total,notnull"`
	Refunded           int64      `bun:"refunded,notnull"`
	ShowID             string     `bun:"show_id,notnull"`
	HostID             string     `bun:"host_id,notnull"`
	InviterID          string     `bun:"inviter_id,notnull"`
	FlashSaleID        string     `bun:"flash_sale_id,notnull"`
	CouponID           string     `bun:"coupon_id,notnull"`
	Address            string     `bun:"address,notnull"`
	Description        string     `bun:"description,notnull"`
	PayerOpenID        string     `bun:"payer_openid,notnull"`
	PrepayID           string     `bun:"prepay_id,notnull"`
	TransactionID      string     `bun:"transaction_id,notnull"`
	ExpiresAt          time.Time  `bun:"expires_at,notnull"`
	PaidAt             *time.Time `bun:"paid_at"`
	ClosedAt           *time.Time `bun:"closed_at"`
	ShippedAt          *time.Time `bun:"shipped_at"`
	Carrier            string     `bun:"carrier,notnull"`
	TrackingNo         string     `bun:"tracking_no,notnull"`
	ShippingUploadedAt *time.Time `bun:"shipping_uploaded_at"`
	ShippingError      string     `bun:"shipping_error,notnull"`
	CreatedAt          time.Time  `bun:"created_at,notnull"`
	UpdatedAt          time.Time  `bun:"updated_at,notnull"`
}

type itemRow struct {
	bun.BaseModel `bun:"table:order_items"`

	OrderID   string `bun:"order_id,pk"`
	Line      int    `bun:"line,pk"`
	SKUID     string `bun:"sku_id,notnull"`
	ProductID string `bun:"product_id,notnull"`
	Title     string `bun:"title,notnull"`
	SKUTitle  string `bun:"sku_title,notnull"`
	Quantity  int    `bun:"quantity,notnull"`
	UnitPrice int64  `bun:"unit_price,notnull"`
	Total     int64  `bun:"total,notnull"`
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (r orderRow) order(items []itemRow) Order {
	o := Order{
		ID: r.ID, MemberID: r.MemberID, OutTradeNo: r.OutTradeNo, Status: r.Status,
		ItemsTotal: r.ItemsTotal, Discount: r.Discount, Total: r.Total, Refunded: r.Refunded,
		ShowID: r.ShowID, HostID: r.HostID, InviterID: r.InviterID, FlashSaleID: r.FlashSaleID, CouponID: r.CouponID,
		Description: r.Description, ExpiresAt: r.ExpiresAt.UTC(), PaidAt: utc(r.PaidAt), ClosedAt: utc(r.ClosedAt),
		ShippedAt: utc(r.ShippedAt), Carrier: r.Carrier, TrackingNo: r.TrackingNo, TransactionID: r.TransactionID,
		ShippingUploaded: r.ShippingUploadedAt != nil, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Items: make([]Item, 0, len(items)),
	}
	_ = json.Unmarshal([]byte(r.Address), &o.Address)
	for _, it := range items {
		o.Items = append(o.Items, Item{SKUID: it.SKUID, ProductID: it.ProductID, Title: it.Title, SKUTitle: it.SKUTitle,
			Quantity: it.Quantity, UnitPrice: it.UnitPrice, Total: it.Total})
	}
	return o
}

// outTradeNo derives the WeChat Pay order number from the order id: the
// UUID's 32 hex digits, within the documented 6-32 characters of
// [0-9A-Za-z_-|*] and unique as the id is.
func outTradeNo(orderID string) string { return strings.ReplaceAll(orderID, "-", "") }

// loadOrder reads an order and its lines through db.
func loadOrder(ctx context.Context, db bun.IDB, id string) (orderRow, []itemRow, error) {
	r, err := readOrder(ctx, db, id)
	if err != nil {
		return r, nil, err
	}
	items, err := loadItems(ctx, db, id)
	return r, items, err
}

// readOrder reads an order without its lines.
func readOrder(ctx context.Context, db bun.IDB, id string) (orderRow, error) {
	var r orderRow
	if err := db.NewSelect().Model(&r).Where("id = ?", id).Scan(ctx); err != nil {
		return r, notFound(err, ErrOrderNotFound)
	}
	return r, nil
}

func loadItems(ctx context.Context, db bun.IDB, orderID string) ([]itemRow, error) {
	var items []itemRow
	if err := db.NewSelect().Model(&items).Where("order_id = ?", orderID).OrderExpr("line").Scan(ctx); err != nil {
		return nil, fmt.Errorf("read order lines: %w", err)
	}
	return items, nil
}

// lockOrder reads an order under its row lock, inside a transaction.
func lockOrder(ctx context.Context, tx bun.IDB, where string, arg any) (orderRow, error) {
	var r orderRow
	if err := database.ForUpdate(tx.NewSelect().Model(&r).Where(where, arg)).Scan(ctx); err != nil {
		return r, notFound(err, ErrOrderNotFound)
	}
	return r, nil
}

func notFound(err, sentinel error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return sentinel
	}
	return fmt.Errorf("%v: %w", sentinel, err)
}

// MemberOrder returns one of the member's orders; another member's order
// is ErrOrderNotFound.
func (s *Service) MemberOrder(ctx context.Context, memberID, orderID string) (Order, error) {
	r, items, err := s.orderOrClaim(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	if r.MemberID != memberID {
		return Order{}, ErrOrderNotFound
	}
	return r.order(items), nil
}

// Order returns any order (for staff).
func (s *Service) Order(ctx context.Context, orderID string) (Order, error) {
	r, items, err := loadOrder(ctx, s.db, orderID)
	if err != nil {
		return Order{}, err
	}
	return r.order(items), nil
}

// OrderFilter narrows order lists.
type OrderFilter struct {
	MemberID    string
	Status      string
	ShowID      string
	FlashSaleID string
	// Before pages: only orders created before this order's id.
	Before string
	Limit  int
}

// Orders lists orders newest first.
func (s *Service) Orders(ctx context.Context, f OrderFilter) ([]Order, error) {
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 20
	}
	var rows []orderRow
	q := s.db.NewSelect().Model(&rows).OrderExpr("id DESC").Limit(int64(f.Limit))
	if f.MemberID != "" {
		q = q.Where("member_id = ?", f.MemberID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.ShowID != "" {
		q = q.Where("show_id = ?", f.ShowID)
	}
	if f.FlashSaleID != "" {
		q = q.Where("flash_sale_id = ?", f.FlashSaleID)
	}
	if f.Before != "" {
		// Ids are UUIDv7: their order is their creation order.
		q = q.Where("id < ?", f.Before)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list orders: %w", err)
	}
	out := make([]Order, 0, len(rows))
	for _, r := range rows {
		items, err := loadItems(ctx, s.db, r.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, r.order(items))
	}
	return out, nil
}
