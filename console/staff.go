package console

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/staff"
)

// StaffAccounts lists and creates staff accounts (*staff.Service).
type StaffAccounts interface {
	List(ctx context.Context) ([]staff.Account, error)
	Create(ctx context.Context, actorID string, in staff.NewAccount) (staff.Account, error)
}

// staffList is the answer of GET /staff.
type staffList struct {
	Staff []staffBody `json:"staff"`
}

// createStaffRequest is the body of POST /staff.
type createStaffRequest struct {
	Name     string `json:"name" required:"true" description:"Sign-in name: 2 to 64 letters, digits or . _ - @; folded to lower case."`
	Role     string `json:"role" required:"true" enum:"owner,admin,host,assistant,community_manager,service" description:"Only owners create owners and admins."`
	Password string `json:"password" required:"true" format:"password" minLength:"12"`
}

func accountOut(acc staff.Account) staffBody {
	return staffBody{ID: acc.ID, Name: acc.Name, Role: acc.Role, LockedUntil: acc.LockedUntil}
}

// listStaff lists every staff account.
func (a *API) listStaff(c *fiber.Ctx) error {
	accs, err := a.accounts.List(c.UserContext())
	if err != nil {
		return err
	}
	out := staffList{Staff: make([]staffBody, len(accs))}
	for i, acc := range accs {
		out.Staff[i] = accountOut(acc)
	}
	return c.JSON(out)
}

// createStaff creates an account; the domain records it in the audit log.
func (a *API) createStaff(c *fiber.Ctx) error {
	var req createStaffRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return edge.BadRequest("invalid_json", "the body must be a JSON object with name, role and password")
	}
	acc, err := a.accounts.Create(c.UserContext(), currentStaff(c).ID, staff.NewAccount{Name: req.Name, Role: req.Role, Password: req.Password})
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(accountOut(acc))
}
