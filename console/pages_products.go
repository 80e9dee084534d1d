package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/live"
)

// productsPage lists products with the form to add one.
type productsPage struct {
	Products []catalog.Product
}

// pageProducts lists products, newest first.
func (a *API) pageProducts(c *fiber.Ctx) error {
	v := a.view(c, "products")
	return a.renderProducts(c, v, http.StatusOK)
}

func (a *API) renderProducts(c *fiber.Ctx, v *view, status int) error {
	ps, err := a.catalog.Products(c.UserContext(), catalog.ProductFilter{Limit: 200})
	if err != nil {
		return err
	}
	v.Data = productsPage{Products: ps}
	return a.render(c, status, "products", v)
}

// formCreateProduct creates a product with its first SKU.
func (a *API) formCreateProduct(c *fiber.Ctx) error {
	v := a.view(c, "products")
	v.keep(c, "title", "description", "image", "sku_title", "list_price", "stock")
	in := catalog.ProductInput{Title: strings.TrimSpace(c.FormValue("title")), Description: strings.TrimSpace(c.FormValue("description"))}
	if img := strings.TrimSpace(c.FormValue("image")); img != "" {
		in.Images = []string{img}
	}
	if in.Title == "" {
		v.Fields["title"] = v.T("form.required")
	}
	price, err := parseYuan(c.FormValue("list_price"))
	if err != nil || price == 0 {
		v.Fields["list_price"] = v.T("form.money")
	}
	stock, err := strconv.Atoi(strings.TrimSpace(c.FormValue("stock")))
	if err != nil || stock < 0 {
		v.Fields["stock"] = v.T("form.number")
	}
	if len(v.Fields) > 0 {
		return a.renderProducts(c, v, http.StatusUnprocessableEntity)
	}
	sku := catalog.SKUInput{Title: strings.TrimSpace(c.FormValue("sku_title")), ListPrice: price, Stock: stock}
	if sku.Title == "" {
		sku.Title = in.Title
	}
	p, err := a.catalog.CreateProduct(c.UserContext(), currentStaff(c).ID, in, []catalog.SKUInput{sku})
	if err != nil {
		return a.renderProducts(c, v, v.fail(err))
	}
	return done(c, "/products/"+p.ID, "product_created")
}

// pageProduct shows a product with its SKUs and their stock.
func (a *API) pageProduct(c *fiber.Ctx) error {
	v := a.view(c, "products")
	return a.renderProduct(c, v, http.StatusOK)
}

