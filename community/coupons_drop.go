package community

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/outbox"
)

// Coupon-drop errors.
var (
	// ErrDropNotFound is returned for an unknown drop, or one of another show.
	ErrDropNotFound = errors.New("coupon drop not found")
	// ErrDropSoldOut is returned when a drop has no coupons left.
	ErrDropSoldOut = errors.New("all coupons of this drop have been claimed")
	// ErrDropNotStarted is returned for a claim before the drop opens.
	ErrDropNotStarted = errors.New("the coupon drop has not started yet")
	// ErrDropEnded is returned for a claim after the drop closed.
	ErrDropEnded = errors.New("the coupon drop has ended")
	// ErrShowNotOpen is returned for a drop in a show that ended, was
	// cancelled or does not exist.
	ErrShowNotOpen = errors.New("the show does not exist or is over")
)

// DropRejected says why a claim lost, wrapping ErrDropSoldOut,
// ErrCouponLimitReached, ErrDropNotStarted or ErrDropEnded.
type DropRejected struct {
	Err error
	// At is when the drop starts (ErrDropNotStarted) or ended.
	At  time.Time
	now time.Time
}

func (e *DropRejected) Error() string { return e.Err.Error() }

// Unwrap returns the sentinel.
func (e *DropRejected) Unwrap() error { return e.Err }

// RetryAfter tells a member who is too early when the drop opens.
func (e *DropRejected) RetryAfter() time.Duration {
	if errors.Is(e.Err, ErrDropNotStarted) && e.At.After(e.now) {
		return e.At.Sub(e.now)
	}
	return 0
}

