package console

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
)

// Coupons is what the console needs of coupons (*community.Coupons).
type Coupons interface {
	Templates(ctx context.Context) ([]community.CouponTemplate, error)
	Template(ctx context.Context, id string) (community.CouponTemplate, error)
	CreateTemplate(ctx context.Context, staffID string, in community.CouponTemplateInput) (community.CouponTemplate, error)
	SetTemplateDisabled(ctx context.Context, staffID, id string, disabled bool) (community.CouponTemplate, error)
	Grant(ctx context.Context, staffID, templateID string, memberIDs []string) ([]community.GrantResult, error)
	Revoke(ctx context.Context, staffID, couponID string) error
	Drops(ctx context.Context, showID string) ([]community.CouponDrop, error)
	CreateDrop(ctx context.Context, staffID, showID string, in community.CouponDropInput) (community.CouponDrop, error)
}

// couponTemplatePath names a coupon template.
type couponTemplatePath struct {
	ID string `path:"id"`
}

// couponPath names a coupon.
type couponPath struct {
	ID string `path:"id"`
}

// couponTemplateBody is a template as staff write it (money in fen).
type couponTemplateBody struct {
	Name           string     `json:"name" required:"true" maxLength:"60"`
	Kind           string     `json:"kind" required:"true" enum:"threshold,percent,no_threshold" description:"threshold: amount_off once the order reaches threshold (满减); percent: percent_off off, optionally from a threshold and up to max_discount; no_threshold: amount_off off any order."`
	Threshold      int64      `json:"threshold" minimum:"0"`
	AmountOff      int64      `json:"amount_off" minimum:"0"`
	PercentOff     int        `json:"percent_off" minimum:"0" maximum:"99"`
	MaxDiscount    int64      `json:"max_discount" minimum:"0"`
	ValidFrom      *time.Time `json:"valid_from,omitempty"`
	ValidUntil     *time.Time `json:"valid_until,omitempty"`
	ValidDays      int        `json:"valid_days" minimum:"0" maximum:"3650" description:"Each coupon is valid this many days from its grant (and no later than valid_until)."`
	TotalStock     int        `json:"total_stock" required:"true" minimum:"1"`
	PerMemberLimit int        `json:"per_member_limit" required:"true" minimum:"1"`
	ProductIDs     []string   `json:"product_ids" description:"Only these products count towards the coupon; empty means any."`
}

// grantBody lists the members to give a coupon.
type grantBody struct {
	ID        string   `path:"id" json:"-"`
	MemberIDs []string `json:"member_ids" required:"true" minItems:"1" maxItems:"1000"`
}

// grantResults says what each member got.
type grantResults struct {
	Results []community.GrantResult `json:"results"`
}

// templateList is every template.
type templateList struct {
	Templates []community.CouponTemplate `json:"templates"`
}

// dropBody is a coupon drop in a show.
type dropBody struct {
	ShowID          string     `path:"id" json:"-"`
	TemplateID      string     `json:"template_id" required:"true"`
	Quantity        int        `json:"quantity" required:"true" minimum:"1"`
	PerMemberLimit  int        `json:"per_member_limit" required:"true" minimum:"1"`
	StartsAt        *time.Time `json:"starts_at,omitempty" description:"Now when absent."`
	EndsAt          *time.Time `json:"ends_at,omitempty"`
	DurationSeconds int        `json:"duration_seconds,omitempty" description:"When ends_at is absent (60 when neither is given)."`
}

// dropList is a show's drops.
type dropList struct {
	Drops []community.CouponDrop `json:"drops"`
}

