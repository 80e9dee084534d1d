package catalog

import (
	"context"
	"errors"
	"testing"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/testsupport"
)

func TestProducts(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		clk := newClock()
		s := newTestService(t, db, clk)
		ctx := context.Background()

		for _, tc := range []struct {
			name string
			in   ProductInput
			skus []SKUInput
			want error
		}{
			{"no title", ProductInput{Title: " "}, nil, ErrInvalidProduct},
			{"bad image", ProductInput{Title: "茶", Images: []string{"ftp://x"}}, nil, ErrInvalidProduct},
			{"free SKU", ProductInput{Title: "茶"}, []SKUInput{{Title: "罐", ListPrice: 0}}, ErrInvalidSKU},
			{"negative stock", ProductInput{Title: "茶"}, []SKUInput{{Title: "罐", ListPrice: 100, Stock: -1}}, ErrInvalidSKU},
			{"ok", ProductInput{Title: "茶"}, []SKUInput{{Title: "罐", ListPrice: 100, Stock: 3}}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.CreateProduct(ctx, "staff-1", tc.in, tc.skus)
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			})
		}

		p, err := s.CreateProduct(ctx, "staff-1", ProductInput{Title: "空"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetPublished(ctx, "staff-1", p.ID, true); !errors.Is(err, ErrInvalidProduct) {
			t.Fatalf("publishing without a SKU: %v", err)
		}
		k, err := s.AddSKU(ctx, "staff-1", p.ID, SKUInput{Title: "大", ListPrice: 500, Stock: 2})
		if err != nil {
			t.Fatal(err)
		}
		if p, err = s.SetPublished(ctx, "staff-1", p.ID, true); err != nil || !p.Published || len(p.SKUs) != 1 {
			t.Fatalf("publish: %+v %v", p, err)
		}
		delta := -3
		if _, err := s.UpdateSKU(ctx, "staff-1", k.ID, SKUUpdate{StockDelta: &delta}); !errors.Is(err, ErrInvalidSKU) {
			t.Fatalf("stock below zero: %v", err)
		}
		delta = 5
		if k, err = s.UpdateSKU(ctx, "staff-1", k.ID, SKUUpdate{StockDelta: &delta}); err != nil || k.Stock != 7 {
			t.Fatalf("restock: %+v %v", k, err)
		}
		list, err := s.Products(ctx, ProductFilter{PublishedOnly: true})
		if err != nil || len(list) != 1 || list[0].ID != p.ID {
			t.Fatalf("published products: %d %v", len(list), err)
		}
		if list, err = s.Products(ctx, ProductFilter{}); err != nil || len(list) != 2 {
			t.Fatalf("all products: %d %v", len(list), err)
		}
		if _, err := s.Product(ctx, "nope"); !errors.Is(err, ErrProductNotFound) {
			t.Fatalf("unknown product: %v", err)
		}
	})
}

func TestStockAndQuote(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		clk := newClock()
		s := newTestService(t, db, clk)
		ctx := context.Background()
		p, sku := seedSKU(t, s, 3)
		if _, err := s.SetLineup(ctx, "staff-1", "show-9", []LineupEntry{{SKUID: sku.ID, LivePrice: 8800}}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name      string
			show      string
			live      bool
			wantPrice int64
		}{
			{"no show", "", false, 12900},
			{"show not live", "show-9", false, 12900},
			{"show live", "show-9", true, 8800},
			{"other show live", "show-8", true, 12900},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q, err := s.Quote(ctx, db, tc.show, tc.live, []Line{{SKUID: sku.ID, Quantity: 2}})
				if err != nil || q[0].UnitPrice != tc.wantPrice || q[0].Title != p.Title {
					t.Fatalf("quote %+v %v, want %d", q, err, tc.wantPrice)
				}
			})
		}
		if err := s.Reserve(ctx, db, []Line{{SKUID: sku.ID, Quantity: 4}}); !errors.Is(err, ErrOutOfStock) {
			t.Fatalf("reserve 4 of 3: %v", err)
		}
		if err := s.Reserve(ctx, db, []Line{{SKUID: sku.ID, Quantity: 3}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Release(ctx, db, []Line{{SKUID: sku.ID, Quantity: 1}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.SKU(ctx, sku.ID); got.Stock != 1 {
			t.Fatalf("stock %d, want 1", got.Stock)
		}
		if _, err := s.SetPublished(ctx, "staff-1", p.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Quote(ctx, db, "", false, []Line{{SKUID: sku.ID, Quantity: 1}}); !errors.Is(err, ErrNotPublished) {
			t.Fatalf("unpublished: %v", err)
		}
		items, err := s.Lineup(ctx, "show-9")
		if err != nil || len(items) != 1 || items[0].LivePrice != 8800 || items[0].Image == "" || items[0].Published {
			t.Fatalf("lineup %+v %v", items, err)
		}
		if ok, err := s.HasProduct(ctx, "show-9", p.ID); err != nil || !ok {
			t.Fatalf("HasProduct %v %v", ok, err)
		}
		if ok, err := s.HasProduct(ctx, "show-8", p.ID); err != nil || ok {
			t.Fatalf("HasProduct other show %v %v", ok, err)
		}
		if _, err := s.SetLineup(ctx, "staff-1", "show-9", []LineupEntry{{SKUID: sku.ID, LivePrice: 100}}); !errors.Is(err, ErrInvalidLineup) {
			t.Fatalf("lineup of an unpublished product: %v", err)
		}
	})
}