// CouponDrop offers Quantity coupons of a template to a show's viewers,
// at most PerMemberLimit to each, between StartsAt and EndsAt.
type CouponDrop struct {
	ID             string     `json:"id"`
	ShowID         string     `json:"show_id"`
	TemplateID     string     `json:"template_id"`
	Quantity       int        `json:"quantity"`
	PerMemberLimit int        `json:"per_member_limit"`
	StartsAt       time.Time  `json:"starts_at"`
	EndsAt         time.Time  `json:"ends_at"`
	CreatedBy      string     `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	FinishedAt     *time.Time `json:"finished_at,omitempty"`
	// Remaining is how many coupons are left to claim right now.
	Remaining int `json:"remaining"`
	// Returned is how many unclaimed coupons went back to the template's
	// stock when the drop finished.
	Returned int `json:"returned"`
	// Template is what the coupons are.
	Template CouponTemplate `json:"template"`
}

// CouponDropInput is what staff give for a drop. StartsAt defaults to now;
// EndsAt to StartsAt plus DurationSeconds (60 when neither is given).
type CouponDropInput struct {
	TemplateID      string     `json:"template_id"`
	Quantity        int        `json:"quantity"`
	PerMemberLimit  int        `json:"per_member_limit"`
	StartsAt        *time.Time `json:"starts_at,omitempty"`
	EndsAt          *time.Time `json:"ends_at,omitempty"`
	DurationSeconds int        `json:"duration_seconds,omitempty"`
}

type couponDropRow struct {
	bun.BaseModel `bun:"table:coupon_drops"`

	ID             string     `bun:"id,pk"`
	ShowID         string     `bun:"show_id,notnull"`
	TemplateID     string     `bun:"template_id,notnull"`
	Quantity       int        `bun:"quantity,notnull"`
	PerMemberLimit int        `bun:"per_member_limit,notnull"`
	StartsAt       time.Time  `bun:"starts_at,notnull"`
	EndsAt         time.Time  `bun:"ends_at,notnull"`
	CreatedBy      string     `bun:"created_by,notnull"`
	CreatedAt      time.Time  `bun:"created_at,notnull"`
	FinishedAt     *time.Time `bun:"finished_at"`
	Returned       int        `bun:"returned,notnull"`
}

func (r couponDropRow) drop() CouponDrop {
	return CouponDrop{ID: r.ID, ShowID: r.ShowID, TemplateID: r.TemplateID, Quantity: r.Quantity, PerMemberLimit: r.PerMemberLimit,
		StartsAt: r.StartsAt.UTC(), EndsAt: r.EndsAt.UTC(), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(),
		FinishedAt: utcPtr(r.FinishedAt), Returned: r.Returned}
}

// Task types the coupon service asks the worker to run through the outbox.
const (
	TaskFinishCouponDrop = "community:finish-coupon-drop"
	// TaskDrainCouponDrops (periodic) persists claims whose request died
	// between Redis and the database.
	TaskDrainCouponDrops = "community:drain-coupon-drops"
	// TaskExpireCoupons (periodic) marks coupons past their expiry.
	TaskExpireCoupons = "community:expire-coupons"
)

// CouponDropTask is the payload of TaskFinishCouponDrop.
type CouponDropTask struct {
	DropID string `json:"drop_id"`
}

// maxDropQuantity bounds one drop.
const maxDropQuantity = 1_000_000

// CreateDrop allots a drop's coupons from the template's stock and arms
// the drop in Redis. The show must be scheduled or live.
func (c *Coupons) CreateDrop(ctx context.Context, staffID, showID string, in CouponDropInput) (CouponDrop, error) {
	now := c.now()
	starts := now
	if in.StartsAt != nil {
		starts = in.StartsAt.UTC()
	}
	var ends time.Time
	switch {
	case in.EndsAt != nil:
		ends = in.EndsAt.UTC()
	case in.DurationSeconds > 0:
		ends = starts.Add(time.Duration(in.DurationSeconds) * time.Second)
	default:
		ends = starts.Add(time.Minute)
	}
	switch {
	case in.TemplateID == "":
		return CouponDrop{}, fmt.Errorf("%w: template_id is required", ErrInvalidCoupon)
	case in.Quantity <= 0 || in.Quantity > maxDropQuantity:
		return CouponDrop{}, fmt.Errorf("%w: quantity must be 1 to %d", ErrInvalidCoupon, maxDropQuantity)
	case in.PerMemberLimit <= 0:
		return CouponDrop{}, fmt.Errorf("%w: per_member_limit must be a positive number", ErrInvalidCoupon)
	case in.DurationSeconds < 0:
		return CouponDrop{}, fmt.Errorf("%w: duration_seconds cannot be negative", ErrInvalidCoupon)
	case !ends.After(starts):
		return CouponDrop{}, fmt.Errorf("%w: ends_at must be after starts_at", ErrInvalidCoupon)
	case !ends.After(now):
		return CouponDrop{}, fmt.Errorf("%w: ends_at is in the past", ErrInvalidCoupon)
	}
	row := couponDropRow{ID: newID(), ShowID: showID, TemplateID: in.TemplateID, Quantity: in.Quantity, PerMemberLimit: in.PerMemberLimit,
		StartsAt: starts, EndsAt: ends, CreatedBy: staffID, CreatedAt: now}
	err := c.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := showOpen(ctx, tx, showID); err != nil {
			return err
		}
		tpl, err := c.templateRow(ctx, tx, in.TemplateID, true)
		if err != nil {
			return err
		}
		switch {
		case tpl.Disabled:
			return ErrCouponDisabled
		case in.PerMemberLimit > tpl.PerMemberLimit:
			return fmt.Errorf("%w: per_member_limit cannot exceed the template's (%d)", ErrInvalidCoupon, tpl.PerMemberLimit)
		case tpl.Issued+in.Quantity > tpl.TotalStock:
			return fmt.Errorf("%w: %d of the template's coupons are left", ErrCouponOutOfStock, tpl.TotalStock-tpl.Issued)
		}
		if _, until := tpl.validity(ends); !until.After(ends) {
			return fmt.Errorf("%w: the template's coupons expire before the drop ends", ErrInvalidCoupon)
		}
		if _, err := tx.NewUpdate().Model((*couponTemplateRow)(nil)).Set("issued = issued + ?", in.Quantity).Set("updated_at = ?", now).
			Where("id = ?", tpl.ID).Exec(ctx); err != nil {
			return fmt.Errorf("allot drop coupons: %w", err)
		}
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return fmt.Errorf("insert coupon drop: %w", err)
		}
		if err := recordStaffAction(ctx, tx, staffID, "coupon_drop.create", "show", showID,
			map[string]any{"drop_id": row.ID, "template_id": row.TemplateID, "quantity": row.Quantity}); err != nil {
			return err
		}
		return outbox.Add(ctx, tx, outbox.Message{
			ID:        "finish-coupon-drop:" + row.ID,
			TaskType:  TaskFinishCouponDrop,
			Payload:   CouponDropTask{DropID: row.ID},
			Queue:     "critical",
			ProcessAt: ends.Add(c.finish),
		})
	})
	if err != nil {
		return CouponDrop{}, err
	}
	// A drop that fails to arm now is armed from the database by the
	// first claim.
	if _, err := c.drops.runArm(ctx, row.drop(), row.Quantity, nil); err != nil {
		c.log.Error("arm coupon drop", "drop_id", row.ID, "err", err)
	}
	return c.Drop(ctx, showID, row.ID)
}

// showOpen checks in live's shows table that a show exists and is
// scheduled or live.
func showOpen(ctx context.Context, db bun.IDB, showID string) error {
	var status string
	err := db.NewSelect().Table("shows").Column("status").Where("id = ?", showID).Scan(ctx, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrShowNotOpen
	}
	if err != nil {
		return fmt.Errorf("read show %s: %w", showID, err)
	}
	if status != "scheduled" && status != "live" {
		return fmt.Errorf("%w: the show is %s", ErrShowNotOpen, status)
	}
	return nil
}

// Drop returns a show's drop with the coupons left.
func (c *Coupons) Drop(ctx context.Context, showID, dropID string) (CouponDrop, error) {
	var row couponDropRow
	if err := c.db.NewSelect().Model(&row).Where("id = ? AND show_id = ?", dropID, showID).Scan(ctx); err != nil {
		return CouponDrop{}, notFoundOr(err, ErrDropNotFound)
	}
	drops, err := c.renderDrops(ctx, []couponDropRow{row})
	if err != nil {
		return CouponDrop{}, err
	}
	return drops[0], nil
}

// Drops lists a show's drops by start time.
func (c *Coupons) Drops(ctx context.Context, showID string) ([]CouponDrop, error) {
	var rows []couponDropRow
	if err := c.db.NewSelect().Model(&rows).Where("show_id = ?", showID).OrderExpr("starts_at, id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list coupon drops: %w", err)
	}
	return c.renderDrops(ctx, rows)
}

func (c *Coupons) renderDrops(ctx context.Context, rows []couponDropRow) ([]CouponDrop, error) {
	out := make([]CouponDrop, 0, len(rows))
	tpls := map[string]CouponTemplate{}
	for _, r := range rows {
		d := r.drop()
		t, ok := tpls[r.TemplateID]
		if !ok {
			var err error
			if t, err = c.Template(ctx, r.TemplateID); err != nil {
				return nil, err
			}
			tpls[r.TemplateID] = t
		}
		d.Template = t
		if d.FinishedAt == nil {
			n, armed, err := c.drops.remaining(ctx, d.ID)
			if err != nil {
				return nil, err
			}
			if !armed {
				claimed, err := c.dropClaimed(ctx, c.db, d.ID)
				if err != nil {
					return nil, err
				}
				n = d.Quantity - claimed
			}
			d.Remaining = max(n, 0)
		}
		out = append(out, d)
	}
	return out, nil
}

// dropClaimed counts the coupons a drop's claims became.
func (c *Coupons) dropClaimed(ctx context.Context, db bun.IDB, dropID string) (int, error) {
	n, err := db.NewSelect().Model((*couponRow)(nil)).Where("source = ? AND source_id = ?", SourceDrop, dropID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count claims of drop %s: %w", dropID, err)
	}
	return int(n), nil
}

// ClaimDrop claims one coupon of a drop for a member, atomically in Redis:
// never more than the drop's quantity, never more than its per-member
// limit. requestKey, when set, makes a retried request answer the coupon
// it already won. The coupon is in the member's wallet when ClaimDrop
// returns.
func (c *Coupons) ClaimDrop(ctx context.Context, memberID, showID, dropID, requestKey string) (Coupon, error) {
	now := c.now()
	claim := dropClaim{ID: newID(), DropID: dropID, MemberID: memberID, At: now}
	dedupe := ""
	if requestKey != "" {
		dedupe = memberID + ":" + requestKey
	}
	var row couponDropRow
	loaded := false
	for attempt := 0; ; attempt++ {
		out, err := c.drops.runClaim(ctx, claim, showID, dedupe)
		if err != nil {
			return Coupon{}, err
		}
		switch out.result {
		case "ok":
			claim.entry = out.entry
			if !loaded {
				if err := c.db.NewSelect().Model(&row).Where("id = ?", dropID).Scan(ctx); err != nil {
					return Coupon{}, notFoundOr(err, ErrDropNotFound)
				}
			}
			if err := c.persistClaims(ctx, row, []dropClaim{claim}); err != nil {
				// The journal still holds the claim; the drainer persists it.
				return Coupon{}, err
			}
			if err := c.drops.ack(ctx, dropID, claim.entry); err != nil {
				c.log.Warn("acknowledge coupon-drop claim", "drop_id", dropID, "err", err)
			}
			return c.MemberCoupon(ctx, memberID, claim.ID)
		case "dup":
			return c.MemberCoupon(ctx, memberID, out.detail)
		case "not_found":
			return Coupon{}, ErrDropNotFound
		case "sold_out":
			return Coupon{}, &DropRejected{Err: ErrDropSoldOut, now: now}
		case "limit":
			return Coupon{}, &DropRejected{Err: ErrCouponLimitReached, now: now}
		case "not_started":
			ms, _ := strconv.ParseInt(out.detail, 10, 64)
			return Coupon{}, &DropRejected{Err: ErrDropNotStarted, At: time.UnixMilli(ms).UTC(), now: now}
		case "ended":
			ms, _ := strconv.ParseInt(out.detail, 10, 64)
			return Coupon{}, &DropRejected{Err: ErrDropEnded, At: time.UnixMilli(ms).UTC(), now: now}
		case "not_armed":
			if attempt > 0 {
				return Coupon{}, ErrDropEnded
			}
			if err := c.db.NewSelect().Model(&row).Where("id = ? AND show_id = ?", dropID, showID).Scan(ctx); err != nil {
				return Coupon{}, notFoundOr(err, ErrDropNotFound)
			}
			loaded = true
			if row.FinishedAt != nil {
				return Coupon{}, &DropRejected{Err: ErrDropEnded, At: row.EndsAt.UTC(), now: now}
			}
			if err := c.armFromDB(ctx, row); err != nil {
				return Coupon{}, err
			}
		default:
			return Coupon{}, fmt.Errorf("coupon-drop claim script answered %q", out.result)
		}
	}
}

// persistClaims turns won claims into coupons, idempotently: the claim id
// is the coupon id.
func (c *Coupons) persistClaims(ctx context.Context, drop couponDropRow, claims []dropClaim) error {
	if len(claims) == 0 {
		return nil
	}
	tpl, err := c.templateRow(ctx, c.db, drop.TemplateID, false)
	if err != nil {
		return err
	}
	rows := make([]couponRow, 0, len(claims))
	for _, cl := range claims {
		from, until := tpl.validity(cl.At)
		rows = append(rows, couponRow{ID: cl.ID, TemplateID: drop.TemplateID, MemberID: cl.MemberID, Source: SourceDrop, SourceID: drop.ID,
			Status: CouponAvailable, ValidFrom: from, ExpiresAt: until, GrantedAt: cl.At, UpdatedAt: cl.At})
	}
	if _, err := c.db.NewInsert().Model(&rows).On("CONFLICT (id) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("persist coupon-drop claims: %w", err)
	}
	return nil
}

// armFromDB arms a drop Redis does not hold from the coupons its claims
// became and the claims still in its journal.
func (c *Coupons) armFromDB(ctx context.Context, row couponDropRow) error {
	var coupons []couponRow
	if err := c.db.NewSelect().Model(&coupons).Where("source = ? AND source_id = ?", SourceDrop, row.ID).Scan(ctx); err != nil {
		return fmt.Errorf("read claims of drop %s: %w", row.ID, err)
	}
	pending, _, err := c.drops.journal(ctx, row.ID, 0)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	var claims []dropClaim
	for _, cp := range coupons {
		known[cp.ID] = true
		claims = append(claims, dropClaim{ID: cp.ID, DropID: row.ID, MemberID: cp.MemberID, At: cp.GrantedAt.UTC()})
	}
	for _, cl := range pending {
		if !known[cl.ID] {
			known[cl.ID] = true
			claims = append(claims, cl)
		}
	}
	armed, err := c.drops.runArm(ctx, row.drop(), row.Quantity-len(claims), claims)
	if err != nil {
		return err
	}
	if armed {
		c.log.Warn("coupon drop armed from the database", "drop_id", row.ID, "claims", len(claims))
	}
	return nil
}

// DrainDrop persists every claim waiting in a drop's journal and returns
// how many it persisted.
func (c *Coupons) DrainDrop(ctx context.Context, dropID string) (int, error) {
	var row couponDropRow
	if err := c.db.NewSelect().Model(&row).Where("id = ?", dropID).Scan(ctx); err != nil {
		return 0, notFoundOr(err, ErrDropNotFound)
	}
	done := 0
	for {
		claims, bad, err := c.drops.journal(ctx, dropID, 500)
		if err != nil {
			return done, err
		}
		for _, id := range bad {
			c.log.Error("unreadable coupon-drop journal entry", "drop_id", dropID, "entry", id)
		}
		if len(claims) == 0 && len(bad) == 0 {
			return done, nil
		}
		if err := c.persistClaims(ctx, row, claims); err != nil {
			return done, err
		}
		entries := bad
		for _, cl := range claims {
			entries = append(entries, cl.entry)
		}
		if err := c.drops.ack(ctx, dropID, entries...); err != nil {
			return done, err
		}
		done += len(claims)
	}
}

// DrainDrops drains the journal of every drop not finished yet.
func (c *Coupons) DrainDrops(ctx context.Context) (int, error) {
	var ids []string
	if err := c.db.NewSelect().Model((*couponDropRow)(nil)).Column("id").Where("finished_at IS NULL").Scan(ctx, &ids); err != nil {
		return 0, fmt.Errorf("list open coupon drops: %w", err)
	}
	total := 0
	var errs []error
	for _, id := range ids {
		n, err := c.DrainDrop(ctx, id)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// FinishDrop closes an ended drop: it persists the claims still in its
// journal and gives the unclaimed coupons back to the template's stock,
// once. Finishing a drop that has not ended yet is an error (the task is
// retried).
func (c *Coupons) FinishDrop(ctx context.Context, dropID string) error {
	if _, err := c.DrainDrop(ctx, dropID); err != nil {
		return err
	}
	now := c.now()
	err := c.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var row couponDropRow
		if err := database.ForUpdate(tx.NewSelect().Model(&row).Where("id = ?", dropID)).Scan(ctx); err != nil {
			return notFoundOr(err, ErrDropNotFound)
		}
		if row.FinishedAt != nil {
			return nil
		}
		if now.Before(row.EndsAt) {
			return fmt.Errorf("coupon drop %s ends at %s", dropID, row.EndsAt.UTC().Format(time.RFC3339))
		}
		claimed, err := c.dropClaimed(ctx, tx, dropID)
		if err != nil {
			return err
		}
		returned := max(row.Quantity-claimed, 0)
		if _, err := c.templateRow(ctx, tx, row.TemplateID, true); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*couponTemplateRow)(nil)).Set("issued = issued - ?", returned).Set("updated_at = ?", now).
			Where("id = ?", row.TemplateID).Exec(ctx); err != nil {
			return fmt.Errorf("return drop coupons: %w", err)
		}
		_, err = tx.NewUpdate().Model((*couponDropRow)(nil)).Set("finished_at = ?", now).Set("returned = ?", returned).
			Where("id = ?", dropID).Exec(ctx)
		return err
	})
	if err != nil {
		return err
	}
	if err := c.drops.expire(ctx, dropID); err != nil {
		c.log.Warn("expire coupon-drop keys", "drop_id", dropID, "err", err)
	}
	return nil
}
