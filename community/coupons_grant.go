package community

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Coupon is one member's coupon with what its template says about it.
type Coupon struct {
	ID          string     `json:"id"`
	TemplateID  string     `json:"template_id"`
	MemberID    string     `json:"member_id"`
	Name        string     `json:"name"`
	Kind        string     `json:"kind" enum:"threshold,percent,no_threshold"`
	Threshold   int64      `json:"threshold"`
	AmountOff   int64      `json:"amount_off"`
	PercentOff  int        `json:"percent_off"`
	MaxDiscount int64      `json:"max_discount"`
	ProductIDs  []string   `json:"product_ids"`
	Source      string     `json:"source" enum:"staff,campaign,drop"`
	SourceID    string     `json:"source_id,omitempty"`
	Status      string     `json:"status" enum:"available,reserved,used,expired,revoked"`
	ValidFrom   time.Time  `json:"valid_from"`
	ExpiresAt   time.Time  `json:"expires_at"`
	OrderID     string     `json:"order_id,omitempty"`
	Discount    int64      `json:"discount,omitempty"`
	GrantedAt   time.Time  `json:"granted_at"`
	UsedAt      *time.Time `json:"used_at,omitempty"`
}

type couponRow struct {
	bun.BaseModel `bun:"table:coupons"`

	ID         string     `bun:"id,pk"`
	TemplateID string     `bun:"template_id,notnull"`
	MemberID   string     `bun:"member_id,notnull"`
	Source     string     `bun:"source,notnull"`
	SourceID   string     `bun:"source_id,notnull"`
	Status     string     `bun:"status,notnull"`
	ValidFrom  time.Time  `bun:"valid_from,notnull"`
	ExpiresAt  time.Time  `bun:"expires_at,notnull"`
	OrderID    string     `bun:"order_id,notnull"`
	Discount   int64      `bun:"discount,notnull"`
	GrantedBy  string     `bun:"granted_by,notnull"`
	GrantedAt  time.Time  `bun:"granted_at,notnull"`
	ReservedAt *time.Time `bun:"reserved_at"`
	UsedAt     *time.Time `bun:"used_at"`
	UpdatedAt  time.Time  `bun:"updated_at,notnull"`
}

// coupon renders a row with its template; a coupon still marked available
// after its expiry reads as expired (the expiry job catches up later).
func (r couponRow) coupon(t CouponTemplate, now time.Time) Coupon {
	c := Coupon{ID: r.ID, TemplateID: r.TemplateID, MemberID: r.MemberID, Name: t.Name, Kind: t.Kind, Threshold: t.Threshold,
		AmountOff: t.AmountOff, PercentOff: t.PercentOff, MaxDiscount: t.MaxDiscount, ProductIDs: t.ProductIDs,
		Source: r.Source, SourceID: r.SourceID, Status: r.Status, ValidFrom: r.ValidFrom.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
		OrderID: r.OrderID, Discount: r.Discount, GrantedAt: r.GrantedAt.UTC(), UsedAt: utcPtr(r.UsedAt)}
	if c.Status == CouponAvailable && !now.Before(c.ExpiresAt) {
		c.Status = CouponExpired
	}
	return c
}

// GrantResult is the outcome of granting a coupon to one member.
type GrantResult struct {
	MemberID string `json:"member_id"`
	CouponID string `json:"coupon_id,omitempty"`
	// Error is empty when the coupon was granted; otherwise it says why not.
	Error string `json:"error,omitempty"`
	err   error
}

// Err is the reason the grant failed, wrapping one of the coupon
// sentinels, or nil.
func (g GrantResult) Err() error { return g.err }

// maxGrantBatch bounds one staff grant.
const maxGrantBatch = 1000

