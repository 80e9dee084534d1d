package analytics

import (
	"context"
	"fmt"
	"slices"
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
	// Seq is the comment's place in the order comments were stored: the
	// feed's order.
	Seq int64 `json:"-"`
}

// maxFeedLines bounds one read of the feed.
const maxFeedLines = 5000

// CommentsAfter returns the latest limit of a show's comments, oldest
// first, when after is empty. Otherwise it returns what a reader holding
// the comment with id after lacks: the comments stored after that one,
// in the order stored (live.Comment.Seq), which a comment stored later
// with an earlier id does not escape. Hidden comments are included, so
// moderators see what was held back; deleted ones are not. limit is at
// most 5000.
func (s *Service) CommentsAfter(ctx context.Context, showID, after string, limit int) ([]ChatLine, error) {
	if limit <= 0 || limit > maxFeedLines {
		limit = maxFeedLines
	}
	if after != "" {
		var seq []int64
		if err := s.db.NewSelect().Table("comments").Column("seq").
			Where("id = ? AND show_id = ?", after, showID).Scan(ctx, &seq); err != nil {
			return nil, fmt.Errorf("analytics: find comment %s: %w", after, err)
		}
		if len(seq) == 1 {
			return s.CommentsSince(ctx, showID, seq[0], limit)
		}
		// A comment of another show, or none: everything after its id.
	}
	var rows []live.Comment
	q := s.db.NewSelect().Model(&rows).Where("show_id = ? AND status <> ?", showID, live.CommentDeleted).Limit(int64(limit))
	if after != "" {
		q = q.Where("id > ?", after).OrderExpr("id ASC")
	} else {
		q = q.OrderExpr("seq DESC")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("analytics: read comments: %w", err)
	}
	if after == "" {
		slices.Reverse(rows)
	}
	return chatLines(rows), nil
}

// CommentsSince returns a show's comments numbered after seq, in the
// order stored, at most limit (≤ 5000). Hidden comments are included;
// deleted ones are not.
func (s *Service) CommentsSince(ctx context.Context, showID string, seq int64, limit int) ([]ChatLine, error) {
	if limit <= 0 || limit > maxFeedLines {
		limit = maxFeedLines
	}
	var rows []live.Comment
	if err := s.db.NewSelect().Model(&rows).Where("show_id = ? AND seq > ? AND status <> ?", showID, seq, live.CommentDeleted).
		OrderExpr("seq ASC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("analytics: read stored comments: %w", err)
	}
	return chatLines(rows), nil
}

// FeedEnd is the number of a show's latest stored comment (0 when none
// is stored): every comment up to it is visible.
func (s *Service) FeedEnd(ctx context.Context, showID string) (int64, error) {
	var seq []int64
	if err := s.db.NewSelect().Table("comment_feeds").Column("seq").Where("show_id = ?", showID).Scan(ctx, &seq); err != nil {
		return 0, fmt.Errorf("analytics: read the feed of show %s: %w", showID, err)
	}
	if len(seq) == 0 {
		return 0, nil
	}
	return seq[0], nil
}

func chatLines(rows []live.Comment) []ChatLine {
	out := make([]ChatLine, len(rows))
	for i, r := range rows {
		out[i] = ChatLine{ID: r.ID, MemberID: r.MemberID, Nickname: r.Nickname, Text: r.Text, Status: r.Status, At: r.CreatedAt.UTC(), Seq: r.Seq}
	}
	return out
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
