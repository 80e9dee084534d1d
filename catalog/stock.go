package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun"
)

// Line is a SKU and a number of its units.
type Line struct {
	SKUID    string `json:"sku_id"`
	Quantity int    `json:"quantity"`
}

// QuotedLine is a line priced for an order.
type QuotedLine struct {
	SKUID     string
	ProductID string
	Title     string
	SKUTitle  string
	Quantity  int
	// UnitPrice is the live price when the show is live and sells the SKU,
	// the list price otherwise.
	UnitPrice int64
	ListPrice int64
	LivePrice bool
}

// Quote prices lines through db (the caller's transaction). showLive says
// whether showID is live now: only then do its lineup's live prices apply.
// Every SKU must exist and belong to a published product.
func (s *Service) Quote(ctx context.Context, db bun.IDB, showID string, showLive bool, lines []Line) ([]QuotedLine, error) {
	out := make([]QuotedLine, 0, len(lines))
	for _, l := range lines {
		if l.Quantity <= 0 {
			return nil, fmt.Errorf("%w: quantity of %s must be positive", ErrInvalidSKU, l.SKUID)
		}
		var k skuRow
		if err := db.NewSelect().Model(&k).Where("id = ?", l.SKUID).Scan(ctx); err != nil {
			return nil, fmt.Errorf("%w: %s", notFound(err, ErrSKUNotFound), l.SKUID)
		}
		var p productRow
		if err := db.NewSelect().Model(&p).Where("id = ?", k.ProductID).Scan(ctx); err != nil {
			return nil, notFound(err, ErrProductNotFound)
		}
		if !p.Published {
			return nil, fmt.Errorf("%w: %q", ErrNotPublished, p.Title)
		}
		q := QuotedLine{SKUID: k.ID, ProductID: p.ID, Title: p.Title, SKUTitle: k.Title, Quantity: l.Quantity,
			UnitPrice: k.ListPrice, ListPrice: k.ListPrice}
		if showID != "" && showLive {
			var li lineupRow
			err := db.NewSelect().Model(&li).Where("show_id = ? AND sku_id = ?", showID, k.ID).Scan(ctx)
			if err == nil {
				q.UnitPrice, q.LivePrice = li.LivePrice, true
			} else if !errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("read lineup: %w", err)
			}
		}
		out = append(out, q)
	}
	return out, nil
}

// Reserve takes lines' units out of stock through db, the transaction that
// creates the order, so the order and its stock commit together. It fails
// with ErrOutOfStock, changing nothing the caller will commit, when a SKU
// has too few units.
func (s *Service) Reserve(ctx context.Context, db bun.IDB, lines []Line) error {
	for _, l := range lines {
		// The condition makes the check and the decrement one statement,
		// so concurrent orders can never take the stock below zero.
		res, err := db.NewUpdate().Model((*skuRow)(nil)).
			Set("stock = stock - ?", l.Quantity).Set("updated_at = ?", s.now()).
			Where("id = ? AND stock >= ?", l.SKUID, l.Quantity).Exec(ctx)
		if err := affected(res, err, ErrOutOfStock); err != nil {
			return fmt.Errorf("SKU %s: %w", l.SKUID, err)
		}
	}
	return nil
}

// Release puts lines' units back in stock through db, the transaction that
// closes the order.
func (s *Service) Release(ctx context.Context, db bun.IDB, lines []Line) error {
	for _, l := range lines {
		res, err := db.NewUpdate().Model((*skuRow)(nil)).
			Set("stock = stock + ?", l.Quantity).Set("updated_at = ?", s.now()).
			Where("id = ?", l.SKUID).Exec(ctx)
		if err := affected(res, err, ErrSKUNotFound); err != nil {
			return fmt.Errorf("SKU %s: %w", l.SKUID, err)
		}
	}
	return nil
}

// Describe returns a SKU's titles and list price through db, whether or
// not its product is published: a flash-sale winner keeps what was won.
func (s *Service) Describe(ctx context.Context, db bun.IDB, skuID string) (QuotedLine, error) {
	var k skuRow
	if err := db.NewSelect().Model(&k).Where("id = ?", skuID).Scan(ctx); err != nil {
		return QuotedLine{}, fmt.Errorf("%w: %s", notFound(err, ErrSKUNotFound), skuID)
	}
	var p productRow
	if err := db.NewSelect().Model(&p).Where("id = ?", k.ProductID).Scan(ctx); err != nil {
		return QuotedLine{}, notFound(err, ErrProductNotFound)
	}
	return QuotedLine{SKUID: k.ID, ProductID: p.ID, Title: p.Title, SKUTitle: k.Title, UnitPrice: k.ListPrice, ListPrice: k.ListPrice}, nil
}
