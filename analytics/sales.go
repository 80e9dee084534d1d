package analytics

import (
	"context"
	"fmt"
	"time"
)

// products lists the lineup's products with their clicks; it returns the
// members who clicked.
func (s *Service) products(ctx context.Context, showID string, w window, r *Report) (map[string]bool, error) {
	var lineup []struct {
		ProductID string `bun:"product_id"`
		Position  int    `bun:"position"`
		Title     string `bun:"title"`
	}
	if err := s.db.NewSelect().TableExpr("lineup_items AS li").Join("JOIN products AS p ON p.id = li.product_id").
		ColumnExpr("li.product_id, li.position, p.title").Where("li.show_id = ?", showID).
		OrderExpr("li.position ASC, li.product_id ASC").Scan(ctx, &lineup); err != nil {
		return nil, fmt.Errorf("analytics: read lineup: %w", err)
	}
	index := map[string]int{}
	add := func(productID, title string) int {
		if i, ok := index[productID]; ok {
			return i
		}
		index[productID] = len(r.Products)
		r.Products = append(r.Products, ProductStats{ProductID: productID, Title: title})
		return len(r.Products) - 1
	}
	for _, l := range lineup {
		add(l.ProductID, l.Title)
	}
	var clicks []ProductClick
	if err := s.db.NewSelect().Model(&clicks).Column("product_id", "member_id", "clicked_at").Where("show_id = ?", showID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("analytics: read product clicks: %w", err)
	}
	clickers := map[string]bool{}
	perProduct := map[string]map[string]bool{}
	for _, c := range clicks {
		i := add(c.ProductID, "")
		r.Products[i].Clicks++
		if perProduct[c.ProductID] == nil {
			perProduct[c.ProductID] = map[string]bool{}
		}
		perProduct[c.ProductID][c.MemberID] = true
		clickers[c.MemberID] = true
		if w.ok {
			r.Minutes[w.bucket(c.ClickedAt.UTC())].Clicks++
		}
	}
	for id, ms := range perProduct {
		r.Products[index[id]].Clickers = len(ms)
	}
	r.Engagement.ProductClicks, r.Engagement.Clickers = len(clicks), len(clickers)
	return clickers, nil
}

// orderRow is what the report reads of an order.
type orderRow struct {
	ID        string     `bun:"id"`
	MemberID  string     `bun:"member_id"`
	Status    string     `bun:"status"`
	Total     int64      `bun:"total"`
	Discount  int64      `bun:"discount"`
	Refunded  int64      `bun:"refunded"`
	InviterID string     `bun:"inviter_id"`
	PaidAt    *time.Time `bun:"paid_at"`
	CreatedAt time.Time  `bun:"created_at"`
}

// sales sums the show's orders, overall, per product and per minute. It
// returns the members who ordered and paid, and each inviter's paid orders.
func (s *Service) sales(ctx context.Context, showID string, w window, r *Report) (buyers, payers map[string]bool, byInviter map[string]*Inviter, err error) {
	var orders []orderRow
	if err := s.db.NewSelect().Table("orders").
		Column("id", "member_id", "status", "total", "discount", "refunded", "inviter_id", "paid_at", "created_at").
		Where("show_id = ?", showID).Scan(ctx, &orders); err != nil {
		return nil, nil, nil, fmt.Errorf("analytics: read orders: %w", err)
	}
	var lines []struct {
		OrderID   string `bun:"order_id"`
		ProductID string `bun:"product_id"`
		Title     string `bun:"title"`
		Quantity  int    `bun:"quantity"`
		Total     int64  `bun:"total"`
	}
	if err := s.db.NewSelect().TableExpr("order_items AS oi").Join("JOIN orders AS o ON o.id = oi.order_id").
		ColumnExpr("oi.order_id, oi.product_id, oi.title, oi.quantity, oi.total").Where("o.show_id = ?", showID).
		OrderExpr("oi.order_id, oi.line").Scan(ctx, &lines); err != nil {
		return nil, nil, nil, fmt.Errorf("analytics: read order lines: %w", err)
	}
	buyers, payers, byInviter = map[string]bool{}, map[string]bool{}, map[string]*Inviter{}
	paid := map[string]bool{}
	sl := &r.Sales
	for _, o := range orders {
		sl.Orders++
		buyers[o.MemberID] = true
		if w.ok {
			r.Minutes[w.bucket(o.CreatedAt.UTC())].Orders++
		}
		if o.PaidAt == nil {
			continue
		}
		paid[o.ID] = true
		payers[o.MemberID] = true
		sl.PaidOrders++
		sl.GMV += o.Total
		sl.Discount += o.Discount
		sl.Refunded += o.Refunded
		if w.ok {
			r.Minutes[w.bucket(o.PaidAt.UTC())].PaidOrders++
		}
		if o.InviterID != "" {
			inv := byInviter[o.InviterID]
			if inv == nil {
				inv = &Inviter{MemberID: o.InviterID}
				byInviter[o.InviterID] = inv
			}
			inv.PaidOrders++
			inv.GMV += o.Total
		}
	}
	sl.Buyers, sl.Payers = len(buyers), len(payers)
	if sl.PaidOrders > 0 {
		sl.AverageOrder = sl.GMV / int64(sl.PaidOrders)
	}
	index := map[string]int{}
	for i, p := range r.Products {
		index[p.ProductID] = i
	}
	counted := map[[2]string]bool{}
	for _, l := range lines {
		i, ok := index[l.ProductID]
		if !ok {
			// A product ordered in the show that has since left the lineup.
			i = len(r.Products)
			index[l.ProductID] = i
			r.Products = append(r.Products, ProductStats{ProductID: l.ProductID, Title: l.Title})
		}
		p := &r.Products[i]
		if p.Title == "" {
			p.Title = l.Title
		}
		key := [2]string{l.OrderID, l.ProductID}
		first := !counted[key]
		counted[key] = true
		if first {
			p.Orders++
		}
		if paid[l.OrderID] {
			if first {
				p.PaidOrders++
			}
			p.PaidUnits += l.Quantity
			p.PaidAmount += l.Total
		}
	}
	return buyers, payers, byInviter, nil
}

// coupons counts the coupons claimed from the show's drops and redeemed.
func (s *Service) coupons(ctx context.Context, showID string, r *Report) error {
	drops, err := s.db.NewSelect().Table("coupon_drops").Where("show_id = ?", showID).Count(ctx)
	if err != nil {
		return fmt.Errorf("analytics: count coupon drops: %w", err)
	}
	var rows []struct {
		Status   string `bun:"status"`
		Discount int64  `bun:"discount"`
	}
	if err := s.db.NewSelect().TableExpr("coupons AS c").ColumnExpr("c.status, c.discount").
		Where("c.source = 'drop' AND c.source_id IN (SELECT d.id FROM coupon_drops AS d WHERE d.show_id = ?)", showID).
		Scan(ctx, &rows); err != nil {
		return fmt.Errorf("analytics: read drop coupons: %w", err)
	}
	r.Coupons.Drops = int(drops)
	for _, c := range rows {
		r.Coupons.Claims++
		if c.Status == "used" {
			r.Coupons.Redemptions++
			r.Coupons.Discount += c.Discount
		}
	}
	return nil
}
