package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/siyu-live/siyu/live"
)

// Report is everything known about a show's performance, during the show
// (numbers so far) or after it.
type Report struct {
	ShowID string      `json:"show_id"`
	Title  string      `json:"title"`
	Status live.Status `json:"status"`
	// Start and End bound the live part of the show (End is now while it
	// is live); both are nil for a show that never went live.
	Start *time.Time `json:"start,omitempty"`
	End   *time.Time `json:"end,omitempty"`

	Audience     Audience       `json:"audience"`
	Engagement   Engagement     `json:"engagement"`
	Sales        Sales          `json:"sales"`
	Products     []ProductStats `json:"products"`
	Funnel       Funnel         `json:"funnel"`
	Coupons      CouponStats    `json:"coupons"`
	Reservations Reservations   `json:"reservations"`
	WeCom        WeComStats     `json:"wecom"`
	Inviters     []Inviter      `json:"inviters"`
	// Minutes is the show minute by minute from Start.
	Minutes []Minute `json:"minutes"`
	// Markers are the pins, flash sales and coupon drops, for the charts.
	Markers []Marker `json:"markers"`
}

// Engagement is the chat and likes of a show.
type Engagement struct {
	// Comments counts every comment posted; CommentsHidden those that
	// failed moderation and CommentsDeleted those staff removed.
	Comments              int   `json:"comments"`
	CommentsHidden        int   `json:"comments_hidden"`
	CommentsDeleted       int   `json:"comments_deleted"`
	PeakCommentsPerMinute int   `json:"peak_comments_per_minute"`
	Likes                 int64 `json:"likes"`
	PeakLikesPerMinute    int64 `json:"peak_likes_per_minute"`
	// ProductClicks counts product-card clicks; Clickers the members who
	// clicked.
	ProductClicks int `json:"product_clicks"`
	Clickers      int `json:"clickers"`
}

// Sales are the orders attributed to a show.
type Sales struct {
	Orders     int `json:"orders"`
	PaidOrders int `json:"paid_orders"`
	// Buyers ordered; Payers paid at least one order.
	Buyers int `json:"buyers"`
	Payers int `json:"payers"`
	// GMV is what buyers paid for the paid orders, in fen.
	GMV      int64 `json:"gmv"`
	Discount int64 `json:"discount"`
	Refunded int64 `json:"refunded"`
	// AverageOrder is GMV over paid orders, in fen.
	AverageOrder int64 `json:"average_order"`
}

// ProductStats are one product's figures in a show.
type ProductStats struct {
	ProductID string `json:"product_id"`
	Title     string `json:"title"`
	Clicks    int    `json:"clicks"`
	Clickers  int    `json:"clickers"`
	// Orders and PaidOrders count the orders with a line of the product.
	Orders     int `json:"orders"`
	PaidOrders int `json:"paid_orders"`
	PaidUnits  int `json:"paid_units"`
	// PaidAmount sums the product's lines of paid orders, in fen, before
	// order-level discounts.
	PaidAmount int64 `json:"paid_amount"`
}

// Funnel counts distinct members at each step from watching to paying.
type Funnel struct {
	Viewed  int `json:"viewed"`
	Clicked int `json:"clicked"`
	Ordered int `json:"ordered"`
	Paid    int `json:"paid"`
}

// CouponStats are the coupons of a show's drops.
type CouponStats struct {
	Drops       int   `json:"drops"`
	Claims      int   `json:"claims"`
	Redemptions int   `json:"redemptions"`
	Discount    int64 `json:"discount"`
}

// Reservations are the show's reservations and how many became viewers.
type Reservations struct {
	Reserved int `json:"reserved"`
	Watched  int `json:"watched"`
}

// WeComStats are the private-traffic conversions attributed to the show.
type WeComStats struct {
	Contacts   int `json:"contacts"`
	GroupJoins int `json:"group_joins"`
}

// Inviter is a member who brought people or sales to the show.
type Inviter struct {
	MemberID string `json:"member_id"`
	Nickname string `json:"nickname"`
	// Arrivals counts the members who came in through their share link of
	// the show; WeCom the conversions through their ways.
	Arrivals   int   `json:"arrivals"`
	WeCom      int   `json:"wecom"`
	PaidOrders int   `json:"paid_orders"`
	GMV        int64 `json:"gmv"`
}

