package community

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// Coupon errors.
var (
	// ErrInvalidCoupon is wrapped by errors about coupon templates, grants
	// and drops that break a rule; the message says which.
	ErrInvalidCoupon = errors.New("invalid coupon input")
	// ErrCouponTemplateNotFound is returned for an unknown template.
	ErrCouponTemplateNotFound = errors.New("coupon template not found")
	// ErrCouponNotFound is returned for an unknown coupon, and for a coupon
	// of another member.
	ErrCouponNotFound = errors.New("coupon not found")
	// ErrCouponOutOfStock is returned when a template has no coupons left.
	ErrCouponOutOfStock = errors.New("no coupons of this kind are left")
	// ErrCouponLimitReached is returned when a member already holds as many
	// coupons of a template (or drop) as allowed.
	ErrCouponLimitReached = errors.New("the member already has as many of these coupons as allowed")
	// ErrCouponDisabled is returned when granting from a disabled template.
	ErrCouponDisabled = errors.New("the coupon template is disabled")
	// ErrCouponNotApplicable is returned at checkout for a coupon that
	// cannot be used on the order: not available any more, not valid yet,
	// expired, below its threshold or for other products.
	ErrCouponNotApplicable = errors.New("the coupon cannot be used on this order")
)

// Template kinds.
const (
	// CouponThreshold is 满减: AmountOff off once the applicable amount
	// reaches Threshold.
	CouponThreshold = "threshold"
	// CouponPercent is 折扣: PercentOff percent off the applicable amount
	// (once it reaches Threshold, if set), at most MaxDiscount when set.
	CouponPercent = "percent"
	// CouponNoThreshold is 无门槛: AmountOff off any order.
	CouponNoThreshold = "no_threshold"
)

// Coupon statuses.
const (
	CouponAvailable = "available"
	CouponReserved  = "reserved"
	CouponUsed      = "used"
	CouponExpired   = "expired"
	CouponRevoked   = "revoked"
)

// Coupon sources.
const (
	SourceStaff    = "staff"
	SourceCampaign = "campaign"
	SourceDrop     = "drop"
)

