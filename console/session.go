package console

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/staff"
)

// SignIns signs staff in and out (*staff.Service).
type SignIns interface {
	SignIn(ctx context.Context, name, password string) (staff.Session, error)
	SignOut(ctx context.Context, token string) error
}

// allRoles lists every role, for routes any signed-in staff member may use.
func allRoles() []string {
	return []string{RoleOwner, RoleAdmin, RoleHost, RoleAssistant, RoleCommunityManager, RoleService}
}

// signInRequest is the body of POST /session.
type signInRequest struct {
	Name     string `json:"name" required:"true"`
	Password string `json:"password" required:"true" format:"password"`
}

// staffBody is a staff member as the console shows them.
type staffBody struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Role        string     `json:"role" enum:"owner,admin,host,assistant,community_manager,service"`
	LockedUntil *time.Time `json:"locked_until,omitempty"`
	DisabledAt  *time.Time `json:"disabled_at,omitempty" description:"Set while the account is disabled."`
}

// sessionBody is the signed-in staff member.
type sessionBody struct {
	Staff staffBody `json:"staff"`
	// ExpiresAt is set on sign-in: the session ends then unless used.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// signIn checks a name and password and sets the session cookie.
func (a *API) signIn(c *fiber.Ctx) error {
	var req signInRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return edge.BadRequest("invalid_json", "the body must be a JSON object with name and password")
	}
	if req.Name == "" || req.Password == "" {
		return edge.BadRequest("missing_credentials", "name and password are required")
	}
	s, err := a.signIns.SignIn(c.UserContext(), req.Name, req.Password)
	if err != nil {
		return err
	}
	// A browser-session cookie: the server ends the session after its idle
	// time or maximum age, whichever comes first.
	c.Cookie(a.sessionCookie(s.Token))
	exp := s.ExpiresAt
	return c.JSON(sessionBody{Staff: staffBody{ID: s.Account.ID, Name: s.Account.Name, Role: s.Account.Role}, ExpiresAt: &exp})
}

// currentSession returns the signed-in staff member.
func (a *API) currentSession(c *fiber.Ctx) error {
	s := currentStaff(c)
	return c.JSON(sessionBody{Staff: staffBody{ID: s.ID, Name: s.Name, Role: s.Role}})
}

// signOut ends the session and clears the cookie.
func (a *API) signOut(c *fiber.Ctx) error {
	if err := a.signIns.SignOut(c.UserContext(), c.Cookies(SessionCookie)); err != nil {
		return err
	}
	cookie := a.sessionCookie("")
	cookie.Expires = time.Unix(0, 0)
	cookie.MaxAge = -1
	cookie.SessionOnly = false
	c.Cookie(cookie)
	return c.SendStatus(http.StatusNoContent)
}

// sessionCookie is the staff session cookie: HttpOnly (scripts cannot read
// it), SameSite=Strict (other sites cannot make the browser send it),
// Secure when Siyu is served over https, and scoped to /console.
func (a *API) sessionCookie(token string) *fiber.Cookie {
	return &fiber.Cookie{
		Name:        SessionCookie,
		Value:       token,
		Path:        "/console",
		HTTPOnly:    true,
		Secure:      a.secureCookie,
		SameSite:    fiber.CookieSameSiteStrictMode,
		SessionOnly: true,
	}
}

// jsonOnly guards the JSON API against cross-site request forgery. The
// session cookie is SameSite=Strict, so browsers do not send it on requests
// started by other sites; on top of that, every POST, PUT and PATCH must
// say Content-Type: application/json. A cross-origin page can only send
// that content type after a CORS preflight, which only SIYU_CONSOLE_ORIGIN
// passes, while HTML forms and "simple" fetches can only send form or text
// bodies. DELETE is never a simple request, so it always needs the
// preflight and may come without a body.
func jsonOnly(c *fiber.Ctx) error {
	switch c.Method() {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
		if err != nil || !strings.EqualFold(mt, fiber.MIMEApplicationJSON) {
			return &edge.Problem{Status: http.StatusUnsupportedMediaType, Code: "json_required",
				Message: "send a JSON body with Content-Type: application/json"}
		}
	}
	return c.Next()
}
