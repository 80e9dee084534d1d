package console

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/staff"
)

// signInPage is what the sign-in page shows.
type signInPage struct{ Next string }

// pageSignIn shows the sign-in form (or goes on for a live session).
func (a *API) pageSignIn(c *fiber.Ctx) error {
	next := safeNext(c.Query("next"))
	if token := c.Cookies(SessionCookie); token != "" {
		if _, err := a.sessions.AuthenticateStaff(c.UserContext(), token); err == nil {
			return c.Redirect(next, http.StatusSeeOther)
		}
	}
	v := a.view(c, "")
	v.Data = signInPage{Next: next}
	return a.render(c, http.StatusOK, "sign_in", v)
}

// formSignIn checks the name and password and sets the session cookie.
func (a *API) formSignIn(c *fiber.Ctx) error {
	v := a.view(c, "")
	next := safeNext(c.FormValue("next"))
	v.Data = signInPage{Next: next}
	v.keep(c, "name")
	name, password := strings.TrimSpace(c.FormValue("name")), c.FormValue("password")
	if name == "" {
		v.Fields["name"] = v.T("form.required")
	}
	if password == "" {
		v.Fields["password"] = v.T("form.required")
	}
	if len(v.Fields) > 0 {
		return a.render(c, http.StatusUnprocessableEntity, "sign_in", v)
	}
	s, err := a.signIns.SignIn(c.UserContext(), name, password)
	if err != nil {
		status := v.fail(err)
		if errors.Is(err, staff.ErrInvalidCredentials) {
			status = http.StatusUnauthorized
		}
		return a.render(c, status, "sign_in", v)
	}
	c.Cookie(a.sessionCookie(s.Token))
	return c.Redirect(next, http.StatusSeeOther)
}

// formSignOut ends the session.
func (a *API) formSignOut(c *fiber.Ctx) error {
	if err := a.signIns.SignOut(c.UserContext(), c.Cookies(SessionCookie)); err != nil {
		return err
	}
	cookie := a.sessionCookie("")
	cookie.Expires, cookie.MaxAge, cookie.SessionOnly = time.Unix(0, 0), -1, false
	c.Cookie(cookie)
	return c.Redirect(WebPrefix+"/sign-in", http.StatusSeeOther)
}
