package miniprogramapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/payments"
)

// FlashSales is what the shopper API needs of the catalog's flash sales.
type FlashSales interface {
	FlashSale(ctx context.Context, id string) (catalog.FlashSale, error)
	// SoldOut reports whether the sale is known to be sold out right now,
	// without a round trip.
	SoldOut(id string) bool
}

// flashSalePath names one flash sale.
type flashSalePath struct {
	ID string `path:"id"`
}

// flashSaleOrderRequest is POST /flash-sales/{id}/orders.
type flashSaleOrderRequest struct {
	ID             string           `path:"id" json:"-"`
	IdempotencyKey string           `header:"Idempotency-Key" json:"-" description:"Optional: a retried request with the same key wins at most once and answers the same order."`
	Quantity       int              `json:"quantity" minimum:"1" required:"true"`
	Address        payments.Address `json:"address" required:"true"`
}

// getFlashSale returns a flash sale with the units left.
func (a *API) getFlashSale(c *fiber.Ctx) error {
	f, err := a.flashSales.FlashSale(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(f)
}

// flashSaleWinBody is a won flash sale: the order, pending. POST
// /orders/{id}/pay answers its wx.requestPayment parameters.
type flashSaleWinBody struct {
	Order payments.Order `json:"order" description:"The order the win became, pending. Its host_id and inviter_id (attribution) appear in GET /orders/{id}."`
}

// buyFlashSale wins units of a flash sale: 201 with the pending order, or
// 409 sold_out / limit_reached fast. Paying is the next call.
func (a *API) buyFlashSale(c *fiber.Ctx) error {
	// The crowd that arrives after the last unit is answered before its
	// body is read. A request with an Idempotency-Key may be the retry of
	// a win, so it goes all the way.
	if c.Get("Idempotency-Key") == "" && a.flashSales.SoldOut(c.Params("id")) {
		return soldOutAnswer.write(c)
	}
	var req payments.FlashSaleOrderRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	o, err := a.orders.ClaimFlashSale(c.UserContext(), memberID(c), c.Params("id"), c.Get("Idempotency-Key"), req)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(flashSaleWinBody{Order: o})
}

// soldOutAnswer is the error table's answer to catalog.ErrSoldOut, encoded
// once: the crowd after a sale's last unit, thousands a second, gets it
// with only its request id written in, without the error handler.
var soldOutAnswer = cannedError(catalog.ErrSoldOut)

// canned is an error answer encoded around its request id.
type canned struct {
	status     int
	head, tail []byte
}

func cannedError(err error) canned {
	p := edge.Resolve(err, errorTable)
	b, _ := json.Marshal(edge.ErrorBody{Error: edge.ErrorDetail{Code: p.Code, Message: p.Message}})
	// The request id is the last field: b ends with "request_id":""}}.
	i := bytes.LastIndex(b, []byte(`""`))
	return canned{status: p.Status, head: b[:i], tail: b[i+2:]}
}

// write answers the request with the error, as the error handler would.
func (e canned) write(c *fiber.Ctx) error {
	id := edge.RequestID(c)
	c.Status(e.status)
	res := c.Response()
	res.Header.SetContentType(fiber.MIMEApplicationJSON)
	// Written straight into the response's buffer: no answer of its own.
	res.ResetBody()
	res.AppendBody(e.head)
	if plainID(id) {
		res.AppendBodyString(`"`)
		res.AppendBodyString(id)
		res.AppendBodyString(`"`)
	} else {
		q, _ := json.Marshal(id)
		res.AppendBody(q)
	}
	res.AppendBody(e.tail)
	return nil
}

// plainID reports whether a request id needs no JSON escaping (ours are
// UUIDs; a client may send its own).
func plainID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
