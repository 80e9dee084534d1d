package console

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/edge"
)

// Catalog is what the console needs of the catalog.
type Catalog interface {
	CreateProduct(ctx context.Context, staffID string, in catalog.ProductInput, skus []catalog.SKUInput) (catalog.Product, error)
	UpdateProduct(ctx context.Context, staffID, id string, in catalog.ProductInput) (catalog.Product, error)
	SetPublished(ctx context.Context, staffID, id string, published bool) (catalog.Product, error)
	AddSKU(ctx context.Context, staffID, productID string, in catalog.SKUInput) (catalog.SKU, error)
	UpdateSKU(ctx context.Context, staffID, id string, u catalog.SKUUpdate) (catalog.SKU, error)
	Product(ctx context.Context, id string) (catalog.Product, error)
	Products(ctx context.Context, f catalog.ProductFilter) ([]catalog.Product, error)
	SetLineup(ctx context.Context, staffID, showID string, entries []catalog.LineupEntry) ([]catalog.LineupItem, error)
	Lineup(ctx context.Context, showID string) ([]catalog.LineupItem, error)
	CreateFlashSale(ctx context.Context, staffID string, in catalog.FlashSaleInput) (catalog.FlashSale, error)
	FlashSale(ctx context.Context, id string) (catalog.FlashSale, error)
	FlashSales(ctx context.Context, showID string) ([]catalog.FlashSale, error)
}

// catalogRoles may change the catalog; everyone else only reads it.
var catalogRoles = []string{RoleOwner, RoleAdmin, RoleHost, RoleAssistant}

var catalogReaders = []string{RoleOwner, RoleAdmin, RoleHost, RoleAssistant, RoleCommunityManager, RoleService}

// createProductRequest is POST /products.
type createProductRequest struct {
	catalog.ProductInput
	SKUs []catalog.SKUInput `json:"skus"`
}

type productPath struct {
	ID string `path:"id"`
}

type updateProductRequest struct {
	ID string `path:"id" json:"-"`
	catalog.ProductInput
}

type addSKURequest struct {
	ID string `path:"id" json:"-"`
	catalog.SKUInput
}

type updateSKURequest struct {
	ID string `path:"id" json:"-"`
	catalog.SKUUpdate
}

type listProductsRequest struct {
	Published bool `query:"published" description:"Only published products."`
	Limit     int  `query:"limit" minimum:"1" maximum:"200"`
	Offset    int  `query:"offset" minimum:"0"`
}

type productsBody struct {
	Products []catalog.Product `json:"products"`
}

type showPath struct {
	ID string `path:"id"`
}

type setLineupRequest struct {
	ID    string                `path:"id" json:"-"`
	Items []catalog.LineupEntry `json:"items" required:"true"`
}

type lineupBody struct {
	Items []catalog.LineupItem `json:"items"`
}

// body reads a JSON body into v.
func body(c *fiber.Ctx, v any) error {
	if err := json.Unmarshal(c.Body(), v); err != nil {
		return edge.BadRequest("invalid_json", "the body must be a JSON object: "+err.Error())
	}
	return nil
}

func (a *API) createProduct(c *fiber.Ctx) error {
	var req createProductRequest
	if err := body(c, &req); err != nil {
		return err
	}
	p, err := a.catalog.CreateProduct(c.UserContext(), currentStaff(c).ID, req.ProductInput, req.SKUs)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(p)
}

func (a *API) listProducts(c *fiber.Ctx) error {
	list, err := a.catalog.Products(c.UserContext(), catalog.ProductFilter{PublishedOnly: c.QueryBool("published"),
		Limit: c.QueryInt("limit", 50), Offset: c.QueryInt("offset", 0)})
	if err != nil {
		return err
	}
	return c.JSON(productsBody{Products: list})
}