// Grant gives a coupon of a template to each member, as staff. Members
// over the template's per-member limit, or beyond its stock, are reported
// in the results and get nothing.
func (c *Coupons) Grant(ctx context.Context, staffID, templateID string, memberIDs []string) ([]GrantResult, error) {
	if len(memberIDs) == 0 || len(memberIDs) > maxGrantBatch {
		return nil, fmt.Errorf("%w: give 1 to %d member ids", ErrInvalidCoupon, maxGrantBatch)
	}
	specs := make([]grantSpec, 0, len(memberIDs))
	for _, m := range memberIDs {
		if m == "" {
			return nil, fmt.Errorf("%w: member ids cannot be empty", ErrInvalidCoupon)
		}
		// A member listed twice gets two coupons, each under the limit.
		specs = append(specs, grantSpec{memberID: m, couponID: newID()})
	}
	var out []GrantResult
	err := c.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if out, err = c.grant(ctx, tx, templateID, specs, SourceStaff, "", staffID); err != nil {
			return err
		}
		granted := 0
		for _, r := range out {
			if r.err == nil {
				granted++
			}
		}
		return recordStaffAction(ctx, tx, staffID, "coupon.grant", "coupon_template", templateID,
			map[string]any{"members": len(memberIDs), "granted": granted})
	})
	return out, err
}

// grantSpec is one coupon to grant: to whom and under which id. Campaigns
// derive the id from the run and member, so a repeated grant finds the
// coupon already there.
type grantSpec struct {
	memberID string
	couponID string
}

// campaignCouponID is the id of the coupon a campaign run grants a member.
func campaignCouponID(runID, memberID string) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("siyu:campaign-coupon:"+runID+":"+memberID)).String()
}

// grant grants coupons of a template through tx, under the template's row
// lock, and reports each member's outcome. A coupon whose id already exists
// counts as granted (the grant was repeated).
func (c *Coupons) grant(ctx context.Context, tx bun.IDB, templateID string, specs []grantSpec, source, sourceID, by string) ([]GrantResult, error) {
	tpl, err := c.templateRow(ctx, tx, templateID, true)
	if err != nil {
		return nil, err
	}
	out := make([]GrantResult, len(specs))
	ids := make([]string, 0, len(specs))
	members := make([]string, 0, len(specs))
	for i, s := range specs {
		out[i] = GrantResult{MemberID: s.memberID, CouponID: s.couponID}
		ids = append(ids, s.couponID)
		members = append(members, s.memberID)
	}
	var existing []string
	if err := tx.NewSelect().Model((*couponRow)(nil)).Column("id").Where("id IN (?)", bun.In(ids)).Scan(ctx, &existing); err != nil {
		return nil, fmt.Errorf("find granted coupons: %w", err)
	}
	done := map[string]bool{}
	for _, id := range existing {
		done[id] = true
	}
	var counts []struct {
		MemberID string `bun:"member_id"`
		N        int    `bun:"n"`
	}
	if err := tx.NewSelect().Model((*couponRow)(nil)).ColumnExpr("member_id, COUNT(*) AS n").
		Where("template_id = ? AND member_id IN (?)", templateID, bun.In(members)).GroupExpr("member_id").Scan(ctx, &counts); err != nil {
		return nil, fmt.Errorf("count coupons held: %w", err)
	}
	held := map[string]int{}
	for _, n := range counts {
		held[n.MemberID] = n.N
	}
	now := c.now()
	from, until := tpl.validity(now)
	var rows []couponRow
	for i, s := range specs {
		switch {
		case done[s.couponID]:
			continue
		case tpl.Disabled:
			out[i].err = ErrCouponDisabled
		case !until.After(now):
			out[i].err = fmt.Errorf("%w: the template's validity has ended", ErrCouponNotApplicable)
		case held[s.memberID] >= tpl.PerMemberLimit:
			out[i].err = ErrCouponLimitReached
		case tpl.Issued+len(rows) >= tpl.TotalStock:
			out[i].err = ErrCouponOutOfStock
		default:
			held[s.memberID]++
			rows = append(rows, couponRow{ID: s.couponID, TemplateID: tpl.ID, MemberID: s.memberID, Source: source, SourceID: sourceID,
				Status: CouponAvailable, ValidFrom: from, ExpiresAt: until, GrantedBy: by, GrantedAt: now, UpdatedAt: now})
			continue
		}
		out[i].CouponID = ""
		out[i].Error = out[i].err.Error()
	}
	if len(rows) == 0 {
		return out, nil
	}
	if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return nil, fmt.Errorf("insert coupons: %w", err)
	}
	if _, err := tx.NewUpdate().Model((*couponTemplateRow)(nil)).Set("issued = issued + ?", len(rows)).Set("updated_at = ?", now).
		Where("id = ?", tpl.ID).Exec(ctx); err != nil {
		return nil, fmt.Errorf("count issued coupons: %w", err)
	}
	return out, nil
}

