package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/community"
)

// pageCoupons lists coupon templates with the form to add one.
func (a *API) pageCoupons(c *fiber.Ctx) error {
	return a.renderCoupons(c, a.view(c, "campaigns"), http.StatusOK)
}

func (a *API) renderCoupons(c *fiber.Ctx, v *view, status int) error {
	if a.coupons == nil {
		return errNoService
	}
	ts, err := a.coupons.Templates(c.UserContext())
	if err != nil {
		return err
	}
	v.Data = ts
	return a.render(c, status, "coupons", v)
}

// formCreateCouponTemplate creates a coupon template: money off (over a
// threshold or not) or a percentage off.
func (a *API) formCreateCouponTemplate(c *fiber.Ctx) error {
	if a.coupons == nil {
		return errNoService
	}
	v := a.view(c, "campaigns")
	v.keep(c, "name", "kind", "threshold", "amount_off", "percent_off", "valid_days", "total_stock", "per_member_limit")
	in := community.CouponTemplateInput{Name: strings.TrimSpace(c.FormValue("name")), Kind: c.FormValue("kind")}
	if in.Name == "" {
		v.Fields["name"] = v.T("form.required")
	}
	money := func(field string) int64 {
		s := strings.TrimSpace(c.FormValue(field))
		if s == "" {
			return 0
		}
		n, err := parseYuan(s)
		if err != nil {
			v.Fields[field] = v.T("form.money")
		}
		return n
	}
	count := func(field string, least int) int {
		n, err := strconv.Atoi(strings.TrimSpace(c.FormValue(field)))
		if err != nil || n < least {
			v.Fields[field] = v.T("form.number")
		}
		return n
	}
	in.Threshold, in.AmountOff = money("threshold"), money("amount_off")
	if in.Kind == community.CouponPercent {
		in.PercentOff = count("percent_off", 1)
	}
	in.ValidDays = count("valid_days", 1)
	in.TotalStock = count("total_stock", 1)
	in.PerMemberLimit = count("per_member_limit", 1)
	if len(v.Fields) > 0 {
		return a.renderCoupons(c, v, http.StatusUnprocessableEntity)
	}
	if _, err := a.coupons.CreateTemplate(c.UserContext(), currentStaff(c).ID, in); err != nil {
		return a.renderCoupons(c, v, v.fail(communityProblem(err)))
	}
	return done(c, "/coupons", "coupon_template_created")
}