func (a *API) getProduct(c *fiber.Ctx) error {
	p, err := a.catalog.Product(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (a *API) updateProduct(c *fiber.Ctx) error {
	var in catalog.ProductInput
	if err := body(c, &in); err != nil {
		return err
	}
	p, err := a.catalog.UpdateProduct(c.UserContext(), currentStaff(c).ID, c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (a *API) publishProduct(published bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := a.catalog.SetPublished(c.UserContext(), currentStaff(c).ID, c.Params("id"), published)
		if err != nil {
			return err
		}
		return c.JSON(p)
	}
}

func (a *API) addSKU(c *fiber.Ctx) error {
	var in catalog.SKUInput
	if err := body(c, &in); err != nil {
		return err
	}
	k, err := a.catalog.AddSKU(c.UserContext(), currentStaff(c).ID, c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(k)
}

func (a *API) updateSKU(c *fiber.Ctx) error {
	var u catalog.SKUUpdate
	if err := body(c, &u); err != nil {
		return err
	}
	k, err := a.catalog.UpdateSKU(c.UserContext(), currentStaff(c).ID, c.Params("id"), u)
	if err != nil {
		return err
	}
	return c.JSON(k)
}

func (a *API) setLineup(c *fiber.Ctx) error {
	var req setLineupRequest
	if err := body(c, &req); err != nil {
		return err
	}
	items, err := a.catalog.SetLineup(c.UserContext(), currentStaff(c).ID, c.Params("id"), req.Items)
	if err != nil {
		return err
	}
	return c.JSON(lineupBody{Items: items})
}

func (a *API) getLineup(c *fiber.Ctx) error {
	items, err := a.catalog.Lineup(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(lineupBody{Items: items})
}

// productRoutes are the catalog's staff routes.
func (a *API) productRoutes() []Route {
	tags := []string{"catalog"}
	return []Route{
		{Route: edge.Route{Method: http.MethodPost, Path: "/products", Summary: "Create a product (unpublished) with its SKUs", Tags: tags,
			Request: new(createProductRequest), Response: new(catalog.Product), Status: http.StatusCreated, Errors: []int{http.StatusUnprocessableEntity},
			Handlers: []fiber.Handler{a.createProduct}}, Roles: catalogRoles},
		{Route: edge.Route{Method: http.MethodGet, Path: "/products", Summary: "Products, newest first", Tags: tags,
			Request: new(listProductsRequest), Response: new(productsBody), Handlers: []fiber.Handler{a.listProducts}}, Roles: catalogReaders},
		{Route: edge.Route{Method: http.MethodGet, Path: "/products/:id", Summary: "A product with its SKUs", Tags: tags,
			Request: new(productPath), Response: new(catalog.Product), Errors: []int{http.StatusNotFound}, Handlers: []fiber.Handler{a.getProduct}}, Roles: catalogReaders},
		{Route: edge.Route{Method: http.MethodPut, Path: "/products/:id", Summary: "Change a product's title, description and images", Tags: tags,
			Request: new(updateProductRequest), Response: new(catalog.Product), Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
			Handlers: []fiber.Handler{a.updateProduct}}, Roles: catalogRoles},
		{Route: edge.Route{Method: http.MethodPost, Path: "/products/:id/publish", Summary: "Put a product on sale", Tags: tags,
			Request: new(productPath), Response: new(catalog.Product), Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
			Handlers: []fiber.Handler{a.publishProduct(true)}}, Roles: catalogRoles},
		{Route: edge.Route{Method: http.MethodPost, Path: "/products/:id/unpublish", Summary: "Take a product off sale", Tags: tags,
			Request: new(productPath), Response: new(catalog.Product), Errors: []int{http.StatusNotFound},
			Handlers: []fiber.Handler{a.publishProduct(false)}}, Roles: catalogRoles},
		{Route: edge.Route{Method: http.MethodPost, Path: "/products/:id/skus", Summary: "Add a SKU to a product", Tags: tags,
			Request: new(addSKURequest), Response: new(catalog.SKU), Status: http.StatusCreated, Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
			Handlers: []fiber.Handler{a.addSKU}}, Roles: catalogRoles},
		{Route: edge.Route{Method: http.MethodPatch, Path: "/skus/:id", Summary: "Change a SKU's title, attributes, list price, or stock by a delta", Tags: tags,
			Request: new(updateSKURequest), Response: new(catalog.SKU), Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
			Handlers: []fiber.Handler{a.updateSKU}}, Roles: catalogRoles},
		{Route: edge.Route{Method: http.MethodPut, Path: "/shows/:id/lineup", Summary: "Replace a show's lineup (货盘) with live-only prices", Tags: tags,
			Request: new(setLineupRequest), Response: new(lineupBody), Errors: []int{http.StatusUnprocessableEntity},
			Handlers: []fiber.Handler{a.setLineup}}, Roles: catalogRoles},
		{Route: edge.Route{Method: http.MethodGet, Path: "/shows/:id/lineup", Summary: "A show's lineup", Tags: tags,
			Request: new(showPath), Response: new(lineupBody), Handlers: []fiber.Handler{a.getLineup}}, Roles: catalogReaders},
	}
}
