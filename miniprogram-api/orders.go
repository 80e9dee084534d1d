package miniprogramapi

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/payments"
)

// Orders is what the shopper API needs of payments.
type Orders interface {
	Checkout(ctx context.Context, memberID, key string, req payments.CheckoutRequest) (payments.Receipt, error)
	MemberOrder(ctx context.Context, memberID, orderID string) (payments.Order, error)
	Orders(ctx context.Context, f payments.OrderFilter) ([]payments.Order, error)
	Cancel(ctx context.Context, memberID, orderID string) (payments.Order, error)
	Pay(ctx context.Context, memberID, orderID string) (payments.Receipt, error)
	RequestRefund(ctx context.Context, memberID, orderID, reason string, amount int64) (payments.Refund, error)
	MemberRefunds(ctx context.Context, memberID, orderID string) ([]payments.Refund, error)
	ClaimFlashSale(ctx context.Context, memberID, saleID, key string, req payments.FlashSaleOrderRequest) (payments.Order, error)
}

// createOrderRequest is POST /orders: what to buy; the server prices it.
type createOrderRequest struct {
	IdempotencyKey string           `header:"Idempotency-Key" required:"true" description:"A key of the client's choosing (a UUID): the same key with the same body answers the same; with another body 422."`
	Items          []catalog.Line   `json:"items" minItems:"1" required:"true"`
	ShowID         string           `json:"show_id,omitempty" description:"The show the order is placed in: its live prices apply while it is live, and the order is attributed to it."`
	CouponID       string           `json:"coupon_id,omitempty"`
	Address        payments.Address `json:"address" required:"true"`
}

// orderPath names one order.
type orderPath struct {
	ID string `path:"id"`
}

// listOrdersRequest pages the member's orders.
type listOrdersRequest struct {
	Status string `query:"status" enum:"pending,paid,shipped,closed,refunded"`
	Before string `query:"before" description:"The next value of the previous page."`
	Limit  int    `query:"limit" minimum:"1" maximum:"100"`
}

// ordersBody is a page of orders, newest first.
type ordersBody struct {
	Orders []payments.Order `json:"orders"`
	// Next is the before value of the next page, empty on the last.
	Next string `json:"next,omitempty"`
}

// refundRequestBody is POST /orders/{id}/refund-requests.
type refundRequestBody struct {
	ID     string `path:"id" json:"-"`
	Reason string `json:"reason" required:"true" maxLength:"200"`
	Amount int64  `json:"amount,omitempty" description:"Fen to refund; 0 or absent asks for all that is left."`
}

// refundsBody lists an order's refunds.
type refundsBody struct {
	Refunds []payments.Refund `json:"refunds"`
}

// decodeBody reads a JSON body into v with the app's JSON decoder, as
// fiber's BodyParser would without looking at the Content-Type first: the
// shopper API takes JSON only.
func decodeBody(c *fiber.Ctx, v any) error {
	if err := c.App().Config().JSONDecoder(c.Body(), v); err != nil {
		return edge.BadRequest("invalid_json", "the body must be a JSON object: "+err.Error())
	}
	return nil
}

// createOrder prices the items, reserves their stock and answers the order
// with the parameters of wx.requestPayment.
func (a *API) createOrder(c *fiber.Ctx) error {
	var req payments.CheckoutRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	r, err := a.orders.Checkout(c.UserContext(), memberID(c), c.Get("Idempotency-Key"), req)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(r)
}

// listOrders pages the calling member's orders.
func (a *API) listOrders(c *fiber.Ctx) error {
	limit := c.QueryInt("limit", 20)
	if limit < 1 || limit > 100 {
		return edge.BadRequest("invalid_limit", "limit must be 1 to 100")
	}
	list, err := a.orders.Orders(c.UserContext(), payments.OrderFilter{MemberID: memberID(c), Status: c.Query("status"),
		Before: c.Query("before"), Limit: limit})
	if err != nil {
		return err
	}
	out := ordersBody{Orders: list}
	if len(list) == limit {
		out.Next = list[len(list)-1].ID
	}
	return c.JSON(out)
}

// getOrder returns one of the calling member's orders.
func (a *API) getOrder(c *fiber.Ctx) error {
	o, err := a.orders.MemberOrder(c.UserContext(), memberID(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(o)
}

// cancelOrder closes one of the member's unpaid orders.
func (a *API) cancelOrder(c *fiber.Ctx) error {
	o, err := a.orders.Cancel(c.UserContext(), memberID(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(o)
}

// payOrder answers the wx.requestPayment parameters of a pending order
// (the next step after winning a flash sale, or fresh ones after the
// shopper closed the cashier).
func (a *API) payOrder(c *fiber.Ctx) error {
	r, err := a.orders.Pay(c.UserContext(), memberID(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(r)
}

// requestRefund asks for a refund of a paid order.
func (a *API) requestRefund(c *fiber.Ctx) error {
	var req refundRequestBody
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	r, err := a.orders.RequestRefund(c.UserContext(), memberID(c), c.Params("id"), req.Reason, req.Amount)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(r)
}

// listRefunds lists the refunds of one of the member's orders.
func (a *API) listRefunds(c *fiber.Ctx) error {
	list, err := a.orders.MemberRefunds(c.UserContext(), memberID(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(refundsBody{Refunds: list})
}
