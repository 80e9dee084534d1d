package miniprogramapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
)

// Members is the identity service behind /session and /me
// (*community.Members).
type Members interface {
	Login(ctx context.Context, req community.LoginRequest) (community.Login, error)
	Logout(ctx context.Context, token string) error
	Get(ctx context.Context, id string) (community.Member, error)
	UpdateProfile(ctx context.Context, id string, ch community.ProfileChange) (community.Member, error)
	BindPhone(ctx context.Context, id, code string) (community.Member, error)
}

// sessionRequest is the body of POST /session.
type sessionRequest struct {
	Code  string        `json:"code" required:"true" description:"The code from wx.login (single use, valid for 5 minutes)."`
	Scene int           `json:"scene,omitempty" description:"The scene value the mini-program was opened with (wx.getLaunchOptionsSync().scene), such as 1007 or 1047."`
	Share *shareRequest `json:"share,omitempty" description:"What the share link or mini-program code carried; recorded as the member's first touch on their first login, as a touch later."`
}

// shareRequest is the attribution a share link carries.
type shareRequest struct {
	Inviter string `json:"inviter,omitempty" description:"The ID of the member who shared."`
	Show    string `json:"show,omitempty" description:"The show the share was about."`
	Group   string `json:"group,omitempty" description:"The community group the share was posted in."`
	Channel string `json:"channel,omitempty" description:"A free channel label (poster, moments, …)."`
}

// sessionResponse is a new session.
type sessionResponse struct {
	Token     string    `json:"token" description:"Send as Authorization: Bearer <token>. Opaque; lasts 30 days after its last use."`
	ExpiresAt time.Time `json:"expires_at" description:"When the token expires unless used again."`
	NewMember bool      `json:"new_member" description:"True on the member's first login."`
	Member    meBody    `json:"member"`
}

// createSession logs a shopper in with a wx.login code.
func (a *API) createSession(c *fiber.Ctx) error {
	var req sessionRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return edge.BadRequest("invalid_json", "the body must be a JSON object: "+err.Error())
	}
	if strings.TrimSpace(req.Code) == "" {
		return edge.BadRequest("missing_code", "code (from wx.login) is required")
	}
	in := community.LoginRequest{Code: req.Code, IP: c.IP(), Scene: req.Scene}
	if req.Share != nil {
		in.Share = community.Share{Inviter: req.Share.Inviter, Show: req.Share.Show, Group: req.Share.Group, Channel: req.Share.Channel}
	}
	l, err := a.members.Login(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(sessionResponse{Token: l.Token, ExpiresAt: l.ExpiresAt, NewMember: l.NewMember, Member: memberOut(l.Member)})
}

// deleteSession logs out: the calling token stops working.
func (a *API) deleteSession(c *fiber.Ctx) error {
	token, _ := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	a.sessionCache.forget(token)
	if err := a.members.Logout(c.UserContext(), token); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
