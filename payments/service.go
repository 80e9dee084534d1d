package payments

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/staff"
)

// Pay is WeChat Pay as the service uses it (WeChatPay implements it).
type Pay interface {
	// AppID and MchID are the appid and merchant the orders are paid to.
	AppID() string
	MchID() string
	// Prepay creates (or, for the same parameters, repeats) a JSAPI order
	// and returns the parameters wx.requestPayment takes.
	Prepay(ctx context.Context, req PrepayRequest) (PayParams, error)
	// QueryOrder returns the transaction of an out_trade_no, or
	// ErrWeChatOrderNotFound.
	QueryOrder(ctx context.Context, outTradeNo string) (Transaction, error)
	// CloseOrder closes an unpaid order; ErrWeChatOrderPaid when paid,
	// ErrWeChatOrderNotFound when WeChat Pay never saw it.
	CloseOrder(ctx context.Context, outTradeNo string) error
	// Refund asks for a refund; the same out_refund_no refunds once.
	Refund(ctx context.Context, req RefundRequest) (RefundResult, error)
	// QueryRefund returns a refund, or ErrWeChatOrderNotFound.
	QueryRefund(ctx context.Context, outRefundNo string) (RefundResult, error)
}

// PrepayRequest is a JSAPI order for WeChat Pay.
type PrepayRequest struct {
	OutTradeNo  string
	Description string
	Total       int64
	OpenID      string
	TimeExpire  time.Time
	Attach      string
}

// PayParams are the arguments of wx.requestPayment.
type PayParams struct {
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

// Transaction is a WeChat Pay transaction as a query or a notification
// reports it.
type Transaction struct {
	AppID         string
	MchID         string
	OutTradeNo    string
	TransactionID string
	// TradeState is SUCCESS, REFUND, NOTPAY, CLOSED, REVOKED, USERPAYING
	// or PAYERROR.
	TradeState  string
	Total       int64
	PayerTotal  int64
	OpenID      string
	SuccessTime time.Time
}

// Paid reports whether the money was collected (refunds come later).
func (t Transaction) Paid() bool { return t.TradeState == "SUCCESS" || t.TradeState == "REFUND" }

// RefundRequest is a refund for WeChat Pay.
type RefundRequest struct {
	OutTradeNo  string
	OutRefundNo string
	Reason      string
	Amount      int64
	Total       int64
}

// RefundResult is a WeChat Pay refund.
type RefundResult struct {
	OutTradeNo  string
	OutRefundNo string
	RefundID    string
	// Status is SUCCESS, CLOSED, PROCESSING or ABNORMAL.
	Status string
	Amount int64
	Total  int64
}

// Members is what payments needs to know about a member.
type Members interface {
	// OpenID is the member's openid under the mini-program's appid.
	OpenID(ctx context.Context, memberID string) (string, error)
	// Inviter is who first brought the member (first touch), or "".
	Inviter(ctx context.Context, memberID string) (string, error)
}

// ShowStatus is what payments needs to know about a show.
type ShowStatus struct {
	Live   bool
	HostID string
}

// Shows tells whether a show is live (live prices apply only then) and
// who hosts it. An unknown show is an error wrapping ErrShowNotFound.
type Shows interface {
	ShowStatus(ctx context.Context, showID string) (ShowStatus, error)
}

// CouponLine is one order line as a coupon judges it: the product and
// what the line costs in fen.
type CouponLine struct {
	ProductID string
	Amount    int64
}

// Coupons reserves, redeems and releases a member's coupon at checkout,
// inside the order's transaction. It is implemented by community.
type Coupons interface {
	// Reserve holds the coupon for an order and returns its discount in
	// fen for the order's lines (a coupon may cover some products only).
	Reserve(ctx context.Context, db bun.IDB, memberID, couponID, orderID string, lines []CouponLine) (int64, error)
	// Redeem uses the held coupon up once the order is paid.
	Redeem(ctx context.Context, db bun.IDB, memberID, couponID, orderID string) error
	// Release makes the held coupon usable again when the order closes.
	Release(ctx context.Context, db bun.IDB, memberID, couponID, orderID string) error
}

// Config configures a Service.
type Config struct {
	DB      *bun.DB
	Catalog *catalog.Service
	Pay     Pay
	Members Members
	// Shows may be nil: then no show is live and orders carry no host.
	Shows Shows
	// Coupons may be nil: then an order naming a coupon is refused with
	// ErrCouponNotApplicable.
	Coupons Coupons
	// Shipping uploads shipping information to WeChat.
	Shipping Shipping
	// NotifyURL and RefundNotifyURL are where WeChat Pay posts results.
	NotifyURL       string
	RefundNotifyURL string
	// OrderTTL is how long an order waits for payment (default 15m).
	OrderTTL time.Duration
	// PendingAfter is the age after which a pending order is asked about
	// at WeChat Pay (default 3m).
	PendingAfter time.Duration
	// RefundWindow is how long after payment commissions stay pending
	// (default 7 days).
	RefundWindow time.Duration
	// HostRate and InviterRate are the commissions in basis points of the
	// amount paid (default 300 and 500).
	HostRate    int64
	InviterRate int64
	Now         func() time.Time
	Logger      *slog.Logger
}

// Service runs orders, payments, refunds, shipping and commissions.
type Service struct {
	cfg Config
	db  *bun.DB
	cat *catalog.Service
	pay Pay
	now func() time.Time
	log *slog.Logger
	// sales keeps the flash sales winners buy from.
	sales *saleCache
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Catalog == nil || cfg.Pay == nil || cfg.Members == nil {
		return nil, errors.New("payments: DB, Catalog, Pay and Members are required")
	}
	if cfg.NotifyURL == "" || cfg.RefundNotifyURL == "" {
		return nil, errors.New("payments: NotifyURL and RefundNotifyURL are required")
	}
	if cfg.OrderTTL <= 0 {
		cfg.OrderTTL = 15 * time.Minute
	}
	if cfg.PendingAfter <= 0 {
		cfg.PendingAfter = 3 * time.Minute
	}
	if cfg.RefundWindow <= 0 {
		cfg.RefundWindow = 7 * 24 * time.Hour
	}
	if cfg.HostRate == 0 {
		cfg.HostRate = 300
	}
	if cfg.InviterRate == 0 {
		cfg.InviterRate = 500
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	now := cfg.Now
	return &Service{cfg: cfg, db: cfg.DB, cat: cfg.Catalog, pay: cfg.Pay, now: func() time.Time { return now().UTC() }, log: cfg.Logger,
		sales: &saleCache{cat: cfg.Catalog, db: cfg.DB}}, nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// audit records a staff member's change in the audit log, in the
// change's transaction.
func audit(ctx context.Context, tx bun.IDB, staffID, action, objectType, objectID string, detail any) error {
	return staff.Record(ctx, tx, staff.Entry{StaffID: staffID, Action: action, ObjectType: objectType, ObjectID: objectID, Detail: detail})
}
