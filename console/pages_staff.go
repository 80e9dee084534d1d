package console

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/staff"
)

// staffPage lists staff accounts with the form to add one.
type staffPage struct {
	Accounts []staff.Account
	Roles    []string
	// Me is the signed-in member, whose own row has no actions.
	Me string
}

// pageStaff lists the staff and their roles.
func (a *API) pageStaff(c *fiber.Ctx) error {
	return a.renderStaff(c, a.view(c, "staff"), http.StatusOK)
}

func (a *API) renderStaff(c *fiber.Ctx, v *view, status int) error {
	accs, err := a.accounts.List(c.UserContext())
	if err != nil {
		return err
	}
	v.Data = staffPage{Accounts: accs, Roles: staff.Roles(), Me: currentStaff(c).ID}
	return a.render(c, status, "staff", v)
}

// formCreateStaff creates a staff account (only owners create owners and
// admins: the service refuses the rest).
func (a *API) formCreateStaff(c *fiber.Ctx) error {
	v := a.view(c, "staff")
	v.keep(c, "name", "role")
	in := staff.NewAccount{Name: strings.TrimSpace(c.FormValue("name")), Role: c.FormValue("role"), Password: c.FormValue("password")}
	if in.Name == "" {
		v.Fields["name"] = v.T("form.required")
	}
	if len(in.Password) < 12 {
		v.Fields["password"] = v.T("form.password")
	}
	if len(v.Fields) > 0 {
		return a.renderStaff(c, v, http.StatusUnprocessableEntity)
	}
	if _, err := a.accounts.Create(c.UserContext(), currentStaff(c).ID, in); err != nil {
		return a.renderStaff(c, v, v.fail(err))
	}
	return done(c, "/staff", "staff_created")
}

// formUpdateStaff changes another member's account from the staff page:
// action is disable, enable or unlock, or password with a new password.
func (a *API) formUpdateStaff(c *fiber.Ctx) error {
	v := a.view(c, "staff")
	var ch staff.Change
	switch c.FormValue("action") {
	case "disable":
		ch.Disabled = ptrTo(true)
	case "enable":
		ch.Disabled = ptrTo(false)
	case "unlock":
		ch.Unlock = true
	case "password":
		pw := c.FormValue("password")
		if len(pw) < 12 {
			v.Fields["password:"+c.Params("id")] = v.T("form.password")
			return a.renderStaff(c, v, http.StatusUnprocessableEntity)
		}
		ch.Password = &pw
	case "role":
		role := c.FormValue("role")
		ch.Role = &role
	}
	if _, err := a.accounts.Update(c.UserContext(), currentStaff(c).ID, c.Params("id"), ch); err != nil {
		return a.renderStaff(c, v, v.fail(err))
	}
	return done(c, "/staff", "staff_updated")
}

func ptrTo[T any](v T) *T { return &v }

// auditView is a page of the audit log.
type auditView struct {
	Query   staff.AuditQuery
	Entries []staff.AuditEntry
	Next    string
}

// pageAudit lists staff actions newest first, filtered.
func (a *API) pageAudit(c *fiber.Ctx) error {
	v := a.view(c, "staff")
	q := staff.AuditQuery{StaffID: c.Query("staff_id"), Action: c.Query("action"), ObjectType: c.Query("object_type"),
		ObjectID: c.Query("object_id"), Before: c.Query("before"), Limit: 50}
	entries, err := a.audit.Audit(c.UserContext(), q)
	if err != nil {
		return err
	}
	d := auditView{Query: q, Entries: entries}
	if len(entries) == q.Limit {
		d.Next = entries[len(entries)-1].ID
	}
	v.Data = d
	return a.render(c, http.StatusOK, "audit", v)
}
