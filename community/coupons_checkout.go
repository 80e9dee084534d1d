package community

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// Checkout: payments calls Reserve, Redeem and Release inside the
// transaction that changes the order, so a coupon follows its order
// exactly: held by a pending order, used by a paid one, and back in the
// member's wallet when the order closes unpaid or is fully refunded.

// CouponItem is one order line as a coupon sees it: which product and how
// much it costs in fen.
type CouponItem struct {
	ProductID string
	Amount    int64
}

// Reserve holds a member's coupon for an order, in the order's
// transaction, and returns its discount in fen. Only the lines of the
// coupon's products count towards its threshold and discount (every line,
// for a coupon not limited to some products).
func (c *Coupons) Reserve(ctx context.Context, db bun.IDB, memberID, couponID, orderID string, items []CouponItem) (int64, error) {
	return c.reserve(ctx, db, memberID, couponID, orderID, func(t couponTemplateRow) (int64, error) {
		products := t.template().ProductIDs
		var sum int64
		for _, it := range items {
			if len(products) == 0 || slices.Contains(products, it.ProductID) {
				sum += it.Amount
			}
		}
		if sum == 0 {
			return 0, fmt.Errorf("%w: none of the order's products is covered by the coupon", ErrCouponNotApplicable)
		}
		return sum, nil
	})
}

func (c *Coupons) reserve(ctx context.Context, db bun.IDB, memberID, couponID, orderID string, applicable func(couponTemplateRow) (int64, error)) (int64, error) {
	var row couponRow
	if err := database.ForUpdate(db.NewSelect().Model(&row).Where("id = ? AND member_id = ?", couponID, memberID)).Scan(ctx); err != nil {
		return 0, notFoundOr(err, ErrCouponNotFound)
	}
	if row.Status == CouponReserved && row.OrderID == orderID {
		return row.Discount, nil
	}
	now := c.now()
	switch {
	case row.Status != CouponAvailable:
		return 0, fmt.Errorf("%w: the coupon is %s", ErrCouponNotApplicable, row.Status)
	case now.Before(row.ValidFrom):
		return 0, fmt.Errorf("%w: the coupon is valid from %s", ErrCouponNotApplicable, row.ValidFrom.In(cnZone).Format("2006-01-02 15:04"))
	case !now.Before(row.ExpiresAt):
		return 0, fmt.Errorf("%w: the coupon expired", ErrCouponNotApplicable)
	}
	tpl, err := c.templateRow(ctx, db, row.TemplateID, false)
	if err != nil {
		return 0, err
	}
	amount, err := applicable(tpl)
	if err != nil {
		return 0, err
	}
	d := tpl.discount(amount)
	if d <= 0 {
		return 0, fmt.Errorf("%w: the order is below the coupon's threshold of %d fen", ErrCouponNotApplicable, tpl.Threshold)
	}
	res, err := db.NewUpdate().Model((*couponRow)(nil)).
		Set("status = ?", CouponReserved).Set("order_id = ?", orderID).Set("discount = ?", d).
		Set("reserved_at = ?", now).Set("updated_at = ?", now).
		Where("id = ? AND status = ?", couponID, CouponAvailable).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("reserve coupon %s: %w", couponID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return 0, fmt.Errorf("%w: the coupon was just used elsewhere", ErrCouponNotApplicable)
	}
	return d, nil
}

// Redeem uses up the coupon an order holds once the order is paid. It
// implements payments.Coupons; redeeming again for the same order changes
// nothing.
func (c *Coupons) Redeem(ctx context.Context, db bun.IDB, memberID, couponID, orderID string) error {
	row, err := c.heldBy(ctx, db, memberID, couponID, orderID)
	if err != nil {
		return err
	}
	if row.Status == CouponUsed {
		return nil
	}
	now := c.now()
	if _, err := db.NewUpdate().Model((*couponRow)(nil)).Set("status = ?", CouponUsed).Set("used_at = ?", now).Set("updated_at = ?", now).
		Where("id = ?", couponID).Exec(ctx); err != nil {
		return fmt.Errorf("redeem coupon %s: %w", couponID, err)
	}
	return nil
}

// Release gives the coupon an order held or used back to its member, when
// the order closes unpaid or is fully refunded: available again, or expired
// if its time is up. It implements payments.Coupons; releasing again
// changes nothing.
func (c *Coupons) Release(ctx context.Context, db bun.IDB, memberID, couponID, orderID string) error {
	var row couponRow
	if err := database.ForUpdate(db.NewSelect().Model(&row).Where("id = ? AND member_id = ?", couponID, memberID)).Scan(ctx); err != nil {
		return notFoundOr(err, ErrCouponNotFound)
	}
	if row.OrderID != orderID || (row.Status != CouponReserved && row.Status != CouponUsed) {
		// Already released (and perhaps held by another order since).
		return nil
	}
	now := c.now()
	status := CouponAvailable
	if !now.Before(row.ExpiresAt) {
		status = CouponExpired
	}
	if _, err := db.NewUpdate().Model((*couponRow)(nil)).
		Set("status = ?", status).Set("order_id = ''").Set("discount = 0").
		Set("reserved_at = NULL").Set("used_at = NULL").Set("updated_at = ?", now).
		Where("id = ?", couponID).Exec(ctx); err != nil {
		return fmt.Errorf("release coupon %s: %w", couponID, err)
	}
	return nil
}

// heldBy reads a coupon under its row lock and checks that orderID holds it.
func (c *Coupons) heldBy(ctx context.Context, db bun.IDB, memberID, couponID, orderID string) (couponRow, error) {
	var row couponRow
	if err := database.ForUpdate(db.NewSelect().Model(&row).Where("id = ? AND member_id = ?", couponID, memberID)).Scan(ctx); err != nil {
		return row, notFoundOr(err, ErrCouponNotFound)
	}
	if row.OrderID != orderID || (row.Status != CouponReserved && row.Status != CouponUsed) {
		return row, fmt.Errorf("%w: the coupon is not held by order %s", ErrCouponNotApplicable, orderID)
	}
	return row, nil
}

// cnZone is China Standard Time, the zone times are shown in (China has
// no daylight saving time, so the fixed zone is exact).
var cnZone = time.FixedZone("CST", 8*60*60)
