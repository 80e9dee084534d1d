package console

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/payments"
)

// Payments is what the console needs of payments.
type Payments interface {
	Order(ctx context.Context, orderID string) (payments.Order, error)
	Orders(ctx context.Context, f payments.OrderFilter) ([]payments.Order, error)
	Ship(ctx context.Context, staffID, orderID, carrier, trackingNo string) (payments.Order, error)
	Refunds(ctx context.Context, orderID, status string, limit int) ([]payments.Refund, error)
	RefundByID(ctx context.Context, id string) (payments.Refund, error)
	ApproveRefund(ctx context.Context, staffID, refundID string, amount int64) (payments.Refund, error)
	RejectRefund(ctx context.Context, staffID, refundID, note string) (payments.Refund, error)
	IssueRefund(ctx context.Context, staffID, orderID, reason string, amount int64) (payments.Refund, error)
	CommissionReport(ctx context.Context, from, to time.Time, showID string) ([]payments.CommissionLine, error)
	CommissionEntries(ctx context.Context, orderID, beneficiaryID string) ([]payments.CommissionEntry, error)
}

// orderRoles see and handle orders.
var orderRoles = []string{RoleOwner, RoleAdmin, RoleService}

type listOrdersRequest struct {
	Status      string `query:"status" enum:"pending,paid,shipped,closed,refunded"`
	MemberID    string `query:"member_id"`
	ShowID      string `query:"show_id"`
	FlashSaleID string `query:"flash_sale_id"`
	Before      string `query:"before"`
	Limit       int    `query:"limit" minimum:"1" maximum:"100"`
}

type ordersBody struct {
	Orders []payments.Order `json:"orders"`
	Next   string           `json:"next,omitempty"`
}

type orderPath struct {
	ID string `path:"id"`
}

type shipRequest struct {
	ID         string `path:"id" json:"-"`
	Carrier    string `json:"carrier" required:"true" description:"WeChat's express company code (SF, ZTO, YTO, YD, STO, JTSD…)."`
	TrackingNo string `json:"tracking_no" required:"true"`
}

func (a *API) listOrders(c *fiber.Ctx) error {
	limit := c.QueryInt("limit", 20)
	if limit < 1 || limit > 100 {
		return edge.BadRequest("invalid_limit", "limit must be 1 to 100")
	}
	list, err := a.payments.Orders(c.UserContext(), payments.OrderFilter{Status: c.Query("status"), MemberID: c.Query("member_id"),
		ShowID: c.Query("show_id"), FlashSaleID: c.Query("flash_sale_id"), Before: c.Query("before"), Limit: limit})
	if err != nil {
		return err
	}
	out := ordersBody{Orders: list}
	if len(list) == limit {
		out.Next = list[len(list)-1].ID
	}
	return c.JSON(out)
}

func (a *API) getOrder(c *fiber.Ctx) error {
	o, err := a.payments.Order(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(o)
}

func (a *API) shipOrder(c *fiber.Ctx) error {
	var req shipRequest
	if err := body(c, &req); err != nil {
		return err
	}
	o, err := a.payments.Ship(c.UserContext(), currentStaff(c).ID, c.Params("id"), req.Carrier, req.TrackingNo)
	if err != nil {
		return err
	}
	return c.JSON(o)
}

// orderRoutes are the orders' staff routes.
func (a *API) orderRoutes() []Route {
	tags := []string{"orders"}
	return []Route{
		{Route: edge.Route{Method: http.MethodGet, Path: "/orders", Summary: "Orders, newest first", Tags: tags,
			Request: new(listOrdersRequest), Response: new(ordersBody), Handlers: []fiber.Handler{a.listOrders}}, Roles: orderRoles},
		{Route: edge.Route{Method: http.MethodGet, Path: "/orders/:id", Summary: "An order", Tags: tags,
			Request: new(orderPath), Response: new(payments.Order), Errors: []int{http.StatusNotFound}, Handlers: []fiber.Handler{a.getOrder}}, Roles: orderRoles},
		{Route: edge.Route{Method: http.MethodPost, Path: "/orders/:id/shipment", Summary: "Mark a paid order shipped; the shipping information is uploaded to WeChat", Tags: tags,
			Request: new(shipRequest), Response: new(payments.Order), Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
			Handlers: []fiber.Handler{a.shipOrder}}, Roles: orderRoles},
	}
}
