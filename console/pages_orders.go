package console

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/payments"
)

// ordersPage is a page of orders.
type ordersPage struct {
	Status string
	ShowID string
	Orders []payments.Order
	Next   string
}

// pageOrders lists orders newest first, by status or show.
func (a *API) pageOrders(c *fiber.Ctx) error {
	v := a.view(c, "orders")
	f := payments.OrderFilter{ShowID: c.Query("show_id"), Before: c.Query("before"), Limit: 50}
	if st := c.Query("status"); slices.Contains([]string{payments.StatusPending, payments.StatusPaid, payments.StatusShipped,
		payments.StatusClosed, payments.StatusRefunded}, st) {
		f.Status = st
	}
	orders, err := a.payments.Orders(c.UserContext(), f)
	if err != nil {
		return err
	}
	d := ordersPage{Status: f.Status, ShowID: f.ShowID, Orders: orders}
	if len(orders) == f.Limit {
		d.Next = orders[len(orders)-1].ID
	}
	v.Data = d
	return a.render(c, http.StatusOK, "orders", v)
}

// orderPage is one order with its refunds.
type orderPage struct {
	Order   payments.Order
	Refunds []payments.Refund
}

// pageOrder shows an order with its shipping and refunds.
func (a *API) pageOrder(c *fiber.Ctx) error {
	return a.renderOrder(c, a.view(c, "orders"), http.StatusOK)
}

func (a *API) renderOrder(c *fiber.Ctx, v *view, status int) error {
	ctx := c.UserContext()
	o, err := a.payments.Order(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	rs, err := a.payments.Refunds(ctx, o.ID, "", 50)
	if err != nil {
		return err
	}
	v.Data = orderPage{Order: o, Refunds: rs}
	return a.render(c, status, "order", v)
}

// formShip records an order's shipment (uploaded to WeChat by the worker).
func (a *API) formShip(c *fiber.Ctx) error {
	v := a.view(c, "orders")
	v.keep(c, "carrier", "tracking_no")
	carrier, no := strings.TrimSpace(c.FormValue("carrier")), strings.TrimSpace(c.FormValue("tracking_no"))
	if carrier == "" {
		v.Fields["carrier"] = v.T("form.required")
	}
	if no == "" {
		v.Fields["tracking_no"] = v.T("form.required")
	}
	if len(v.Fields) == 0 {
		if _, err := a.payments.Ship(c.UserContext(), currentStaff(c).ID, c.Params("id"), carrier, no); err == nil {
			return done(c, "/orders/"+c.Params("id"), "order_shipped")
		} else {
			return a.renderOrder(c, v, v.fail(err))
		}
	}
	return a.renderOrder(c, v, http.StatusUnprocessableEntity)
}

// formIssueRefund refunds part or all of a paid order on staff's own
// decision.
func (a *API) formIssueRefund(c *fiber.Ctx) error {
	v := a.view(c, "orders")
	v.keep(c, "amount", "reason")
	amount, err := parseYuan(c.FormValue("amount"))
	if err != nil || amount == 0 {
		v.Fields["amount"] = v.T("form.money")
	}
	reason := strings.TrimSpace(c.FormValue("reason"))
	if reason == "" {
		v.Fields["reason"] = v.T("form.required")
	}
	if len(v.Fields) == 0 {
		if _, err := a.payments.IssueRefund(c.UserContext(), currentStaff(c).ID, c.Params("id"), reason, amount); err == nil {
			return done(c, "/orders/"+c.Params("id"), "refund_issued")
		} else {
			return a.renderOrder(c, v, v.fail(err))
		}
	}
	return a.renderOrder(c, v, http.StatusUnprocessableEntity)
}

// refundsPage lists refunds of a status.
type refundsPage struct {
	Status  string
	Refunds []payments.Refund
}

// pageRefunds lists refund requests (waiting ones by default).
func (a *API) pageRefunds(c *fiber.Ctx) error {
	v := a.view(c, "orders")
	st := c.Query("status", payments.RefundRequested)
	if !slices.Contains([]string{payments.RefundRequested, payments.RefundRejected, payments.RefundProcessing,
		payments.RefundSucceeded, payments.RefundAbnormal, payments.RefundClosed}, st) {
		st = payments.RefundRequested
	}
	rs, err := a.payments.Refunds(c.UserContext(), "", st, 100)
	if err != nil {
		return err
	}
	v.Data = refundsPage{Status: st, Refunds: rs}
	return a.render(c, http.StatusOK, "refunds", v)
}

// formDecideRefund approves (optionally for less) or rejects a refund
// request.
func (a *API) formDecideRefund(approve bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, me, id := c.UserContext(), currentStaff(c).ID, c.Params("id")
		v := a.view(c, "orders")
		if approve {
			var amount int64
			if s := strings.TrimSpace(c.FormValue("amount")); s != "" {
				n, err := parseYuan(s)
				if err != nil {
					return invalidField("amount", v.T("form.money"))
				}
				amount = n
			}
			if _, err := a.payments.ApproveRefund(ctx, me, id, amount); err != nil {
				return err
			}
			return done(c, "/refunds", "refund_approved")
		}
		if _, err := a.payments.RejectRefund(ctx, me, id, strings.TrimSpace(c.FormValue("note"))); err != nil {
			return err
		}
		return done(c, "/refunds", "refund_rejected")
	}
}
