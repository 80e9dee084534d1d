package catalog

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

// Product is something the brand sells, in one or more SKUs.
type Product struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Images      []string  `json:"images"`
	Published   bool      `json:"published"`
	SKUs        []SKU     `json:"skus"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// SKU is one sellable variant of a product, with its list price in fen
// and the units in stock.
type SKU struct {
	ID         string            `json:"id"`
	ProductID  string            `json:"product_id"`
	Title      string            `json:"title"`
	Attributes map[string]string `json:"attributes"`
	ListPrice  int64             `json:"list_price"`
	Stock      int               `json:"stock"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

type productRow struct {
	bun.BaseModel `bun:"table:products"`

	ID          string    `bun:"id,pk"`
	Title       string    `bun:"title,notnull"`
	Description string    `bun:"description,notnull"`
	Images      string    `bun:"images,notnull"`
	Published   bool      `bun:"published,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
	UpdatedAt   time.Time `bun:"updated_at,notnull"`
}

type skuRow struct {
	bun.BaseModel `bun:"table:skus"`

	ID         string    `bun:"id,pk"`
	ProductID  string    `bun:"product_id,notnull"`
	Title      string    `bun:"title,notnull"`
	Attributes string    `bun:"attributes,notnull"`
	ListPrice  int64     `bun:"list_price,notnull"`
	Stock      int       `bun:"stock,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
	UpdatedAt  time.Time `bun:"updated_at,notnull"`
}

func (r productRow) product(skus []SKU) Product {
	p := Product{ID: r.ID, Title: r.Title, Description: r.Description, Published: r.Published,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), SKUs: skus, Images: []string{}}
	_ = json.Unmarshal([]byte(r.Images), &p.Images)
	if p.SKUs == nil {
		p.SKUs = []SKU{}
	}
	return p
}

func (r skuRow) sku() SKU {
	s := SKU{ID: r.ID, ProductID: r.ProductID, Title: r.Title, ListPrice: r.ListPrice, Stock: r.Stock,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Attributes: map[string]string{}}
	_ = json.Unmarshal([]byte(r.Attributes), &s.Attributes)
	return s
}

// ProductInput is what staff give for a product.
type ProductInput struct {
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Images      []string `json:"images"`
}

func (in ProductInput) validate() error {
	switch n := utf8.RuneCountInString(strings.TrimSpace(in.Title)); {
	case n == 0:
		return fmt.Errorf("%w: a title is required", ErrInvalidProduct)
	case n > 120:
		return fmt.Errorf("%w: the title is longer than 120 characters", ErrInvalidProduct)
	}
	if len(in.Images) > 20 {
		return fmt.Errorf("%w: at most 20 images", ErrInvalidProduct)
	}
	for _, u := range in.Images {
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return fmt.Errorf("%w: image %q is not an http(s) URL", ErrInvalidProduct, u)
		}
	}
	return nil
}

// SKUInput is what staff give for a SKU.
type SKUInput struct {
	Title      string            `json:"title"`
	Attributes map[string]string `json:"attributes"`
	ListPrice  int64             `json:"list_price"`
	Stock      int               `json:"stock"`
}

func (in SKUInput) validate() error {
	switch {
	case strings.TrimSpace(in.Title) == "":
		return fmt.Errorf("%w: a title is required", ErrInvalidSKU)
	case in.ListPrice <= 0:
		return fmt.Errorf("%w: the list price must be a positive number of fen", ErrInvalidSKU)
	case in.Stock < 0:
		return fmt.Errorf("%w: stock cannot be negative", ErrInvalidSKU)
	}
	return nil
}

func marshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// CreateProduct adds an unpublished product with its SKUs.
func (s *Service) CreateProduct(ctx context.Context, staffID string, in ProductInput, skus []SKUInput) (Product, error) {
	if err := in.validate(); err != nil {
		return Product{}, err
	}
	for _, k := range skus {
		if err := k.validate(); err != nil {
			return Product{}, err
		}
	}
	now := s.now()
	if in.Images == nil {
		in.Images = []string{}
	}
	row := productRow{ID: newID(), Title: strings.TrimSpace(in.Title), Description: in.Description,
		Images: marshal(in.Images), CreatedAt: now, UpdatedAt: now}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return fmt.Errorf("insert product: %w", err)
		}
		for _, k := range skus {
			if _, err := insertSKU(ctx, tx, row.ID, k, now); err != nil {
				return err
			}
		}
		return audit(ctx, tx, staffID, "product.create", "product", row.ID, in)
	})
	if err != nil {
		return Product{}, err
	}
	return s.Product(ctx, row.ID)
}

func insertSKU(ctx context.Context, db bun.IDB, productID string, in SKUInput, now time.Time) (skuRow, error) {
	if in.Attributes == nil {
		in.Attributes = map[string]string{}
	}
	r := skuRow{ID: newID(), ProductID: productID, Title: strings.TrimSpace(in.Title), Attributes: marshal(in.Attributes),
		ListPrice: in.ListPrice, Stock: in.Stock, CreatedAt: now, UpdatedAt: now}
	if _, err := db.NewInsert().Model(&r).Exec(ctx); err != nil {
		return r, fmt.Errorf("insert SKU: %w", err)
	}
	return r, nil
}

// UpdateProduct changes a product's title, description and images.
func (s *Service) UpdateProduct(ctx context.Context, staffID, id string, in ProductInput) (Product, error) {
	if err := in.validate(); err != nil {
		return Product{}, err
	}
	if in.Images == nil {
		in.Images = []string{}
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*productRow)(nil)).
			Set("title = ?", strings.TrimSpace(in.Title)).Set("description = ?", in.Description).
			Set("images = ?", marshal(in.Images)).Set("updated_at = ?", s.now()).
			Where("id = ?", id).Exec(ctx)
		if err := affected(res, err, ErrProductNotFound); err != nil {
			return err
		}
		return audit(ctx, tx, staffID, "product.update", "product", id, in)
	})
	if err != nil {
		return Product{}, err
	}
	return s.Product(ctx, id)
}

// SetPublished publishes or unpublishes a product. Only published products
// can be ordered or put in a lineup.
func (s *Service) SetPublished(ctx context.Context, staffID, id string, published bool) (Product, error) {
	if published {
		n, err := s.db.NewSelect().Model((*skuRow)(nil)).Where("product_id = ?", id).Count(ctx)
		if err != nil {
			return Product{}, fmt.Errorf("count SKUs: %w", err)
		}
		if n == 0 {
			if _, err := s.Product(ctx, id); err != nil {
				return Product{}, err
			}
			return Product{}, fmt.Errorf("%w: a product needs a SKU before it is published", ErrInvalidProduct)
		}
	}
	action := "product.unpublish"
	if published {
		action = "product.publish"
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*productRow)(nil)).
			Set("published = ?", published).Set("updated_at = ?", s.now()).
			Where("id = ?", id).Exec(ctx)
		if err := affected(res, err, ErrProductNotFound); err != nil {
			return err
		}
		return audit(ctx, tx, staffID, action, "product", id, nil)
	})
	if err != nil {
		return Product{}, err
	}
	return s.Product(ctx, id)
}

// AddSKU adds a SKU to a product.
func (s *Service) AddSKU(ctx context.Context, staffID, productID string, in SKUInput) (SKU, error) {
	if err := in.validate(); err != nil {
		return SKU{}, err
	}
	if _, err := s.Product(ctx, productID); err != nil {
		return SKU{}, err
	}
	var r skuRow
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if r, err = insertSKU(ctx, tx, productID, in, s.now()); err != nil {
			return err
		}
		return audit(ctx, tx, staffID, "sku.create", "sku", r.ID, in)
	})
	if err != nil {
		return SKU{}, err
	}
	return r.sku(), nil
}

// SKUUpdate changes some fields of a SKU; nil fields stay as they are.
// StockDelta adds to (or, negative, takes from) the units in stock, so
// staff restocking never overwrites units sold meanwhile.
type SKUUpdate struct {
	Title      *string            `json:"title,omitempty"`
	Attributes *map[string]string `json:"attributes,omitempty"`
	ListPrice  *int64             `json:"list_price,omitempty"`
	StockDelta *int               `json:"stock_delta,omitempty"`
}

