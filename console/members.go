package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
)

// CommunityMembers is what the console needs to list members and show a
// member's profile (community.Segments and community.Coupons, joined in
// app).
type CommunityMembers interface {
	ListMembers(ctx context.Context, f community.MemberFilter) (community.MemberPage, error)
	MemberProfile(ctx context.Context, memberID string) (community.MemberProfile, error)
}

// communityManagers may run the community: members, tags, segments,
// coupons, WeCom and campaigns.
func communityManagers() []string {
	return []string{RoleOwner, RoleAdmin, RoleCommunityManager}
}

// communityReaders may also look members up (customer service).
func communityReaders() []string {
	return []string{RoleOwner, RoleAdmin, RoleCommunityManager, RoleService}
}

// communityBody decodes a JSON body for the community routes.
func communityBody(c *fiber.Ctx, v any) error {
	if err := json.Unmarshal(c.Body(), v); err != nil {
		return edge.BadRequest("invalid_json", "the body must be a JSON object: "+err.Error())
	}
	return nil
}

// communityProblem answers the community domain's input errors with their
// whole message (the sentinel alone would not say what is wrong); other
// errors go to the error table.
func communityProblem(err error) error {
	var re *community.RuleError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return &edge.Problem{Status: http.StatusBadRequest, Code: "invalid_rule", Message: err.Error()}
	}
	for _, m := range []struct {
		sentinel error
		code     string
	}{
		{community.ErrInvalidCoupon, "invalid_coupon"},
		{community.ErrInvalidSegment, "invalid_segment"},
		{community.ErrInvalidTag, "invalid_tag"},
		{community.ErrInvalidCampaign, "invalid_campaign"},
		{community.ErrInvalidWay, "invalid_way"},
	} {
		if errors.Is(err, m.sentinel) {
			return &edge.Problem{Status: http.StatusBadRequest, Code: m.code, Message: err.Error()}
		}
	}
	return err
}

// memberPath names a member.
type memberPath struct {
	ID string `path:"id"`
}

// listMembersRequest filters GET /members.
type listMembersRequest struct {
	Query     string `query:"q" description:"A nickname (part), the last digits of a phone number, or a member id or openid."`
	TagID     string `query:"tag_id"`
	SegmentID string `query:"segment_id"`
	After     string `query:"after" description:"The next value of the previous page."`
	Limit     int    `query:"limit" minimum:"1" maximum:"200" description:"50 by default."`
}

func (a *API) listMembers(c *fiber.Ctx) error {
	limit := c.QueryInt("limit", 50)
	if limit < 1 || limit > 200 {
		return edge.BadRequest("invalid_limit", "limit is 1 to 200")
	}
	page, err := a.members.ListMembers(c.UserContext(), community.MemberFilter{Query: c.Query("q"), TagID: c.Query("tag_id"),
		SegmentID: c.Query("segment_id"), After: c.Query("after"), Limit: limit})
	if err != nil {
		return err
	}
	return c.JSON(page)
}

func (a *API) getMember(c *fiber.Ctx) error {
	p, err := a.members.MemberProfile(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(p)
}

// memberRoutes are the member list and profile.
func (a *API) memberRoutes() []Route {
	tags := []string{"members"}
	h := func(f fiber.Handler) []fiber.Handler { return []fiber.Handler{f} }
	return []Route{
		{Roles: communityReaders(), Route: edge.Route{Method: http.MethodGet, Path: "/members", Summary: "Members, oldest first, searched and filtered by tag or segment", Tags: tags,
			Request: new(listMembersRequest), Response: new(community.MemberPage), Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}, Handlers: h(a.listMembers)}},
		{Roles: communityReaders(), Route: edge.Route{Method: http.MethodGet, Path: "/members/:id", Summary: "A member's profile: identity, first touch, shows watched, orders and spend, coupons, WeCom, tags and consents", Tags: tags,
			Request: new(memberPath), Response: new(community.MemberProfile), Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}, Handlers: h(a.getMember)}},
	}
}