// Minute is one minute of a show, from At.
type Minute struct {
	At         time.Time `json:"at"`
	Viewers    int       `json:"viewers"`
	Comments   int       `json:"comments"`
	Likes      int64     `json:"likes"`
	Clicks     int       `json:"clicks"`
	Orders     int       `json:"orders"`
	PaidOrders int       `json:"paid_orders"`
}

// Marker kinds.
const (
	MarkerPin        = "pin"
	MarkerFlashSale  = "flash_sale"
	MarkerCouponDrop = "coupon_drop"
)

// Marker is a moment worth marking on the charts.
type Marker struct {
	At    time.Time `json:"at"`
	Kind  string    `json:"kind" enum:"pin,flash_sale,coupon_drop"`
	Label string    `json:"label"`
}

// topInviters is how many inviters a report lists.
const topInviters = 10

// Report computes a show's report.
func (s *Service) Report(ctx context.Context, showID string) (Report, error) {
	show, err := s.show(ctx, s.db, showID)
	if err != nil {
		return Report{}, err
	}
	w := s.windowOf(show)
	r := Report{ShowID: show.ID, Title: show.Title, Status: show.Status, Products: []ProductStats{}, Inviters: []Inviter{},
		Minutes: []Minute{}, Markers: []Marker{}}
	if w.ok {
		start, end := w.start, w.end
		r.Start, r.End = &start, &end
		r.Minutes = make([]Minute, w.minutes())
		for i := range r.Minutes {
			r.Minutes[i].At = w.start.Add(time.Duration(i) * time.Minute)
		}
	}

	sessions, err := sessionsOf(ctx, s.db, showID)
	if err != nil {
		return Report{}, err
	}
	r.Audience = audience(sessions, w, r.Minutes)
	viewers := map[string]bool{}
	for _, ss := range sessions {
		viewers[ss.Identity] = true
	}
	if err := s.engagement(ctx, show, w, &r); err != nil {
		return Report{}, err
	}
	clickers, err := s.products(ctx, show.ID, w, &r)
	if err != nil {
		return Report{}, err
	}
	buyers, payers, byInviter, err := s.sales(ctx, show.ID, w, &r)
	if err != nil {
		return Report{}, err
	}
	r.Funnel = Funnel{Viewed: len(viewers), Clicked: len(clickers), Ordered: len(buyers), Paid: len(payers)}
	if err := s.coupons(ctx, show.ID, &r); err != nil {
		return Report{}, err
	}
	if err := s.reservations(ctx, show.ID, viewers, &r); err != nil {
		return Report{}, err
	}
	if err := s.inviters(ctx, show.ID, byInviter, &r); err != nil {
		return Report{}, err
	}
	if err := s.markers(ctx, show.ID, &r); err != nil {
		return Report{}, err
	}
	return r, nil
}

// engagement counts comments and likes, overall and per minute.
func (s *Service) engagement(ctx context.Context, show *live.Show, w window, r *Report) error {
	var comments []live.Comment
	if err := s.db.NewSelect().Model(&comments).Column("status", "created_at").Where("show_id = ?", show.ID).Scan(ctx); err != nil {
		return fmt.Errorf("analytics: read comments: %w", err)
	}
	e := &r.Engagement
	for _, c := range comments {
		e.Comments++
		switch c.Status {
		case live.CommentHidden:
			e.CommentsHidden++
		case live.CommentDeleted:
			e.CommentsDeleted++
		}
		if w.ok {
			r.Minutes[w.bucket(c.CreatedAt.UTC())].Comments++
		}
	}
	var samples []Sample
	if err := s.db.NewSelect().Model(&samples).Where("show_id = ?", show.ID).Order("at").Scan(ctx); err != nil {
		return fmt.Errorf("analytics: read samples: %w", err)
	}
	var last int64
	for _, sm := range samples {
		if sm.Likes > last && w.ok {
			r.Minutes[w.bucket(sm.At.UTC())].Likes += sm.Likes - last
		}
		last = max(last, sm.Likes)
	}
	e.Likes = max(show.Likes, last)
	if rest := e.Likes - last; rest > 0 && w.ok {
		// Likes after the last sample: the show's last minute.
		r.Minutes[len(r.Minutes)-1].Likes += rest
	}
	for _, m := range r.Minutes {
		e.PeakCommentsPerMinute = max(e.PeakCommentsPerMinute, m.Comments)
		e.PeakLikesPerMinute = max(e.PeakLikesPerMinute, m.Likes)
	}
	return nil
}