func (a *API) listCouponTemplates(c *fiber.Ctx) error {
	list, err := a.coupons.Templates(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(templateList{Templates: list})
}

func (a *API) getCouponTemplate(c *fiber.Ctx) error {
	t, err := a.coupons.Template(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (a *API) createCouponTemplate(c *fiber.Ctx) error {
	var b couponTemplateBody
	if err := communityBody(c, &b); err != nil {
		return err
	}
	t, err := a.coupons.CreateTemplate(c.UserContext(), currentStaff(c).ID, community.CouponTemplateInput{Name: b.Name, Kind: b.Kind,
		Threshold: b.Threshold, AmountOff: b.AmountOff, PercentOff: b.PercentOff, MaxDiscount: b.MaxDiscount, ValidFrom: b.ValidFrom,
		ValidUntil: b.ValidUntil, ValidDays: b.ValidDays, TotalStock: b.TotalStock, PerMemberLimit: b.PerMemberLimit, ProductIDs: b.ProductIDs})
	if err != nil {
		return communityProblem(err)
	}
	return c.Status(http.StatusCreated).JSON(t)
}

func (a *API) setCouponTemplateDisabled(disabled bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		t, err := a.coupons.SetTemplateDisabled(c.UserContext(), currentStaff(c).ID, c.Params("id"), disabled)
		if err != nil {
			return err
		}
		return c.JSON(t)
	}
}

func (a *API) grantCoupons(c *fiber.Ctx) error {
	var b grantBody
	if err := communityBody(c, &b); err != nil {
		return err
	}
	res, err := a.coupons.Grant(c.UserContext(), currentStaff(c).ID, c.Params("id"), b.MemberIDs)
	if err != nil {
		return communityProblem(err)
	}
	return c.JSON(grantResults{Results: res})
}

func (a *API) revokeCoupon(c *fiber.Ctx) error {
	if err := a.coupons.Revoke(c.UserContext(), currentStaff(c).ID, c.Params("id")); err != nil {
		return communityProblem(err)
	}
	return c.SendStatus(http.StatusNoContent)
}

func (a *API) listCouponDrops(c *fiber.Ctx) error {
	list, err := a.coupons.Drops(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(dropList{Drops: list})
}

func (a *API) createCouponDrop(c *fiber.Ctx) error {
	var b dropBody
	if err := communityBody(c, &b); err != nil {
		return err
	}
	d, err := a.coupons.CreateDrop(c.UserContext(), currentStaff(c).ID, c.Params("id"), community.CouponDropInput{TemplateID: b.TemplateID,
		Quantity: b.Quantity, PerMemberLimit: b.PerMemberLimit, StartsAt: b.StartsAt, EndsAt: b.EndsAt, DurationSeconds: b.DurationSeconds})
	if err != nil {
		return communityProblem(err)
	}
	return c.Status(http.StatusCreated).JSON(d)
}

// couponRoutes are coupon templates, grants and drops in shows.
func (a *API) couponRoutes() []Route {
	tags := []string{"coupons"}
	h := func(f fiber.Handler) []fiber.Handler { return []fiber.Handler{f} }
	errs := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	// Whoever runs a show may drop coupons in it.
	showFloor := []string{RoleOwner, RoleAdmin, RoleCommunityManager, RoleHost, RoleAssistant}
	return []Route{
		{Roles: communityReaders(), Route: edge.Route{Method: http.MethodGet, Path: "/coupon-templates", Summary: "Coupon templates, newest first", Tags: tags,
			Response: new(templateList), Errors: errs, Handlers: h(a.listCouponTemplates)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/coupon-templates", Summary: "Create a coupon template", Tags: tags,
			Request: new(couponTemplateBody), Response: new(community.CouponTemplate), Status: http.StatusCreated, Errors: errs, Handlers: h(a.createCouponTemplate)}},
		{Roles: communityReaders(), Route: edge.Route{Method: http.MethodGet, Path: "/coupon-templates/:id", Summary: "A coupon template with the coupons issued", Tags: tags,
			Request: new(couponTemplatePath), Response: new(community.CouponTemplate), Errors: errs, Handlers: h(a.getCouponTemplate)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/coupon-templates/:id/disable", Summary: "Stop granting a template (granted coupons stay usable)", Tags: tags,
			Request: new(couponTemplatePath), Response: new(community.CouponTemplate), Errors: errs, Handlers: h(a.setCouponTemplateDisabled(true))}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/coupon-templates/:id/enable", Summary: "Grant a disabled template again", Tags: tags,
			Request: new(couponTemplatePath), Response: new(community.CouponTemplate), Errors: errs, Handlers: h(a.setCouponTemplateDisabled(false))}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/coupon-templates/:id/grants", Summary: "Give members a coupon (each member's result says whether they got it)", Tags: tags,
			Request: new(grantBody), Response: new(grantResults), Errors: errs, Handlers: h(a.grantCoupons)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/coupons/:id/revoke", Summary: "Take back a coupon not held by an order", Tags: tags,
			Request: new(couponPath), Status: http.StatusNoContent, Errors: errs, Handlers: h(a.revokeCoupon)}},
		{Roles: showFloor, Route: edge.Route{Method: http.MethodGet, Path: "/shows/:id/coupon-drops", Summary: "A show's coupon drops with the coupons left", Tags: tags,
			Request: new(liveShowPath), Response: new(dropList), Errors: errs, Handlers: h(a.listCouponDrops)}},
		{Roles: showFloor, Route: edge.Route{Method: http.MethodPost, Path: "/shows/:id/coupon-drops", Summary: "Drop coupons in a show: quantity coupons of a template, claimable in a window", Tags: tags,
			Request: new(dropBody), Response: new(community.CouponDrop), Status: http.StatusCreated, Errors: append(errs, http.StatusConflict), Handlers: h(a.createCouponDrop)}},
	}
}
