package live

import (
	"context"
	"time"
)

// LineupItem is one SKU a show sells, at its live price (fen), as the
// catalog tells.
type LineupItem struct {
	ProductID string `json:"product_id"`
	SKUID     string `json:"sku_id"`
	Title     string `json:"title"`
	SKUTitle  string `json:"sku_title"`
	Image     string `json:"image"`
	ListPrice int64  `json:"list_price"`
	LivePrice int64  `json:"live_price"`
	Stock     int    `json:"stock"`
}

// Lineups is what shows need of the catalog's lineups (货盘).
type Lineups interface {
	// LineupOf returns what a show sells, in order.
	LineupOf(ctx context.Context, showID string) ([]LineupItem, error)
	// HasProduct reports whether the show's lineup sells the product.
	HasProduct(ctx context.Context, showID, productID string) (bool, error)
}

// FlashSale is a catalog flash sale as the countdown action announces it.
type FlashSale struct {
	ID        string    `json:"id"`
	ShowID    string    `json:"show_id"`
	ProductID string    `json:"product_id"`
	SKUID     string    `json:"sku_id"`
	Price     int64     `json:"price"`
	Quantity  int       `json:"quantity"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
}

// FlashSales is what the countdown action needs of the catalog. FlashSale
// answers ErrFlashSaleNotFound for an unknown sale.
type FlashSales interface {
	FlashSale(ctx context.Context, id string) (FlashSale, error)
}

// Lineup returns what a show sells, or ErrCatalogUnavailable when no
// catalog is connected.
func (s *Service) Lineup(ctx context.Context, showID string) ([]LineupItem, error) {
	if s.cfg.Lineups == nil {
		return nil, ErrCatalogUnavailable
	}
	return s.cfg.Lineups.LineupOf(ctx, showID)
}
