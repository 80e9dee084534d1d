package console

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/staff"
)

// StaffAccounts lists, creates and changes staff accounts (*staff.Service).
type StaffAccounts interface {
	List(ctx context.Context) ([]staff.Account, error)
	Create(ctx context.Context, actorID string, in staff.NewAccount) (staff.Account, error)
	Update(ctx context.Context, actorID, id string, c staff.Change) (staff.Account, error)
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
	return staffBody{ID: acc.ID, Name: acc.Name, Role: acc.Role, LockedUntil: acc.LockedUntil, DisabledAt: acc.DisabledAt}
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

// updateStaffRequest is the body of PATCH /staff/{id}: the fields given
// change, the rest stay.
type updateStaffRequest struct {
	ID       string  `path:"id" json:"-"`
	Role     *string `json:"role,omitempty" enum:"owner,admin,host,assistant,community_manager,service" description:"Only owners appoint owners and admins, or change their accounts."`
	Disabled *bool   `json:"disabled,omitempty" description:"true disables the account and ends its sessions; false enables it again."`
	Password *string `json:"password,omitempty" format:"password" minLength:"12" description:"A new password: ends the account's sessions and lifts a lock."`
	Unlock   bool    `json:"unlock,omitempty" description:"Lift the lock left by wrong passwords."`
}

// updateStaff changes another staff member's account; the domain records
// it in the audit log.
func (a *API) updateStaff(c *fiber.Ctx) error {
	var req updateStaffRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return edge.BadRequest("invalid_json", "the body must be a JSON object with role, disabled, password or unlock")
	}
	acc, err := a.accounts.Update(c.UserContext(), currentStaff(c).ID, c.Params("id"),
		staff.Change{Role: req.Role, Disabled: req.Disabled, Password: req.Password, Unlock: req.Unlock})
	if err != nil {
		return err
	}
	return c.JSON(accountOut(acc))
}