// MemberCoupons lists a member's coupons, soonest to expire first. status,
// when set, keeps only coupons in that status (available, reserved, used,
// expired or revoked).
func (c *Coupons) MemberCoupons(ctx context.Context, memberID, status string) ([]Coupon, error) {
	switch status {
	case "", CouponAvailable, CouponReserved, CouponUsed, CouponExpired, CouponRevoked:
	default:
		return nil, fmt.Errorf("%w: status must be available, reserved, used, expired or revoked", ErrInvalidCoupon)
	}
	now := c.now()
	var rows []couponRow
	q := c.db.NewSelect().Model(&rows).Where("member_id = ?", memberID)
	switch status {
	case CouponAvailable:
		q = q.Where("status = ? AND expires_at > ?", CouponAvailable, now)
	case CouponExpired:
		q = q.Where("status = ? OR (status = ? AND expires_at <= ?)", CouponExpired, CouponAvailable, now)
	case "":
	default:
		q = q.Where("status = ?", status)
	}
	if err := q.OrderExpr("expires_at, id").Limit(500).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list coupons of %s: %w", memberID, err)
	}
	return c.render(ctx, rows, now)
}

// render joins coupons with their templates.
func (c *Coupons) render(ctx context.Context, rows []couponRow, now time.Time) ([]Coupon, error) {
	out := make([]Coupon, 0, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := map[string]bool{}
	var list []string
	for _, r := range rows {
		if !ids[r.TemplateID] {
			ids[r.TemplateID] = true
			list = append(list, r.TemplateID)
		}
	}
	var tpls []couponTemplateRow
	if err := c.db.NewSelect().Model(&tpls).Where("id IN (?)", bun.In(list)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read coupon templates: %w", err)
	}
	byID := map[string]CouponTemplate{}
	for _, t := range tpls {
		byID[t.ID] = t.template()
	}
	for _, r := range rows {
		out = append(out, r.coupon(byID[r.TemplateID], now))
	}
	return out, nil
}

// MemberCoupon returns one of a member's coupons; another member's coupon
// is ErrCouponNotFound.
func (c *Coupons) MemberCoupon(ctx context.Context, memberID, couponID string) (Coupon, error) {
	var row couponRow
	if err := c.db.NewSelect().Model(&row).Where("id = ? AND member_id = ?", couponID, memberID).Scan(ctx); err != nil {
		return Coupon{}, notFoundOr(err, ErrCouponNotFound)
	}
	out, err := c.render(ctx, []couponRow{row}, c.now())
	if err != nil {
		return Coupon{}, err
	}
	return out[0], nil
}

// Revoke takes back a coupon that is not reserved or used.
func (c *Coupons) Revoke(ctx context.Context, staffID, couponID string) error {
	return c.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*couponRow)(nil)).Set("status = ?", CouponRevoked).Set("updated_at = ?", c.now()).
			Where("id = ? AND status IN (?)", couponID, bun.In([]string{CouponAvailable, CouponExpired})).Exec(ctx)
		if err != nil {
			return fmt.Errorf("revoke coupon %s: %w", couponID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var row couponRow
			if err := tx.NewSelect().Model(&row).Where("id = ?", couponID).Scan(ctx); err != nil {
				return notFoundOr(err, ErrCouponNotFound)
			}
			return fmt.Errorf("%w: the coupon is %s", ErrInvalidCoupon, row.Status)
		}
		return recordStaffAction(ctx, tx, staffID, "coupon.revoke", "coupon", couponID, nil)
	})
}

// ExpireCoupons marks available coupons past their expiry as expired and
// returns how many it marked.
func (c *Coupons) ExpireCoupons(ctx context.Context) (int, error) {
	res, err := c.db.NewUpdate().Model((*couponRow)(nil)).Set("status = ?", CouponExpired).Set("updated_at = ?", c.now()).
		Where("status = ? AND expires_at <= ?", CouponAvailable, c.now()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("expire coupons: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// notFoundOr maps "no rows" to sentinel and wraps anything else.
func notFoundOr(err, sentinel error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return sentinel
	}
	return fmt.Errorf("%s: %w", sentinel, err)
}
