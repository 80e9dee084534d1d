package console

import (
	"context"
	"net/http"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
)

// The staff roles.
const (
	RoleOwner            = "owner"
	RoleAdmin            = "admin"
	RoleHost             = "host"
	RoleAssistant        = "assistant"
	RoleCommunityManager = "community_manager"
	RoleService          = "service"
)

// Staff is the signed-in staff member as the console sees them.
type Staff struct {
	ID   string
	Name string
	Role string
}

// Sessions authenticates staff session cookies.
type Sessions interface {
	// AuthenticateStaff returns the staff member a live session token
	// belongs to, or an error wrapping the domain's sentinel.
	AuthenticateStaff(ctx context.Context, token string) (Staff, error)
}

// SessionCookie is the name of the staff session cookie.
const SessionCookie = "siyu_staff"

const staffKey = "staff"

// allow prepends authentication and a role check to a route's handlers.
func (a *API) allow(roles []string, h ...fiber.Handler) []fiber.Handler {
	return append([]fiber.Handler{a.requireStaff(roles)}, h...)
}

// requireStaff accepts a staff session cookie whose role is in roles;
// no session is 401, a role not allowed is 403.
func (a *API) requireStaff(roles []string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		token := c.Cookies(SessionCookie)
		if token == "" {
			return &edge.Problem{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "sign in first"}
		}
		s, err := a.sessions.AuthenticateStaff(c.UserContext(), token)
		if err != nil {
			return err
		}
		if !slices.Contains(roles, s.Role) {
			return &edge.Problem{Status: http.StatusForbidden, Code: "forbidden", Message: "your role (" + s.Role + ") may not do this"}
		}
		c.Locals(staffKey, s)
		return c.Next()
	}
}

// currentStaff returns the signed-in staff member on a protected route.
func currentStaff(c *fiber.Ctx) Staff {
	s, _ := c.Locals(staffKey).(Staff)
	return s
}
