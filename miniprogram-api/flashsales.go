package miniprogramapi

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/catalog"
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

// buyFlashSale wins units of a flash sale: 201 with the order and the
// parameters of wx.requestPayment, or 409 sold_out / limit_reached fast.
func (a *API) buyFlashSale(c *fiber.Ctx) error {
	// The crowd that arrives after the last unit is answered before its
	// body is read. A request with an Idempotency-Key may be the retry of
	// a win, so it goes all the way.
	if c.Get("Idempotency-Key") == "" && a.flashSales.SoldOut(c.Params("id")) {
		return &catalog.RejectedError{Err: catalog.ErrSoldOut}
	}
	var req payments.FlashSaleOrderRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	r, err := a.orders.BuyFlashSale(c.UserContext(), memberID(c), c.Params("id"), c.Get("Idempotency-Key"), req)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(r)
}
