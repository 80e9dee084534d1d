package console

import (
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/payments"
)

type commissionReportRequest struct {
	From   string `query:"from" description:"RFC 3339; entries created at or after."`
	To     string `query:"to" description:"RFC 3339; entries created before."`
	ShowID string `query:"show_id"`
}

type commissionReportBody struct {
	Lines []payments.CommissionLine `json:"lines"`
}

type commissionEntriesRequest struct {
	OrderID       string `query:"order_id"`
	BeneficiaryID string `query:"beneficiary_id"`
}

type commissionEntriesBody struct {
	Entries []payments.CommissionEntry `json:"entries"`
}

func queryTime(c *fiber.Ctx, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, edge.BadRequest("invalid_"+name, name+" must be an RFC 3339 time such as 2026-05-01T00:00:00+08:00")
	}
	return t, nil
}

func (a *API) commissionReport(c *fiber.Ctx) error {
	from, err := queryTime(c, "from")
	if err != nil {
		return err
	}
	to, err := queryTime(c, "to")
	if err != nil {
		return err
	}
	lines, err := a.payments.CommissionReport(c.UserContext(), from, to, c.Query("show_id"))
	if err != nil {
		return err
	}
	return c.JSON(commissionReportBody{Lines: lines})
}

func (a *API) commissionEntries(c *fiber.Ctx) error {
	if c.Query("order_id") == "" && c.Query("beneficiary_id") == "" {
		return edge.BadRequest("missing_filter", "give order_id or beneficiary_id")
	}
	list, err := a.payments.CommissionEntries(c.UserContext(), c.Query("order_id"), c.Query("beneficiary_id"))
	if err != nil {
		return err
	}
	return c.JSON(commissionEntriesBody{Entries: list})
}

// commissionRoutes are the commission ledger's staff routes.
func (a *API) commissionRoutes() []Route {
	tags := []string{"commissions"}
	roles := []string{RoleOwner, RoleAdmin, RoleCommunityManager}
	return []Route{
		{Route: edge.Route{Method: http.MethodGet, Path: "/commissions", Summary: "Commission report by beneficiary (host, inviter): accrued, reversed, pending, settled", Tags: tags,
			Request: new(commissionReportRequest), Response: new(commissionReportBody), Handlers: []fiber.Handler{a.commissionReport}}, Roles: roles},
		{Route: edge.Route{Method: http.MethodGet, Path: "/commissions/entries", Summary: "Ledger entries of an order or a beneficiary", Tags: tags,
			Request: new(commissionEntriesRequest), Response: new(commissionEntriesBody), Handlers: []fiber.Handler{a.commissionEntries}}, Roles: roles},
	}
}
