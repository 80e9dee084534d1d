package live

import (
	"context"
	"time"
)

// CouponDrop is a coupon drop as the room announces it: coupons a viewer
// claims in the show while they last.
type CouponDrop struct {
	ID        string    `json:"id"`
	ShowID    string    `json:"show_id"`
	Title     string    `json:"title"`
	Quantity  int       `json:"quantity"`
	Remaining int       `json:"remaining"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
}

// CouponDrops is what the drop_coupon action needs of the coupons.
// CouponDrop answers ErrCouponDropNotFound for an unknown drop or one of
// another show.
type CouponDrops interface {
	CouponDrop(ctx context.Context, showID, dropID string) (CouponDrop, error)
}

// prepareCouponDrop checks that the drop is the show's and still open, and
// returns what viewers need to claim it.
func prepareCouponDrop(ctx context.Context, s *Service, show *Show, a Action) (map[string]any, error) {
	if a.DropID == "" {
		return nil, invalid("drop_id", "is required")
	}
	if s.cfg.CouponDrops == nil {
		return nil, ErrCouponsUnavailable
	}
	d, err := s.cfg.CouponDrops.CouponDrop(ctx, show.ID, a.DropID)
	if err != nil {
		return nil, err
	}
	if d.ShowID != show.ID {
		return nil, ErrCouponDropNotFound
	}
	if !d.EndsAt.After(s.now()) {
		return nil, invalid("drop_id", "the coupon drop is over")
	}
	return map[string]any{
		"drop_id": d.ID, "title": d.Title, "quantity": d.Quantity, "remaining": d.Remaining,
		"starts_at": d.StartsAt.UTC(), "ends_at": d.EndsAt.UTC(),
	}, nil
}