// CouponTemplate describes a kind of coupon: its discount, validity, stock
// and limits. Money is in fen.
type CouponTemplate struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Kind        string `json:"kind" enum:"threshold,percent,no_threshold"`
	Threshold   int64  `json:"threshold"`
	AmountOff   int64  `json:"amount_off"`
	PercentOff  int    `json:"percent_off"`
	MaxDiscount int64  `json:"max_discount"`
	// ValidFrom and ValidUntil bound when coupons can be used; ValidDays,
	// when set, makes each coupon valid for that many days from its grant
	// (and no later than ValidUntil).
	ValidFrom      *time.Time `json:"valid_from,omitempty"`
	ValidUntil     *time.Time `json:"valid_until,omitempty"`
	ValidDays      int        `json:"valid_days"`
	TotalStock     int        `json:"total_stock"`
	Issued         int        `json:"issued"`
	PerMemberLimit int        `json:"per_member_limit"`
	// ProductIDs limits the coupon to these products; empty means any.
	ProductIDs []string  `json:"product_ids"`
	Disabled   bool      `json:"disabled"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// CouponTemplateInput is what staff give for a template.
type CouponTemplateInput struct {
	Name           string     `json:"name"`
	Kind           string     `json:"kind" enum:"threshold,percent,no_threshold"`
	Threshold      int64      `json:"threshold"`
	AmountOff      int64      `json:"amount_off"`
	PercentOff     int        `json:"percent_off"`
	MaxDiscount    int64      `json:"max_discount"`
	ValidFrom      *time.Time `json:"valid_from,omitempty"`
	ValidUntil     *time.Time `json:"valid_until,omitempty"`
	ValidDays      int        `json:"valid_days"`
	TotalStock     int        `json:"total_stock"`
	PerMemberLimit int        `json:"per_member_limit"`
	ProductIDs     []string   `json:"product_ids"`
}

type couponTemplateRow struct {
	bun.BaseModel `bun:"table:coupon_templates"`

	ID             string     `bun:"id,pk"`
	Name           string     `bun:"name,notnull"`
	Kind           string     `bun:"kind,notnull"`
	Threshold      int64      `bun:"threshold,notnull"`
	AmountOff      int64      `bun:"amount_off,notnull"`
	PercentOff     int        `bun:"percent_off,notnull"`
	MaxDiscount    int64      `bun:"max_discount,notnull"`
	ValidFrom      *time.Time `bun:"valid_from"`
	ValidUntil     *time.Time `bun:"valid_until"`
	ValidDays      int        `bun:"valid_days,notnull"`
	TotalStock     int        `bun:"total_stock,notnull"`
	Issued         int        `bun:"issued,notnull"`
	PerMemberLimit int        `bun:"per_member_limit,notnull"`
	ProductIDs     string     `bun:"product_ids,notnull"`
	Disabled       bool       `bun:"disabled,notnull"`
	CreatedBy      string     `bun:"created_by,notnull"`
	CreatedAt      time.Time  `bun:"created_at,notnull"`
	UpdatedAt      time.Time  `bun:"updated_at,notnull"`
}

func (r couponTemplateRow) template() CouponTemplate {
	t := CouponTemplate{ID: r.ID, Name: r.Name, Kind: r.Kind, Threshold: r.Threshold, AmountOff: r.AmountOff,
		PercentOff: r.PercentOff, MaxDiscount: r.MaxDiscount, ValidFrom: utcPtr(r.ValidFrom), ValidUntil: utcPtr(r.ValidUntil),
		ValidDays: r.ValidDays, TotalStock: r.TotalStock, Issued: r.Issued, PerMemberLimit: r.PerMemberLimit,
		ProductIDs: []string{}, Disabled: r.Disabled, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	_ = json.Unmarshal([]byte(r.ProductIDs), &t.ProductIDs)
	return t
}

// CouponsConfig configures Coupons.
type CouponsConfig struct {
	DB    *bun.DB
	Redis redis.UniversalClient
	// Now is the clock; time.Now by default.
	Now    func() time.Time
	Logger *slog.Logger
}

// Coupons runs coupon templates, grants, drops in shows, checkout
// redemption and expiry. It implements payments.Coupons.
type Coupons struct {
	db    *bun.DB
	drops *dropEngine
	now   func() time.Time
	log   *slog.Logger
	// finish is how long after its end a drop is finished: long enough for
	// claims won in the last instant to reach the database.
	finish time.Duration
}

// NewCoupons returns the coupon service.
func NewCoupons(cfg CouponsConfig) (*Coupons, error) {
	if cfg.DB == nil || cfg.Redis == nil {
		return nil, errors.New("community: CouponsConfig needs DB and Redis")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	return &Coupons{
		db: cfg.DB, drops: newDropEngine(cfg.Redis),
		now: func() time.Time { return now().UTC() }, log: cfg.Logger, finish: time.Minute,
	}, nil
}

// validate checks a template input and returns it cleaned up.
func (in CouponTemplateInput) validate() (CouponTemplateInput, error) {
	bad := func(format string, a ...any) (CouponTemplateInput, error) {
		return in, fmt.Errorf("%w: "+format, append([]any{ErrInvalidCoupon}, a...)...)
	}
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "" || len([]rune(in.Name)) > 60:
		return bad("name must be 1 to 60 characters")
	case in.TotalStock <= 0:
		return bad("total_stock must be a positive number")
	case in.PerMemberLimit <= 0:
		return bad("per_member_limit must be a positive number")
	case in.Threshold < 0 || in.AmountOff < 0 || in.MaxDiscount < 0:
		return bad("threshold, amount_off and max_discount are fen and cannot be negative")
	case in.ValidDays < 0 || in.ValidDays > 3650:
		return bad("valid_days must be 0 to 3650")
	case in.ValidDays == 0 && in.ValidUntil == nil:
		return bad("give valid_until, valid_days, or both")
	case in.ValidFrom != nil && in.ValidUntil != nil && !in.ValidUntil.After(*in.ValidFrom):
		return bad("valid_until must be after valid_from")
	}
	switch in.Kind {
	case CouponThreshold:
		if in.Threshold <= 0 || in.AmountOff <= 0 {
			return bad("a threshold coupon needs a positive threshold and amount_off")
		}
		if in.AmountOff >= in.Threshold {
			return bad("amount_off must be less than the threshold")
		}
		if in.PercentOff != 0 {
			return bad("percent_off is only for percent coupons")
		}
	case CouponPercent:
		if in.PercentOff <= 0 || in.PercentOff >= 100 {
			return bad("percent_off must be 1 to 99")
		}
		if in.AmountOff != 0 {
			return bad("amount_off is not for percent coupons")
		}
	case CouponNoThreshold:
		if in.AmountOff <= 0 {
			return bad("a no-threshold coupon needs a positive amount_off")
		}
		if in.Threshold != 0 || in.PercentOff != 0 {
			return bad("a no-threshold coupon has no threshold or percent_off")
		}
	default:
		return bad("kind must be threshold, percent or no_threshold")
	}
	seen := map[string]bool{}
	ids := make([]string, 0, len(in.ProductIDs))
	for _, p := range in.ProductIDs {
		p = strings.TrimSpace(p)
		if p == "" {
			return bad("product_ids cannot hold an empty id")
		}
		if !seen[p] {
			seen[p] = true
			ids = append(ids, p)
		}
	}
	in.ProductIDs = ids
	if in.ValidFrom != nil {
		t := in.ValidFrom.UTC()
		in.ValidFrom = &t
	}
	if in.ValidUntil != nil {
		t := in.ValidUntil.UTC()
		in.ValidUntil = &t
	}
	return in, nil
}

// CreateTemplate stores a new coupon template.
func (c *Coupons) CreateTemplate(ctx context.Context, staffID string, in CouponTemplateInput) (CouponTemplate, error) {
	in, err := in.validate()
	if err != nil {
		return CouponTemplate{}, err
	}
	now := c.now()
	products, _ := json.Marshal(in.ProductIDs)
	row := couponTemplateRow{ID: newID(), Name: in.Name, Kind: in.Kind, Threshold: in.Threshold, AmountOff: in.AmountOff,
		PercentOff: in.PercentOff, MaxDiscount: in.MaxDiscount, ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil,
		ValidDays: in.ValidDays, TotalStock: in.TotalStock, PerMemberLimit: in.PerMemberLimit, ProductIDs: string(products),
		CreatedBy: staffID, CreatedAt: now, UpdatedAt: now}
	err = c.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return fmt.Errorf("insert coupon template: %w", err)
		}
		return recordStaffAction(ctx, tx, staffID, "coupon_template.create", "coupon_template", row.ID, in)
	})
	if err != nil {
		return CouponTemplate{}, err
	}
	return row.template(), nil
}

// Template returns a template.
func (c *Coupons) Template(ctx context.Context, id string) (CouponTemplate, error) {
	row, err := c.templateRow(ctx, c.db, id, false)
	if err != nil {
		return CouponTemplate{}, err
	}
	return row.template(), nil
}

// Templates lists every template, newest first.
func (c *Coupons) Templates(ctx context.Context) ([]CouponTemplate, error) {
	var rows []couponTemplateRow
	if err := c.db.NewSelect().Model(&rows).OrderExpr("created_at DESC, id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list coupon templates: %w", err)
	}
	out := make([]CouponTemplate, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.template())
	}
	return out, nil
}

// SetTemplateDisabled stops (or restarts) granting from a template; coupons
// already granted stay usable.
func (c *Coupons) SetTemplateDisabled(ctx context.Context, staffID, id string, disabled bool) (CouponTemplate, error) {
	err := c.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*couponTemplateRow)(nil)).Set("disabled = ?", disabled).Set("updated_at = ?", c.now()).
			Where("id = ?", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("update coupon template: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrCouponTemplateNotFound
		}
		action := "coupon_template.enable"
		if disabled {
			action = "coupon_template.disable"
		}
		return recordStaffAction(ctx, tx, staffID, action, "coupon_template", id, nil)
	})
	if err != nil {
		return CouponTemplate{}, err
	}
	return c.Template(ctx, id)
}

// templateRow reads a template, under its row lock when lock is set.
func (c *Coupons) templateRow(ctx context.Context, db bun.IDB, id string, lock bool) (couponTemplateRow, error) {
	var row couponTemplateRow
	q := db.NewSelect().Model(&row).Where("id = ?", id)
	if lock {
		q = database.ForUpdate(q)
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return row, ErrCouponTemplateNotFound
		}
		return row, fmt.Errorf("read coupon template %s: %w", id, err)
	}
	return row, nil
}

// validity returns when a coupon granted at now becomes usable and when it
// expires.
func (r couponTemplateRow) validity(now time.Time) (from, until time.Time) {
	from = now
	if r.ValidFrom != nil && r.ValidFrom.After(now) {
		from = r.ValidFrom.UTC()
	}
	if r.ValidDays > 0 {
		until = now.AddDate(0, 0, r.ValidDays)
	}
	if r.ValidUntil != nil && (until.IsZero() || r.ValidUntil.Before(until)) {
		until = r.ValidUntil.UTC()
	}
	return from, until
}

// discount is what the template takes off an applicable amount, or 0 when
// the amount is below the threshold.
func (r couponTemplateRow) discount(applicable int64) int64 {
	if applicable <= 0 || applicable < r.Threshold {
		return 0
	}
	var d int64
	switch r.Kind {
	case CouponThreshold, CouponNoThreshold:
		d = r.AmountOff
	case CouponPercent:
		d = applicable * int64(r.PercentOff) / 100
		if r.MaxDiscount > 0 {
			d = min(d, r.MaxDiscount)
		}
	}
	return min(d, applicable)
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
