package console

import (
	"context"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
)

// WeCom is what the console needs of the WeCom side of the community
// (*community.WeCom).
type WeCom interface {
	SyncGroups(ctx context.Context) (community.SyncResult, error)
	Groups(ctx context.Context) ([]community.WeComGroupInfo, error)
	Group(ctx context.Context, chatID string) (community.WeComGroupInfo, []community.WeComGroupPerson, error)
	CreateJoinWay(ctx context.Context, staffID string, in community.WayInput) (community.WeComWay, error)
	CreateContactWay(ctx context.Context, staffID string, in community.WayInput) (community.WeComWay, error)
	Ways(ctx context.Context, showID string) ([]community.WeComWay, error)
	Conversions(ctx context.Context, f community.ConversionFilter) ([]community.Conversion, error)
	ShowConversionStats(ctx context.Context, showID string) (community.ShowConversions, error)
}

// wecomGroupPath names a customer group.
type wecomGroupPath struct {
	ChatID string `path:"chat_id"`
}

// wayBody is a join way or contact way to create.
type wayBody struct {
	Targets    []string `json:"targets" required:"true" minItems:"1" maxItems:"5" description:"Join way: 1 to 5 group chat ids; contact way: one staff userid."`
	Remark     string   `json:"remark" maxLength:"30"`
	ShowID     string   `json:"show_id,omitempty" description:"Joins through the way are attributed to this show."`
	CampaignID string   `json:"campaign_id,omitempty"`
	InviterID  string   `json:"inviter_id,omitempty" description:"The member who shares the QR code."`
}

// waysRequest filters GET /wecom/ways.
type waysRequest struct {
	ShowID string `query:"show_id"`
}

// conversionsRequest filters GET /wecom/conversions.
type conversionsRequest struct {
	ShowID   string `query:"show_id"`
	MemberID string `query:"member_id"`
	Kind     string `query:"kind" enum:"group_join,contact_add"`
	Limit    int    `query:"limit" minimum:"1" maximum:"1000"`
}

// wecomGroupList is every customer group.
type wecomGroupList struct {
	Groups []community.WeComGroupInfo `json:"groups"`
}

// wecomGroupBody is a group with the people in it.
type wecomGroupBody struct {
	Group  community.WeComGroupInfo     `json:"group"`
	People []community.WeComGroupPerson `json:"people"`
}

// wayList is the ways Siyu created.
type wayList struct {
	Ways []community.WeComWay `json:"ways"`
}

// conversionList is conversions into private traffic, newest first.
type conversionList struct {
	Conversions []community.Conversion `json:"conversions"`
}

func (a *API) syncWeCom(c *fiber.Ctx) error {
	res, err := a.wecom.SyncGroups(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(res)
}

func (a *API) listWeComGroups(c *fiber.Ctx) error {
	list, err := a.wecom.Groups(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(wecomGroupList{Groups: list})
}

func (a *API) getWeComGroup(c *fiber.Ctx) error {
	g, people, err := a.wecom.Group(c.UserContext(), c.Params("chat_id"))
	if err != nil {
		return err
	}
	return c.JSON(wecomGroupBody{Group: g, People: people})
}

func (a *API) createWay(kind string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		create := a.wecom.CreateJoinWay
		if kind == community.WayContact {
			create = a.wecom.CreateContactWay
		}
		var b wayBody
		if err := communityBody(c, &b); err != nil {
			return err
		}
		w, err := create(c.UserContext(), currentStaff(c).ID, community.WayInput{Targets: b.Targets, Remark: b.Remark, ShowID: b.ShowID,
			CampaignID: b.CampaignID, InviterID: b.InviterID})
		if err != nil {
			return communityProblem(err)
		}
		return c.Status(http.StatusCreated).JSON(w)
	}
}

func (a *API) listWays(c *fiber.Ctx) error {
	list, err := a.wecom.Ways(c.UserContext(), c.Query("show_id"))
	if err != nil {
		return err
	}
	return c.JSON(wayList{Ways: list})
}

func (a *API) listConversions(c *fiber.Ctx) error {
	list, err := a.wecom.Conversions(c.UserContext(), community.ConversionFilter{ShowID: c.Query("show_id"), MemberID: c.Query("member_id"),
		Kind: c.Query("kind"), Limit: c.QueryInt("limit", 200)})
	if err != nil {
		return err
	}
	return c.JSON(conversionList{Conversions: list})
}

func (a *API) showConversions(c *fiber.Ctx) error {
	st, err := a.wecom.ShowConversionStats(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(st)
}

// wecomRoutes are WeCom groups, ways and conversions.
func (a *API) wecomRoutes() []Route {
	tags := []string{"wecom"}
	h := func(f fiber.Handler) []fiber.Handler { return []fiber.Handler{f} }
	errs := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable}
	return []Route{
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/wecom/sync", Summary: "Sync WeCom customer groups and their members now", Tags: tags,
			Response: new(community.SyncResult), Errors: errs, Handlers: h(a.syncWeCom)}},
		{Roles: communityReaders(), Route: edge.Route{Method: http.MethodGet, Path: "/wecom/groups", Summary: "WeCom customer groups", Tags: tags,
			Response: new(wecomGroupList), Errors: errs, Handlers: h(a.listWeComGroups)}},
		{Roles: communityReaders(), Route: edge.Route{Method: http.MethodGet, Path: "/wecom/groups/:chat_id", Summary: "A customer group and the people in it, linked to members", Tags: tags,
			Request: new(wecomGroupPath), Response: new(wecomGroupBody), Errors: errs, Handlers: h(a.getWeComGroup)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/wecom/join-ways", Summary: "Create a group QR code whose joins carry attribution (show, campaign, inviter)", Tags: tags,
			Request: new(wayBody), Response: new(community.WeComWay), Status: http.StatusCreated, Errors: errs, Handlers: h(a.createWay(community.WayJoin))}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/wecom/contact-ways", Summary: "Create a staff member's 联系我 QR code whose adds carry attribution", Tags: tags,
			Request: new(wayBody), Response: new(community.WeComWay), Status: http.StatusCreated, Errors: errs, Handlers: h(a.createWay(community.WayContact))}},
		{Roles: communityReaders(), Route: edge.Route{Method: http.MethodGet, Path: "/wecom/ways", Summary: "The join and contact ways Siyu created", Tags: tags,
			Request: new(waysRequest), Response: new(wayList), Errors: errs, Handlers: h(a.listWays)}},
		{Roles: communityReaders(), Route: edge.Route{Method: http.MethodGet, Path: "/wecom/conversions", Summary: "Conversions into private traffic (group joins, contact adds) with their source", Tags: tags,
			Request: new(conversionsRequest), Response: new(conversionList), Errors: errs, Handlers: h(a.listConversions)}},
		{Roles: communityReaders(), Route: edge.Route{Method: http.MethodGet, Path: "/shows/:id/conversions", Summary: "How many people a show brought into groups and contacts, by inviter", Tags: tags,
			Request: new(liveShowPath), Response: new(community.ShowConversions), Errors: errs, Handlers: h(a.showConversions)}},
	}
}
