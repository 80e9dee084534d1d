package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/outbox"
)

// FlashSale sells Quantity units of a SKU at Price during a show, at most
// PerMemberLimit units to each member, between StartsAt and EndsAt.
type FlashSale struct {
	ID             string     `json:"id"`
	ShowID         string     `json:"show_id"`
	SKUID          string     `json:"sku_id"`
	ProductID      string     `json:"product_id"`
	Price          int64      `json:"price"`
	Quantity       int        `json:"quantity"`
	PerMemberLimit int        `json:"per_member_limit"`
	StartsAt       time.Time  `json:"starts_at"`
	EndsAt         time.Time  `json:"ends_at"`
	CreatedAt      time.Time  `json:"created_at"`
	FinishedAt     *time.Time `json:"finished_at,omitempty"`
	// Remaining is the units left to win right now.
	Remaining int `json:"remaining"`
	// Returned is how many unsold units went back to the SKU at the finish.
	Returned int `json:"returned"`
}

// FlashSaleInput is what staff give for a flash sale.
type FlashSaleInput struct {
	ShowID         string    `json:"show_id"`
	SKUID          string    `json:"sku_id"`
	Price          int64     `json:"price"`
	Quantity       int       `json:"quantity"`
	PerMemberLimit int       `json:"per_member_limit"`
	StartsAt       time.Time `json:"starts_at"`
	EndsAt         time.Time `json:"ends_at"`
}

type flashSaleRow struct {
	bun.BaseModel `bun:"table:flash_sales"`

	ID             string     `bun:"id,pk"`
	ShowID         string     `bun:"show_id,notnull"`
	SKUID          string     `bun:"sku_id,notnull"`
	ProductID      string     `bun:"product_id,notnull"`
	Price          int64      `bun:"price,notnull"`
	Quantity       int        `bun:"quantity,notnull"`
	PerMemberLimit int        `bun:"per_member_limit,notnull"`
	StartsAt       time.Time  `bun:"starts_at,notnull"`
	EndsAt         time.Time  `bun:"ends_at,notnull"`
	CreatedAt      time.Time  `bun:"created_at,notnull"`
	FinishedAt     *time.Time `bun:"finished_at"`
	Returned       int        `bun:"returned,notnull"`
}

func (r flashSaleRow) sale() FlashSale {
	f := FlashSale{ID: r.ID, ShowID: r.ShowID, SKUID: r.SKUID, ProductID: r.ProductID, Price: r.Price,
		Quantity: r.Quantity, PerMemberLimit: r.PerMemberLimit, StartsAt: r.StartsAt.UTC(), EndsAt: r.EndsAt.UTC(),
		CreatedAt: r.CreatedAt.UTC(), Returned: r.Returned}
	if r.FinishedAt != nil {
		t := r.FinishedAt.UTC()
		f.FinishedAt = &t
	}
	return f
}

// Task types the catalog asks the worker to run through the outbox.
const (
	TaskFinishFlashSale = "catalog:finish-flash-sale"
	TaskReleaseClaim    = "catalog:release-claim"

	// The periodic ones app schedules.
	TaskDrainJournals       = "catalog:drain-journals"
	TaskReconcileFlashSales = "catalog:reconcile-flash-sales"
)

// FlashSaleTask is the payload of TaskFinishFlashSale.
type FlashSaleTask struct {
	FlashSaleID string `json:"flash_sale_id"`
}

// ClaimTask is the payload of TaskReleaseClaim.
type ClaimTask struct {
	ClaimID string `json:"claim_id"`
}

// finishGrace is how long after its end a sale is finished: long enough
// for requests that won in the last instant to be persisted.
const finishGrace = time.Minute

