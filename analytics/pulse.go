package analytics

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/siyu-live/siyu/live"
)

// Pulse is a show's numbers right now, for the control room.
type Pulse struct {
	At          time.Time   `json:"at"`
	Status      live.Status `json:"status"`
	Viewers     int         `json:"viewers"`
	PeakViewers int         `json:"peak_viewers"`
	// CommentsPerMinute counts the comments of the last minute.
	CommentsPerMinute int    `json:"comments_per_minute"`
	Comments          int    `json:"comments"`
	Likes             int64  `json:"likes"`
	ProductClicks     int    `json:"product_clicks"`
	Orders            int    `json:"orders"`
	PaidOrders        int    `json:"paid_orders"`
	GMV               int64  `json:"gmv"`
	PinnedProductID   string `json:"pinned_product_id,omitempty"`
	Announcement      string `json:"announcement,omitempty"`
}

// Pulse returns a show's numbers now. Viewers, peak and likes are the
// show's own counters (kept by LiveKit's webhooks and the chat
// broadcaster); the rest are counted from the rows.
func (s *Service) Pulse(ctx context.Context, showID string) (Pulse, error) {
	show, err := s.show(ctx, s.db, showID)
	if err != nil {
		return Pulse{}, err
	}
	now := s.now()
	p := Pulse{At: now, Status: show.Status, Viewers: show.Viewers, PeakViewers: show.PeakViewers, Likes: show.Likes,
		PinnedProductID: show.PinnedProductID, Announcement: show.Announcement}
	var c struct {
		All    int `bun:"all_n"`
		Recent int `bun:"recent_n"`
	}
	if err := s.db.NewSelect().Model((*live.Comment)(nil)).
		ColumnExpr("COUNT(*) AS all_n, COALESCE(SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), 0) AS recent_n", now.Add(-time.Minute)).
		Where("show_id = ?", showID).Scan(ctx, &c); err != nil {
		return Pulse{}, fmt.Errorf("analytics: count comments: %w", err)
	}
	p.Comments, p.CommentsPerMinute = c.All, c.Recent
	clicks, err := s.db.NewSelect().Model((*ProductClick)(nil)).Where("show_id = ?", showID).Count(ctx)
	if err != nil {
		return Pulse{}, fmt.Errorf("analytics: count clicks: %w", err)
	}
	p.ProductClicks = int(clicks)
	var o struct {
		All  int   `bun:"all_n"`
		Paid int   `bun:"paid_n"`
		GMV  int64 `bun:"gmv"`
	}
	if err := s.db.NewSelect().Table("orders").
		ColumnExpr("COUNT(*) AS all_n, COALESCE(SUM(CASE WHEN paid_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS paid_n").
		ColumnExpr("COALESCE(SUM(CASE WHEN paid_at IS NOT NULL THEN total ELSE 0 END), 0) AS gmv").
		Where("show_id = ?", showID).Scan(ctx, &o); err != nil {
		return Pulse{}, fmt.Errorf("analytics: count orders: %w", err)
	}
	p.Orders, p.PaidOrders, p.GMV = o.All, o.Paid, o.GMV
	return p, nil
}

// ChatLine is a comment as the control room shows it.
type ChatLine struct {
	ID       string             `json:"id"`
	MemberID string             `json:"member_id"`
	Nickname string             `json:"nickname"`
	Text     string             `json:"text"`
	Status   live.CommentStatus `json:"status"`
	At       time.Time          `json:"at"`
}

// CommentsAfter returns a show's comments after the comment with id after
// (the latest limit when empty), oldest first, at most limit (≤ 200).
// Hidden comments are included, so moderators see what was held back;
// deleted ones are not.
func (s *Service) CommentsAfter(ctx context.Context, showID, after string, limit int) ([]ChatLine, error) {
	if limit <= 0 || limit > 200 {
		limit = 200
	}
	var rows []live.Comment
	q := s.db.NewSelect().Model(&rows).Where("show_id = ? AND status <> ?", showID, live.CommentDeleted).Limit(int64(limit))
	if after != "" {
		q = q.Where("id > ?", after).OrderExpr("id ASC")
	} else {
		q = q.OrderExpr("id DESC")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("analytics: read comments: %w", err)
	}
	out := make([]ChatLine, len(rows))
	for i, r := range rows {
		out[i] = ChatLine{ID: r.ID, MemberID: r.MemberID, Nickname: r.Nickname, Text: r.Text, Status: r.Status, At: r.CreatedAt.UTC()}
	}
	if after == "" {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out, nil
}

// OrderLine is an order as the control room shows it.
type OrderLine struct {
	ID       string     `json:"id"`
	MemberID string     `json:"member_id"`
	Status   string     `json:"status"`
	Total    int64      `json:"total"`
	Items    string     `json:"items"`
	At       time.Time  `json:"at"`
	PaidAt   *time.Time `json:"paid_at,omitempty"`
}

// RecentOrders returns a show's latest orders, newest first, at most limit
// (≤ 50), each with its lines summed up as "title ×n".
func (s *Service) RecentOrders(ctx context.Context, showID string, limit int) ([]OrderLine, error) {
	if limit <= 0 || limit > 50 {
		limit = 50
	}
	var rows []orderRow
	if err := s.db.NewSelect().Table("orders").Column("id", "member_id", "status", "total", "paid_at", "created_at").
		Where("show_id = ?", showID).OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("analytics: read orders: %w", err)
	}
	out := make([]OrderLine, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var lines []struct {
		OrderID  string `bun:"order_id"`
		Title    string `bun:"title"`
		Quantity int    `bun:"quantity"`
	}
	if err := s.db.NewSelect().Table("order_items").Column("order_id", "title", "quantity").
		Where("order_id IN (?)", bunIn(ids)).OrderExpr("order_id, line").Scan(ctx, &lines); err != nil {
		return nil, fmt.Errorf("analytics: read order lines: %w", err)
	}
	items := map[string][]string{}
	for _, l := range lines {
		items[l.OrderID] = append(items[l.OrderID], fmt.Sprintf("%s ×%d", l.Title, l.Quantity))
	}
	for i, r := range rows {
		out[i] = OrderLine{ID: r.ID, MemberID: r.MemberID, Status: r.Status, Total: r.Total,
			Items: strings.Join(items[r.ID], ", "), At: r.CreatedAt.UTC(), PaidAt: utcPtr(r.PaidAt)}
	}
	return out, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
