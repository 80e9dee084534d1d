package miniprogramapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
)

// Clicks records product-card clicks in shows (*analytics.Service).
type Clicks interface {
	RecordClick(ctx context.Context, showID, memberID, productID string) (bool, error)
}

// productClickRequest is the body of POST /shows/:id/product-clicks.
type productClickRequest struct {
	ID        string `path:"id" json:"-"`
	ProductID string `json:"product_id" required:"true" maxLength:"64" description:"A product of the show's lineup whose card the shopper opened."`
}

// productClickBody says whether the click counted.
type productClickBody struct {
	Counted bool `json:"counted" description:"false when the same member tapped the same card within five seconds."`
}

// recordProductClick records that the member opened a product card of a
// live show or its replay (the funnel's step between watching and
// ordering).
func (a *API) recordProductClick(c *fiber.Ctx) error {
	var req productClickRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil || req.ProductID == "" {
		return edge.BadRequest("invalid_json", "the body must be {\"product_id\": \"…\"}")
	}
	counted, err := a.clicks.RecordClick(c.UserContext(), c.Params("id"), memberID(c), req.ProductID)
	if err != nil {
		return err
	}
	return c.Status(http.StatusAccepted).JSON(productClickBody{Counted: counted})
}
