package console

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/edge"
)

// FlashSaleJournal reconciles a flash sale's Redis stock with the database.
type FlashSaleJournal interface {
	Reconcile(ctx context.Context, saleID string) (catalog.Repair, error)
}

type listFlashSalesRequest struct {
	ShowID string `query:"show_id"`
}

type flashSalesBody struct {
	FlashSales []catalog.FlashSale `json:"flash_sales"`
}

type flashSalePath struct {
	ID string `path:"id"`
}

func (a *API) createFlashSale(c *fiber.Ctx) error {
	var in catalog.FlashSaleInput
	if err := body(c, &in); err != nil {
		return err
	}
	f, err := a.catalog.CreateFlashSale(c.UserContext(), currentStaff(c).ID, in)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(f)
}

func (a *API) listFlashSales(c *fiber.Ctx) error {
	list, err := a.catalog.FlashSales(c.UserContext(), c.Query("show_id"))
	if err != nil {
		return err
	}
	return c.JSON(flashSalesBody{FlashSales: list})
}

func (a *API) getFlashSale(c *fiber.Ctx) error {
	f, err := a.catalog.FlashSale(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(f)
}

func (a *API) reconcileFlashSale(c *fiber.Ctx) error {
	rep, err := a.journal.Reconcile(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(rep)
}

// flashSaleRoutes are the flash sales' staff routes.
func (a *API) flashSaleRoutes() []Route {
	tags := []string{"flash sales"}
	return []Route{
		{Route: edge.Route{Method: http.MethodPost, Path: "/flash-sales", Summary: "Create a flash sale: allots its quantity from the SKU's stock and arms it", Tags: tags,
			Request: new(catalog.FlashSaleInput), Response: new(catalog.FlashSale), Status: http.StatusCreated,
			Errors: []int{http.StatusConflict, http.StatusUnprocessableEntity}, Handlers: []fiber.Handler{a.createFlashSale}}, Roles: catalogRoles},
		{Route: edge.Route{Method: http.MethodGet, Path: "/flash-sales", Summary: "Flash sales of a show (or the latest)", Tags: tags,
			Request: new(listFlashSalesRequest), Response: new(flashSalesBody), Handlers: []fiber.Handler{a.listFlashSales}}, Roles: catalogReaders},
		{Route: edge.Route{Method: http.MethodGet, Path: "/flash-sales/:id", Summary: "A flash sale with the units left", Tags: tags,
			Request: new(flashSalePath), Response: new(catalog.FlashSale), Errors: []int{http.StatusNotFound}, Handlers: []fiber.Handler{a.getFlashSale}}, Roles: catalogReaders},
		{Route: edge.Route{Method: http.MethodPost, Path: "/flash-sales/:id/reconcile", Summary: "Reconcile a flash sale's Redis stock with the database now", Tags: tags,
			Request: new(flashSalePath), Response: new(catalog.Repair), Errors: []int{http.StatusNotFound}, Handlers: []fiber.Handler{a.reconcileFlashSale}},
			Roles: []string{RoleOwner, RoleAdmin}},
	}
}