// UpdateSKU applies u to a SKU.
func (s *Service) UpdateSKU(ctx context.Context, staffID, id string, u SKUUpdate) (SKU, error) {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var r skuRow
		if err := lockSKU(ctx, tx, id, &r); err != nil {
			return err
		}
		if u.Title != nil {
			r.Title = strings.TrimSpace(*u.Title)
		}
		if u.Attributes != nil {
			r.Attributes = marshal(*u.Attributes)
		}
		if u.ListPrice != nil {
			r.ListPrice = *u.ListPrice
		}
		if u.StockDelta != nil {
			r.Stock += *u.StockDelta
		}
		if err := (SKUInput{Title: r.Title, ListPrice: r.ListPrice, Stock: r.Stock}).validate(); err != nil {
			return err
		}
		r.UpdatedAt = s.now()
		if _, err := tx.NewUpdate().Model(&r).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("update SKU: %w", err)
		}
		return audit(ctx, tx, staffID, "sku.update", "sku", id, u)
	})
	if err != nil {
		return SKU{}, err
	}
	return s.SKU(ctx, id)
}

// Product returns a product with its SKUs.
func (s *Service) Product(ctx context.Context, id string) (Product, error) {
	var r productRow
	if err := s.db.NewSelect().Model(&r).Where("id = ?", id).Scan(ctx); err != nil {
		return Product{}, notFound(err, ErrProductNotFound)
	}
	var skus []skuRow
	if err := s.db.NewSelect().Model(&skus).Where("product_id = ?", id).OrderExpr("created_at, id").Scan(ctx); err != nil {
		return Product{}, fmt.Errorf("list SKUs: %w", err)
	}
	out := make([]SKU, 0, len(skus))
	for _, k := range skus {
		out = append(out, k.sku())
	}
	return r.product(out), nil
}

// SKU returns one SKU.
func (s *Service) SKU(ctx context.Context, id string) (SKU, error) {
	var r skuRow
	if err := s.db.NewSelect().Model(&r).Where("id = ?", id).Scan(ctx); err != nil {
		return SKU{}, notFound(err, ErrSKUNotFound)
	}
	return r.sku(), nil
}

// ProductFilter narrows Products.
type ProductFilter struct {
	// PublishedOnly leaves out unpublished products (the shopper's view).
	PublishedOnly bool
	Limit         int
	Offset        int
}

// Products lists products, newest first, with their SKUs.
func (s *Service) Products(ctx context.Context, f ProductFilter) ([]Product, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var rows []productRow
	q := s.db.NewSelect().Model(&rows).OrderExpr("created_at DESC, id DESC").Limit(int64(f.Limit)).Offset(int64(f.Offset))
	if f.PublishedOnly {
		q = q.Where("published = ?", true)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	out := make([]Product, 0, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var skus []skuRow
	if err := s.db.NewSelect().Model(&skus).Where("product_id IN (?)", bun.In(ids)).OrderExpr("created_at, id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list SKUs: %w", err)
	}
	by := map[string][]SKU{}
	for _, k := range skus {
		by[k.ProductID] = append(by[k.ProductID], k.sku())
	}
	for _, r := range rows {
		out = append(out, r.product(by[r.ID]))
	}
	return out, nil
}

func lockSKU(ctx context.Context, db bun.IDB, id string, r *skuRow) error {
	q := db.NewSelect().Model(r).Where("id = ?", id)
	if err := database.ForUpdate(q).Scan(ctx); err != nil {
		return notFound(err, ErrSKUNotFound)
	}
	return nil
}

// notFound maps sql.ErrNoRows to sentinel and wraps anything else.
func notFound(err, sentinel error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return sentinel
	}
	return fmt.Errorf("%v: %w", sentinel, err)
}

// affected turns an update that touched no row into sentinel.
func affected(res sql.Result, err, sentinel error) error {
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update: %w", err)
	} else if n == 0 {
		return sentinel
	}
	return nil
}
