package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/analytics"
	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/live"
)

// lineupProduct is a product of the lineup as the control room pins it:
// its lowest live price over its SKUs.
type lineupProduct struct {
	ProductID string
	Title     string
	LivePrice int64
	SKUs      []catalog.LineupItem
}

// controlPage is what the control room shows.
type controlPage struct {
	Show       *live.Show
	Products   []lineupProduct
	FlashSales []catalog.FlashSale
	Templates  []community.CouponTemplate
	Drops      []community.CouponDrop
	Pulse      analytics.Pulse
	Comments   []analytics.ChatLine
	Orders     []analytics.OrderLine
	LastID     string
	CanDrop    bool
	CanSell    bool
}

// pageControlRoom shows the live control room of a show.
func (a *API) pageControlRoom(c *fiber.Ctx) error {
	if a.analytics == nil {
		return errNoService
	}
	ctx := c.UserContext()
	s, err := a.shows.Show(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	v := a.view(c, "shows")
	me := currentStaff(c)
	d := controlPage{Show: s, CanDrop: slices.Contains(webDropRoles, me.Role) && a.coupons != nil,
		CanSell: slices.Contains(catalogRoles, me.Role)}
	items, err := a.catalog.Lineup(ctx, s.ID)
	if err != nil {
		return err
	}
	for _, it := range items {
		i := slices.IndexFunc(d.Products, func(p lineupProduct) bool { return p.ProductID == it.ProductID })
		if i < 0 {
			d.Products = append(d.Products, lineupProduct{ProductID: it.ProductID, Title: it.Title, LivePrice: it.LivePrice})
			i = len(d.Products) - 1
		}
		d.Products[i].SKUs = append(d.Products[i].SKUs, it)
		d.Products[i].LivePrice = min(d.Products[i].LivePrice, it.LivePrice)
	}
	if d.FlashSales, err = a.catalog.FlashSales(ctx, s.ID); err != nil {
		return err
	}
	if d.CanDrop {
		if d.Templates, err = a.coupons.Templates(ctx); err != nil {
			return err
		}
		d.Templates = slices.DeleteFunc(d.Templates, func(t community.CouponTemplate) bool { return t.Disabled })
		if d.Drops, err = a.coupons.Drops(ctx, s.ID); err != nil {
			return err
		}
	}
	if d.Pulse, err = a.analytics.Pulse(ctx, s.ID); err != nil {
		return err
	}
	if d.Comments, err = a.analytics.CommentsAfter(ctx, s.ID, "", 50); err != nil {
		return err
	}
	if len(d.Comments) > 0 {
		d.LastID = d.Comments[len(d.Comments)-1].ID
	}
	if d.Orders, err = a.analytics.RecentOrders(ctx, s.ID, recentOrders); err != nil {
		return err
	}
	v.Data = d
	return a.render(c, http.StatusOK, "control", v)
}

// actionDone answers a control-room form: JSON for the room's script,
// else back to the room saying what was done.
func actionDone(c *fiber.Ctx, showID, what string, v *view) error {
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"ok": true, "message": v.T("done." + what)})
	}
	return done(c, "/shows/"+showID+"/live", what)
}

// formAction performs a control action (pin, unpin, announcement, flash
// sale countdown, coupon drop announcement, delete a comment, mute or
// remove a viewer) through the same service call as the JSON API.
func (a *API) formAction(c *fiber.Ctx) error {
	showID := c.Params("id")
	act := live.Action{Type: c.FormValue("type"), ProductID: c.FormValue("product_id"), FlashSaleID: c.FormValue("flash_sale_id"),
		Text: c.FormValue("text"), MemberID: c.FormValue("member_id"), CommentID: c.FormValue("comment_id"), DropID: c.FormValue("drop_id")}
	if _, err := a.shows.PerformAction(c.UserContext(), currentStaff(c).ID, showID, act); err != nil {
		return showProblem(err)
	}
	return actionDone(c, showID, "action_"+act.Type, a.view(c, "shows"))
}

// formLiveFlashSale creates a flash sale of a lineup SKU starting now and
// broadcasts its countdown.
func (a *API) formLiveFlashSale(c *fiber.Ctx) error {
	ctx, showID, me := c.UserContext(), c.Params("id"), currentStaff(c)
	v := a.view(c, "shows")
	price, err := parseYuan(c.FormValue("price"))
	if err != nil {
		return invalidField("price", v.T("form.money"))
	}
	qty, err1 := strconv.Atoi(strings.TrimSpace(c.FormValue("quantity")))
	limit, err2 := strconv.Atoi(strings.TrimSpace(c.FormValue("per_member_limit")))
	mins, err3 := strconv.Atoi(strings.TrimSpace(c.FormValue("minutes")))
	if err1 != nil || err2 != nil || err3 != nil || mins < 1 || mins > 180 {
		return invalidField("quantity", v.T("form.number"))
	}
	now := time.Now().UTC()
	fs, err := a.catalog.CreateFlashSale(ctx, me.ID, catalog.FlashSaleInput{ShowID: showID, SKUID: c.FormValue("sku_id"), Price: price,
		Quantity: qty, PerMemberLimit: limit, StartsAt: now, EndsAt: now.Add(time.Duration(mins) * time.Minute)})
	if err != nil {
		return err
	}
	if _, err := a.shows.PerformAction(ctx, me.ID, showID, live.Action{Type: live.ActionFlashSale, FlashSaleID: fs.ID}); err != nil {
		return showProblem(err)
	}
	return actionDone(c, showID, "flash_sale_started", v)
}

// formCouponDrop drops coupons of a template in the show.
func (a *API) formCouponDrop(c *fiber.Ctx) error {
	if a.coupons == nil {
		return errNoService
	}
	showID := c.Params("id")
	v := a.view(c, "shows")
	qty, err1 := strconv.Atoi(strings.TrimSpace(c.FormValue("quantity")))
	limit, err2 := strconv.Atoi(strings.TrimSpace(c.FormValue("per_member_limit")))
	secs, err3 := strconv.Atoi(strings.TrimSpace(c.FormValue("duration_seconds")))
	if err1 != nil || err2 != nil || err3 != nil {
		return invalidField("quantity", v.T("form.number"))
	}
	ctx, me := c.UserContext(), currentStaff(c).ID
	d, err := a.coupons.CreateDrop(ctx, me, showID, community.CouponDropInput{
		TemplateID: c.FormValue("template_id"), Quantity: qty, PerMemberLimit: limit, DurationSeconds: secs})
	if err != nil {
		return communityProblem(err)
	}
	// The drop is announced in the room, as the JSON API's drop_coupon
	// action does, so viewers see it at once.
	if _, err := a.shows.PerformAction(ctx, me, showID, live.Action{Type: live.ActionDropCoupon, DropID: d.ID}); err != nil {
		return showProblem(err)
	}
	return actionDone(c, showID, "coupon_dropped", v)
}

// invalidField is a form field that does not parse.
func invalidField(field, message string) *edge.Problem {
	return &edge.Problem{Status: http.StatusUnprocessableEntity, Code: "invalid_" + field, Message: message}
}