// CreateFlashSale allots in.Quantity units of the SKU's stock to a new
// flash sale and arms it in Redis. The SKU must be in the show's lineup.
func (s *Service) CreateFlashSale(ctx context.Context, staffID string, in FlashSaleInput) (FlashSale, error) {
	switch {
	case in.ShowID == "" || in.SKUID == "":
		return FlashSale{}, fmt.Errorf("%w: show_id and sku_id are required", ErrInvalidFlashSale)
	case in.Price <= 0:
		return FlashSale{}, fmt.Errorf("%w: the price must be a positive number of fen", ErrInvalidFlashSale)
	case in.Quantity <= 0:
		return FlashSale{}, fmt.Errorf("%w: the quantity must be positive", ErrInvalidFlashSale)
	case in.PerMemberLimit <= 0:
		return FlashSale{}, fmt.Errorf("%w: the per-member limit must be positive", ErrInvalidFlashSale)
	case in.StartsAt.IsZero() || !in.EndsAt.After(in.StartsAt):
		return FlashSale{}, fmt.Errorf("%w: ends_at must be after starts_at", ErrInvalidFlashSale)
	case !in.EndsAt.After(s.now()):
		return FlashSale{}, fmt.Errorf("%w: ends_at is in the past", ErrInvalidFlashSale)
	}
	now := s.now()
	row := flashSaleRow{ID: newID(), ShowID: in.ShowID, SKUID: in.SKUID, Price: in.Price, Quantity: in.Quantity,
		PerMemberLimit: in.PerMemberLimit, StartsAt: in.StartsAt.UTC(), EndsAt: in.EndsAt.UTC(), CreatedAt: now}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var li lineupRow
		if err := tx.NewSelect().Model(&li).Where("show_id = ? AND sku_id = ?", in.ShowID, in.SKUID).Scan(ctx); err != nil {
			return fmt.Errorf("%w: the SKU is not in the show's lineup", ErrInvalidFlashSale)
		}
		row.ProductID = li.ProductID
		if err := s.Reserve(ctx, tx, []Line{{SKUID: in.SKUID, Quantity: in.Quantity}}); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return fmt.Errorf("insert flash sale: %w", err)
		}
		if err := audit(ctx, tx, staffID, "flash_sale.create", "flash_sale", row.ID, in); err != nil {
			return err
		}
		return outbox.Add(ctx, tx, outbox.Message{
			ID:        "finish-flash-sale:" + row.ID,
			TaskType:  TaskFinishFlashSale,
			Payload:   FlashSaleTask{FlashSaleID: row.ID},
			Queue:     "critical",
			ProcessAt: row.EndsAt.Add(finishGrace),
		})
	})
	if err != nil {
		return FlashSale{}, err
	}
	f := row.sale()
	// A sale that fails to arm now is armed by the next reconciliation.
	if _, err := s.engine.runArm(ctx, f, f.Quantity, nil); err != nil {
		s.log.Error("arm flash sale", "flash_sale_id", f.ID, "err", err)
	}
	return s.FlashSale(ctx, f.ID)
}

// FlashSale returns a flash sale with the units left right now.
func (s *Service) FlashSale(ctx context.Context, id string) (FlashSale, error) {
	var r flashSaleRow
	if err := s.db.NewSelect().Model(&r).Where("id = ?", id).Scan(ctx); err != nil {
		return FlashSale{}, notFound(err, ErrFlashSaleNotFound)
	}
	f := r.sale()
	if err := s.fillRemaining(ctx, &f); err != nil {
		return FlashSale{}, err
	}
	return f, nil
}

// FlashSales lists a show's flash sales by start time (every sale when
// showID is empty, newest first).
func (s *Service) FlashSales(ctx context.Context, showID string) ([]FlashSale, error) {
	var rows []flashSaleRow
	q := s.db.NewSelect().Model(&rows)
	if showID != "" {
		q = q.Where("show_id = ?", showID).OrderExpr("starts_at, id")
	} else {
		q = q.OrderExpr("starts_at DESC, id DESC").Limit(int64(200))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list flash sales: %w", err)
	}
	out := make([]FlashSale, 0, len(rows))
	for _, r := range rows {
		f := r.sale()
		if err := s.fillRemaining(ctx, &f); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// fillRemaining reads the units left from Redis, or from the database for
// a finished sale or one Redis does not hold.
func (s *Service) fillRemaining(ctx context.Context, f *FlashSale) error {
	if f.FinishedAt != nil {
		f.Remaining = 0
		return nil
	}
	n, armed, err := s.engine.remaining(ctx, f.ID)
	if err != nil {
		return err
	}
	if armed {
		f.Remaining = max(n, 0)
		return nil
	}
	sold, err := soldUnits(ctx, s.db, f.ID)
	if err != nil {
		return err
	}
	f.Remaining = max(f.Quantity-sold, 0)
	return nil
}

// soldUnits sums the units of a sale's claims that were not released.
func soldUnits(ctx context.Context, db bun.IDB, saleID string) (int, error) {
	var sold int
	err := db.NewSelect().Model((*claimRow)(nil)).ColumnExpr("COALESCE(SUM(quantity), 0)").
		Where("flash_sale_id = ? AND released_at IS NULL", saleID).Scan(ctx, &sold)
	if err != nil {
		return 0, fmt.Errorf("sum claims of %s: %w", saleID, err)
	}
	return sold, nil
}

func lockSale(ctx context.Context, db bun.IDB, id string) (flashSaleRow, error) {
	var r flashSaleRow
	if err := database.ForUpdate(db.NewSelect().Model(&r).Where("id = ?", id)).Scan(ctx); err != nil {
		return r, notFound(err, ErrFlashSaleNotFound)
	}
	return r, nil
}
