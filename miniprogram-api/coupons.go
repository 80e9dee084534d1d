package miniprogramapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
)

// Coupons is what the shopper API needs of coupons (*community.Coupons).
type Coupons interface {
	MemberCoupons(ctx context.Context, memberID, status string) ([]community.Coupon, error)
	Drops(ctx context.Context, showID string) ([]community.CouponDrop, error)
	ClaimDrop(ctx context.Context, memberID, showID, dropID, requestKey string) (community.Coupon, error)
}

// myCouponsRequest filters GET /me/coupons.
type myCouponsRequest struct {
	Status string `query:"status" enum:"available,reserved,used,expired,revoked" description:"Only coupons in this status; all when absent."`
}

// couponsBody is the member's coupons, soonest to expire first.
type couponsBody struct {
	Coupons []community.Coupon `json:"coupons"`
}

// showDropsBody is a show's coupon drops.
type showDropsBody struct {
	Drops []community.CouponDrop `json:"drops"`
}

// claimDropRequest is POST /shows/{id}/coupon-drops/{drop_id}/claim.
type claimDropRequest struct {
	ID             string `path:"id" json:"-"`
	DropID         string `path:"drop_id" json:"-"`
	IdempotencyKey string `header:"Idempotency-Key" json:"-" description:"Optional: a retried request with the same key answers the coupon it already won."`
}

func (a *API) myCoupons(c *fiber.Ctx) error {
	status := c.Query("status")
	list, err := a.coupons.MemberCoupons(c.UserContext(), memberID(c), status)
	if errors.Is(err, community.ErrInvalidCoupon) {
		return edge.BadRequest("invalid_status", "status is available, reserved, used, expired or revoked")
	}
	if err != nil {
		return err
	}
	return c.JSON(couponsBody{Coupons: list})
}

func (a *API) showCouponDrops(c *fiber.Ctx) error {
	list, err := a.coupons.Drops(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(showDropsBody{Drops: list})
}

// claimDrop claims one coupon of a drop: 201 with the coupon, 409
// sold_out / limit_reached / drop_not_started (with Retry-After) /
// drop_ended.
func (a *API) claimDrop(c *fiber.Ctx) error {
	cp, err := a.coupons.ClaimDrop(c.UserContext(), memberID(c), c.Params("id"), c.Params("drop_id"), c.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(cp)
}
