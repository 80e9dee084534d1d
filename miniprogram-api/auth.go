package miniprogramapi

import (
	"bytes"
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
)

// Sessions authenticates shopper session tokens.
type Sessions interface {
	// Authenticate returns the member a live session token belongs to,
	// refreshing the session's expiry, or an error wrapping the domain's
	// "session not found/expired" sentinel.
	Authenticate(ctx context.Context, token string) (memberID string, err error)
}

const memberKey = "member_id"

// member prepends authentication to a member-only route's handlers.
func (a *API) member(h ...fiber.Handler) []fiber.Handler {
	return append([]fiber.Handler{a.requireMember}, h...)
}

// requireMember accepts "Authorization: Bearer <token>" and stores the
// member's ID for the handlers; anything else is 401.
func (a *API) requireMember(c *fiber.Ctx) error {
	// The header's bytes as fasthttp holds them: a remembered token is
	// looked up without a copy (fiber's Get would make one).
	raw := c.Request().Header.Peek(fiber.HeaderAuthorization)
	token, ok := bytes.CutPrefix(raw, []byte("Bearer "))
	if !ok || len(token) == 0 {
		return &edge.Problem{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "send the session token as Authorization: Bearer <token>"}
	}
	id, ok := a.sessionCache.get(token)
	if !ok {
		tok := string(token)
		var err error
		if id, err = a.sessions.Authenticate(c.UserContext(), tok); err != nil {
			return err
		}
		a.sessionCache.put(tok, id)
	}
	c.Locals(memberKey, id)
	return c.Next()
}

// memberID returns the calling member's ID on a member-only route.
func memberID(c *fiber.Ctx) string {
	id, _ := c.Locals(memberKey).(string)
	return id
}