func (a *API) renderProduct(c *fiber.Ctx, v *view, status int) error {
	p, err := a.catalog.Product(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	v.Data = p
	return a.render(c, status, "product", v)
}

// formPublish publishes or withdraws a product.
func (a *API) formPublish(c *fiber.Ctx) error {
	on := c.FormValue("published") == "true"
	p, err := a.catalog.SetPublished(c.UserContext(), currentStaff(c).ID, c.Params("id"), on)
	if err != nil {
		return err
	}
	what := "product_withdrawn"
	if on {
		what = "product_published"
	}
	return done(c, "/products/"+p.ID, what)
}

// formAddSKU adds an SKU to a product.
func (a *API) formAddSKU(c *fiber.Ctx) error {
	v := a.view(c, "products")
	v.keep(c, "sku_title", "list_price", "stock")
	price, err := parseYuan(c.FormValue("list_price"))
	if err != nil || price == 0 {
		v.Fields["list_price"] = v.T("form.money")
	}
	stock, err := strconv.Atoi(strings.TrimSpace(c.FormValue("stock")))
	if err != nil || stock < 0 {
		v.Fields["stock"] = v.T("form.number")
	}
	if strings.TrimSpace(c.FormValue("sku_title")) == "" {
		v.Fields["sku_title"] = v.T("form.required")
	}
	if len(v.Fields) > 0 {
		return a.renderProduct(c, v, http.StatusUnprocessableEntity)
	}
	if _, err := a.catalog.AddSKU(c.UserContext(), currentStaff(c).ID, c.Params("id"),
		catalog.SKUInput{Title: strings.TrimSpace(c.FormValue("sku_title")), ListPrice: price, Stock: stock}); err != nil {
		return a.renderProduct(c, v, v.fail(err))
	}
	return done(c, "/products/"+c.Params("id"), "sku_added")
}

// formStock adds to (or takes from) an SKU's stock.
func (a *API) formStock(c *fiber.Ctx) error {
	v := a.view(c, "products")
	delta, err := strconv.Atoi(strings.TrimSpace(c.FormValue("delta")))
	if err != nil || delta == 0 {
		return invalidField("delta", v.T("form.number"))
	}
	sku, err := a.catalog.UpdateSKU(c.UserContext(), currentStaff(c).ID, c.Params("id"), catalog.SKUUpdate{StockDelta: &delta})
	if err != nil {
		return err
	}
	return done(c, "/products/"+sku.ProductID, "stock_changed")
}

// flashSalesPage lists a show's flash sales with the form to add one.
type flashSalesPage struct {
	ShowID     string
	Shows      []live.Show
	Lineup     []catalog.LineupItem
	FlashSales []catalog.FlashSale
}

// pageFlashSales lists the flash sales of a show picked from the
// scheduled and live shows.
func (a *API) pageFlashSales(c *fiber.Ctx) error {
	return a.renderFlashSales(c, a.view(c, "products"), c.Query("show_id"), http.StatusOK)
}

func (a *API) renderFlashSales(c *fiber.Ctx, v *view, showID string, status int) error {
	ctx := c.UserContext()
	shows, err := a.shows.ListShows(ctx, live.ShowFilter{Statuses: []live.Status{live.StatusLive, live.StatusScheduled}, Limit: 100})
	if err != nil {
		return err
	}
	d := flashSalesPage{ShowID: showID, Shows: shows}
	if showID != "" {
		if d.Lineup, err = a.catalog.Lineup(ctx, showID); err != nil {
			return err
		}
		if d.FlashSales, err = a.catalog.FlashSales(ctx, showID); err != nil {
			return err
		}
	}
	v.Data = d
	return a.render(c, status, "flash_sales", v)
}

// formCreateFlashSale creates a flash sale of a lineup SKU.
func (a *API) formCreateFlashSale(c *fiber.Ctx) error {
	v := a.view(c, "products")
	showID := c.FormValue("show_id")
	v.keep(c, "sku_id", "price", "quantity", "per_member_limit", "starts_at", "ends_at")
	price, err := parseYuan(c.FormValue("price"))
	if err != nil || price == 0 {
		v.Fields["price"] = v.T("form.money")
	}
	qty, err := strconv.Atoi(strings.TrimSpace(c.FormValue("quantity")))
	if err != nil || qty <= 0 {
		v.Fields["quantity"] = v.T("form.number")
	}
	limit, err := strconv.Atoi(strings.TrimSpace(c.FormValue("per_member_limit")))
	if err != nil || limit <= 0 {
		v.Fields["per_member_limit"] = v.T("form.number")
	}
	starts, err := parseLocal(c.FormValue("starts_at"), a.web.loc)
	if err != nil {
		v.Fields["starts_at"] = v.T("form.datetime")
	}
	ends, err := parseLocal(c.FormValue("ends_at"), a.web.loc)
	if err != nil {
		v.Fields["ends_at"] = v.T("form.datetime")
	}
	if len(v.Fields) > 0 {
		return a.renderFlashSales(c, v, showID, http.StatusUnprocessableEntity)
	}
	if _, err := a.catalog.CreateFlashSale(c.UserContext(), currentStaff(c).ID, catalog.FlashSaleInput{ShowID: showID, SKUID: c.FormValue("sku_id"),
		Price: price, Quantity: qty, PerMemberLimit: limit, StartsAt: starts, EndsAt: ends}); err != nil {
		return a.renderFlashSales(c, v, showID, v.fail(err))
	}
	return done(c, "/flash-sales?show_id="+showID, "flash_sale_created")
}
