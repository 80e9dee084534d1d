package catalog

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// LineupItem is one SKU of a show's lineup with its live-only price.
type LineupItem struct {
	ShowID    string `json:"show_id"`
	ProductID string `json:"product_id"`
	SKUID     string `json:"sku_id"`
	Title     string `json:"title"`
	SKUTitle  string `json:"sku_title"`
	// Image is the product's first image, or empty.
	Image     string `json:"image"`
	ListPrice int64  `json:"list_price"`
	LivePrice int64  `json:"live_price"`
	Stock     int    `json:"stock"`
	Published bool   `json:"published"`
	Position  int    `json:"position"`
}

// LineupEntry is what staff give for one lineup line.
type LineupEntry struct {
	SKUID     string `json:"sku_id"`
	LivePrice int64  `json:"live_price"`
}

type lineupRow struct {
	bun.BaseModel `bun:"table:lineup_items"`

	ShowID    string `bun:"show_id,pk"`
	SKUID     string `bun:"sku_id,pk"`
	ProductID string `bun:"product_id,notnull"`
	LivePrice int64  `bun:"live_price,notnull"`
	Position  int    `bun:"position,notnull"`
}

// SetLineup replaces a show's lineup. Every SKU must exist and belong to a
// published product, appear once, and have a positive live price.
func (s *Service) SetLineup(ctx context.Context, staffID, showID string, entries []LineupEntry) ([]LineupItem, error) {
	if showID == "" {
		return nil, fmt.Errorf("%w: no show", ErrInvalidLineup)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		switch {
		case seen[e.SKUID]:
			return nil, fmt.Errorf("%w: SKU %s appears twice", ErrInvalidLineup, e.SKUID)
		case e.LivePrice <= 0:
			return nil, fmt.Errorf("%w: SKU %s needs a positive live price", ErrInvalidLineup, e.SKUID)
		}
		seen[e.SKUID] = true
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		rows := make([]lineupRow, 0, len(entries))
		for i, e := range entries {
			var k skuRow
			if err := tx.NewSelect().Model(&k).Where("id = ?", e.SKUID).Scan(ctx); err != nil {
				return fmt.Errorf("%w: SKU %s: %w", ErrInvalidLineup, e.SKUID, notFound(err, ErrSKUNotFound))
			}
			var p productRow
			if err := tx.NewSelect().Model(&p).Where("id = ?", k.ProductID).Scan(ctx); err != nil {
				return notFound(err, ErrProductNotFound)
			}
			if !p.Published {
				return fmt.Errorf("%w: product %q is not published", ErrInvalidLineup, p.Title)
			}
			rows = append(rows, lineupRow{ShowID: showID, SKUID: e.SKUID, ProductID: k.ProductID, LivePrice: e.LivePrice, Position: i + 1})
		}
		if _, err := tx.NewDelete().Model((*lineupRow)(nil)).Where("show_id = ?", showID).Exec(ctx); err != nil {
			return fmt.Errorf("clear lineup: %w", err)
		}
		if len(rows) > 0 {
			if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
				return fmt.Errorf("insert lineup: %w", err)
			}
		}
		return audit(ctx, tx, staffID, "lineup.set", "show", showID, entries)
	})
	if err != nil {
		return nil, err
	}
	return s.Lineup(ctx, showID)
}

// Lineup returns a show's lineup in order, with each SKU's current stock
// and its product's title, first image and publication.
func (s *Service) Lineup(ctx context.Context, showID string) ([]LineupItem, error) {
	var rows []lineupRow
	if err := s.db.NewSelect().Model(&rows).Where("show_id = ?", showID).OrderExpr("position").Scan(ctx); err != nil {
		return nil, fmt.Errorf("read lineup: %w", err)
	}
	out := make([]LineupItem, 0, len(rows))
	for _, r := range rows {
		var k skuRow
		if err := s.db.NewSelect().Model(&k).Where("id = ?", r.SKUID).Scan(ctx); err != nil {
			return nil, notFound(err, ErrSKUNotFound)
		}
		var p productRow
		if err := s.db.NewSelect().Model(&p).Where("id = ?", r.ProductID).Scan(ctx); err != nil {
			return nil, notFound(err, ErrProductNotFound)
		}
		prod := p.product(nil)
		item := LineupItem{ShowID: showID, ProductID: r.ProductID, SKUID: r.SKUID, Title: p.Title, SKUTitle: k.Title,
			ListPrice: k.ListPrice, LivePrice: r.LivePrice, Stock: k.Stock, Published: p.Published, Position: r.Position}
		if len(prod.Images) > 0 {
			item.Image = prod.Images[0]
		}
		out = append(out, item)
	}
	return out, nil
}

// HasProduct reports whether a show's lineup sells the product (any of its
// SKUs), which is what pinning a product during a show requires.
func (s *Service) HasProduct(ctx context.Context, showID, productID string) (bool, error) {
	n, err := s.db.NewSelect().Model((*lineupRow)(nil)).Where("show_id = ? AND product_id = ?", showID, productID).Count(ctx)
	if err != nil {
		return false, fmt.Errorf("read lineup: %w", err)
	}
	return n > 0, nil
}
