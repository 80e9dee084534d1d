package miniprogramapi

import (
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
)

// meBody is the calling member as they see themselves.
type meBody struct {
	ID               string     `json:"id"`
	Nickname         string     `json:"nickname"`
	AvatarURL        string     `json:"avatar_url"`
	Phone            string     `json:"phone" description:"The bound phone number with its middle hidden (138****8000), or empty."`
	PhoneCountryCode string     `json:"phone_country_code" description:"86 for mainland numbers; empty without a phone."`
	PhoneBoundAt     *time.Time `json:"phone_bound_at,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
}

func memberOut(m community.Member) meBody {
	return meBody{
		ID: m.ID, Nickname: m.Nickname, AvatarURL: m.AvatarURL,
		Phone: m.MaskedPhone(), PhoneCountryCode: m.PhoneCountryCode, PhoneBoundAt: m.PhoneBoundAt,
		CreatedAt: m.CreatedAt,
	}
}

// getMe returns the calling member.
func (a *API) getMe(c *fiber.Ctx) error {
	m, err := a.members.Get(c.UserContext(), memberID(c))
	if err != nil {
		return err
	}
	return c.JSON(memberOut(m))
}

// patchMeRequest is the body of PATCH /me: only these fields exist, and a
// body naming any other field is refused as a whole.
type patchMeRequest struct {
	_         struct{} `additionalProperties:"false"`
	Nickname  *string  `json:"nickname,omitempty" maxLength:"32" description:"1 to 32 characters."`
	AvatarURL *string  `json:"avatar_url,omitempty" maxLength:"1024" description:"An http(s) URL; empty clears the avatar."`
}

// patchMe changes the calling member's nickname and avatar. The body's
// keys are checked exactly (encoding/json would match "Phone" or
// "NICKNAME" case-insensitively), and nothing is applied unless every key
// is allowed.
func (a *API) patchMe(c *fiber.Ctx) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(c.Body(), &raw); err != nil || raw == nil {
		return edge.BadRequest("invalid_json", "the body must be a JSON object")
	}
	var unknown []string
	for k := range raw {
		if k != "nickname" && k != "avatar_url" {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return edge.BadRequest("unknown_field", "only nickname and avatar_url can be changed; not "+strings.Join(unknown, ", "))
	}
	var ch community.ProfileChange
	for k, dst := range map[string]**string{"nickname": &ch.Nickname, "avatar_url": &ch.AvatarURL} {
		v, ok := raw[k]
		if !ok {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return edge.BadRequest("invalid_field", k+" must be a string")
		}
		*dst = &s
	}
	m, err := a.members.UpdateProfile(c.UserContext(), memberID(c), ch)
	if errors.Is(err, community.ErrInvalidProfile) {
		return edge.BadRequest("invalid_profile", err.Error())
	}
	if err != nil {
		return err
	}
	return c.JSON(memberOut(m))
}

// bindPhoneRequest is the body of POST /me/phone.
type bindPhoneRequest struct {
	Code string `json:"code" required:"true" description:"The code from the getPhoneNumber button's event (e.detail.code)."`
}

// bindPhone binds the phone number the shopper agreed to share.
func (a *API) bindPhone(c *fiber.Ctx) error {
	var req bindPhoneRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return edge.BadRequest("invalid_json", "the body must be a JSON object: "+err.Error())
	}
	if strings.TrimSpace(req.Code) == "" {
		return edge.BadRequest("missing_code", "code (from the getPhoneNumber button) is required")
	}
	m, err := a.members.BindPhone(c.UserContext(), memberID(c), req.Code)
	if err != nil {
		return err
	}
	return c.JSON(memberOut(m))
}
