package console

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/payments"
)

type listRefundsRequest struct {
	Status  string `query:"status" enum:"requested,rejected,processing,succeeded,abnormal,closed"`
	OrderID string `query:"order_id"`
	Limit   int    `query:"limit" minimum:"1" maximum:"200"`
}

type refundsBody struct {
	Refunds []payments.Refund `json:"refunds"`
}

type refundPath struct {
	ID string `path:"id"`
}

type approveRefundRequest struct {
	ID     string `path:"id" json:"-"`
	Amount int64  `json:"amount,omitempty" description:"Fen to refund, to lower the requested amount; absent keeps it."`
}

type rejectRefundRequest struct {
	ID   string `path:"id" json:"-"`
	Note string `json:"note" description:"Why, for the shopper."`
}

type issueRefundRequest struct {
	ID     string `path:"id" json:"-"`
	Reason string `json:"reason" required:"true"`
	Amount int64  `json:"amount,omitempty" description:"Fen to refund; absent refunds all that is left."`
}

func (a *API) listRefunds(c *fiber.Ctx) error {
	list, err := a.payments.Refunds(c.UserContext(), c.Query("order_id"), c.Query("status"), c.QueryInt("limit", 50))
	if err != nil {
		return err
	}
	return c.JSON(refundsBody{Refunds: list})
}

func (a *API) getRefund(c *fiber.Ctx) error {
	r, err := a.payments.RefundByID(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (a *API) approveRefund(c *fiber.Ctx) error {
	var req approveRefundRequest
	if len(c.Body()) > 0 {
		if err := body(c, &req); err != nil {
			return err
		}
	}
	r, err := a.payments.ApproveRefund(c.UserContext(), currentStaff(c).ID, c.Params("id"), req.Amount)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (a *API) rejectRefund(c *fiber.Ctx) error {
	var req rejectRefundRequest
	if err := body(c, &req); err != nil {
		return err
	}
	r, err := a.payments.RejectRefund(c.UserContext(), currentStaff(c).ID, c.Params("id"), req.Note)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (a *API) issueRefund(c *fiber.Ctx) error {
	var req issueRefundRequest
	if err := body(c, &req); err != nil {
		return err
	}
	r, err := a.payments.IssueRefund(c.UserContext(), currentStaff(c).ID, c.Params("id"), req.Reason, req.Amount)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(r)
}

// refundRoutes are the after-sales staff routes.
func (a *API) refundRoutes() []Route {
	tags := []string{"refunds"}
	return []Route{
		{Route: edge.Route{Method: http.MethodGet, Path: "/refunds", Summary: "Refunds, newest first", Tags: tags,
			Request: new(listRefundsRequest), Response: new(refundsBody), Handlers: []fiber.Handler{a.listRefunds}}, Roles: orderRoles},
		{Route: edge.Route{Method: http.MethodGet, Path: "/refunds/:id", Summary: "A refund", Tags: tags,
			Request: new(refundPath), Response: new(payments.Refund), Errors: []int{http.StatusNotFound}, Handlers: []fiber.Handler{a.getRefund}}, Roles: orderRoles},
		{Route: edge.Route{Method: http.MethodPost, Path: "/refunds/:id/approve", Summary: "Approve a refund request; WeChat Pay refunds it once", Tags: tags,
			Request: new(approveRefundRequest), Response: new(payments.Refund), Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
			Handlers: []fiber.Handler{a.approveRefund}}, Roles: orderRoles},
		{Route: edge.Route{Method: http.MethodPost, Path: "/refunds/:id/reject", Summary: "Reject a refund request", Tags: tags,
			Request: new(rejectRefundRequest), Response: new(payments.Refund), Errors: []int{http.StatusNotFound, http.StatusConflict},
			Handlers: []fiber.Handler{a.rejectRefund}}, Roles: orderRoles},
		{Route: edge.Route{Method: http.MethodPost, Path: "/orders/:id/refunds", Summary: "Refund (part of) a paid order", Tags: tags,
			Request: new(issueRefundRequest), Response: new(payments.Refund), Status: http.StatusCreated,
			Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity}, Handlers: []fiber.Handler{a.issueRefund}},
			Roles: []string{RoleOwner, RoleAdmin, RoleService}},
	}
}
