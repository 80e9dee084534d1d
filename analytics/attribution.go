package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/siyu-live/siyu/live"
)

// reservations counts the reservations and the reserving members who
// watched.
func (s *Service) reservations(ctx context.Context, showID string, viewers map[string]bool, r *Report) error {
	var members []string
	if err := s.db.NewSelect().Model((*live.Reservation)(nil)).Column("member_id").Where("show_id = ?", showID).Scan(ctx, &members); err != nil {
		return fmt.Errorf("analytics: read reservations: %w", err)
	}
	r.Reservations.Reserved = len(members)
	for _, m := range members {
		if viewers[m] {
			r.Reservations.Watched++
		}
	}
	return nil
}

// inviters counts WeCom conversions and share-link arrivals, merges the
// paid orders, and keeps the top inviters.
func (s *Service) inviters(ctx context.Context, showID string, byInviter map[string]*Inviter, r *Report) error {
	get := func(id string) *Inviter {
		inv := byInviter[id]
		if inv == nil {
			inv = &Inviter{MemberID: id}
			byInviter[id] = inv
		}
		return inv
	}
	var conv []struct {
		Kind      string `bun:"kind"`
		InviterID string `bun:"inviter_id"`
		N         int    `bun:"n"`
	}
	if err := s.db.NewSelect().Table("traffic_conversions").ColumnExpr("kind, inviter_id, COUNT(*) AS n").
		Where("show_id = ?", showID).GroupExpr("kind, inviter_id").Scan(ctx, &conv); err != nil {
		return fmt.Errorf("analytics: read conversions: %w", err)
	}
	for _, c := range conv {
		switch c.Kind {
		case "group_join":
			r.WeCom.GroupJoins += c.N
		case "contact_add":
			r.WeCom.Contacts += c.N
		}
		if c.InviterID != "" {
			get(c.InviterID).WeCom += c.N
		}
	}
	var arrivals []struct {
		InviterID string `bun:"inviter_id"`
		N         int    `bun:"n"`
	}
	if err := s.db.NewSelect().Table("member_touches").ColumnExpr("inviter_id, COUNT(DISTINCT member_id) AS n").
		Where("show_id = ? AND inviter_id <> ''", showID).GroupExpr("inviter_id").Scan(ctx, &arrivals); err != nil {
		return fmt.Errorf("analytics: read share arrivals: %w", err)
	}
	for _, a := range arrivals {
		get(a.InviterID).Arrivals = a.N
	}
	list := make([]Inviter, 0, len(byInviter))
	ids := make([]string, 0, len(byInviter))
	for id, inv := range byInviter {
		list = append(list, *inv)
		ids = append(ids, id)
	}
	slices.SortFunc(list, func(a, b Inviter) int {
		switch {
		case a.GMV != b.GMV:
			return cmpDesc(a.GMV, b.GMV)
		case a.PaidOrders != b.PaidOrders:
			return cmpDesc(a.PaidOrders, b.PaidOrders)
		case a.Arrivals+a.WeCom != b.Arrivals+b.WeCom:
			return cmpDesc(a.Arrivals+a.WeCom, b.Arrivals+b.WeCom)
		}
		if a.MemberID < b.MemberID {
			return -1
		}
		return 1
	})
	if len(list) > topInviters {
		list = list[:topInviters]
	}
	if len(ids) > 0 {
		var names []struct {
			ID       string `bun:"id"`
			Nickname string `bun:"nickname"`
		}
		if err := s.db.NewSelect().Table("members").Column("id", "nickname").Where("id IN (?)", bunIn(ids)).Scan(ctx, &names); err != nil {
			return fmt.Errorf("analytics: read inviters: %w", err)
		}
		nick := map[string]string{}
		for _, n := range names {
			nick[n.ID] = n.Nickname
		}
		for i := range list {
			list[i].Nickname = nick[list[i].MemberID]
		}
	}
	r.Inviters = list
	return nil
}

func cmpDesc[T int | int64](a, b T) int {
	if a > b {
		return -1
	}
	return 1
}

// markers reads the pins and flash sales from the timeline and the coupon
// drops.
func (s *Service) markers(ctx context.Context, showID string, r *Report) error {
	var evs []live.TimelineEvent
	if err := s.db.NewSelect().Model(&evs).Where("show_id = ? AND kind IN (?)", showID,
		bunIn([]string{string(live.EventProductPinned), string(live.EventFlashSale)})).OrderExpr("at ASC, id ASC").Scan(ctx); err != nil {
		return fmt.Errorf("analytics: read timeline: %w", err)
	}
	titles := map[string]string{}
	for _, p := range r.Products {
		titles[p.ProductID] = p.Title
	}
	for _, e := range evs {
		var d struct {
			ProductID string `json:"product_id"`
			Title     string `json:"title"`
			Price     int64  `json:"price"`
		}
		_ = json.Unmarshal(e.Data, &d) // a marker without details still marks the moment
		label := d.Title
		if label == "" {
			label = titles[d.ProductID]
		}
		kind := MarkerPin
		if e.Kind == live.EventFlashSale {
			kind = MarkerFlashSale
			if label == "" {
				label = titles[d.ProductID]
			}
		}
		r.Markers = append(r.Markers, Marker{At: e.At.UTC(), Kind: kind, Label: label})
	}
	var drops []struct {
		StartsAt time.Time `bun:"starts_at"`
		Name     string    `bun:"name"`
	}
	if err := s.db.NewSelect().TableExpr("coupon_drops AS d").Join("LEFT JOIN coupon_templates AS t ON t.id = d.template_id").
		ColumnExpr("d.starts_at, COALESCE(t.name, '') AS name").Where("d.show_id = ?", showID).Scan(ctx, &drops); err != nil {
		return fmt.Errorf("analytics: read coupon drops: %w", err)
	}
	for _, d := range drops {
		r.Markers = append(r.Markers, Marker{At: d.StartsAt.UTC(), Kind: MarkerCouponDrop, Label: d.Name})
	}
	slices.SortStableFunc(r.Markers, func(a, b Marker) int { return a.At.Compare(b.At) })
	return nil
}
