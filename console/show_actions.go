package console

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/live"
)

// actionRequest is the body of POST /shows/:id/actions.
type actionRequest struct {
	ID          string `path:"id" json:"-"`
	Type        string `json:"type" required:"true" enum:"pin_product,unpin_product,flash_sale,drop_coupon,pin_announcement,unpin_announcement,mute_viewer,unmute_viewer,remove_viewer,delete_comment"`
	ProductID   string `json:"product_id,omitempty" description:"pin_product: a product of the show's lineup."`
	FlashSaleID string `json:"flash_sale_id,omitempty" description:"flash_sale: one of the show's flash sales; its countdown is broadcast."`
	Text        string `json:"text,omitempty" maxLength:"200" description:"pin_announcement: the announcement."`
	MemberID    string `json:"member_id,omitempty" description:"mute_viewer, unmute_viewer, remove_viewer: the viewer."`
	CommentID   string `json:"comment_id,omitempty" description:"delete_comment: the comment."`
	DropID      string `json:"drop_id,omitempty" description:"drop_coupon: one of the show's coupon drops; it is announced for viewers to claim."`
}

// timelineEvent is one stamp of a show's timeline.
type timelineEvent struct {
	ID    string          `json:"id"`
	Kind  string          `json:"kind"`
	Actor string          `json:"actor" description:"staff:ID, livekit or system."`
	At    time.Time       `json:"at"`
	Data  json.RawMessage `json:"data"`
}

func eventOut(e live.TimelineEvent) timelineEvent {
	return timelineEvent{ID: e.ID, Kind: string(e.Kind), Actor: e.Actor, At: e.At, Data: e.Data}
}

// actionBody is a performed control action.
type actionBody struct {
	Event timelineEvent `json:"event"`
	// Delivered says whether the broadcast reached the room; the action
	// holds either way.
	Delivered bool `json:"delivered"`
}

// performAction carries out a control action and broadcasts it.
func (a *API) performAction(c *fiber.Ctx) error {
	var req actionRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return edge.BadRequest("invalid_json", "the body must be an action: {\"type\": …}")
	}
	res, err := a.shows.PerformAction(c.UserContext(), currentStaff(c).ID, c.Params("id"), live.Action{
		Type: req.Type, ProductID: req.ProductID, FlashSaleID: req.FlashSaleID, Text: req.Text,
		MemberID: req.MemberID, CommentID: req.CommentID, DropID: req.DropID,
	})
	if err != nil {
		return showProblem(err)
	}
	return c.JSON(actionBody{Event: eventOut(res.Event), Delivered: res.Delivered})
}

// timelineBody is a show's timeline, oldest first.
type timelineBody struct {
	Events []timelineEvent `json:"events"`
}

// getTimeline answers a show's timeline.
func (a *API) getTimeline(c *fiber.Ctx) error {
	evs, err := a.shows.Timeline(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	out := timelineBody{Events: make([]timelineEvent, len(evs))}
	for i, e := range evs {
		out.Events[i] = eventOut(e)
	}
	return c.JSON(out)
}

// blocklistBody is the brand's chat blocklist.
type blocklistBody struct {
	Words []string `json:"words" maxItems:"2000" description:"Matched case-insensitively anywhere in a comment; a match hides the comment."`
}

// getBlocklist answers the blocklist.
func (a *API) getBlocklist(c *fiber.Ctx) error {
	words, err := a.shows.Blocklist(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(blocklistBody{Words: words})
}

// putBlocklist replaces the blocklist.
func (a *API) putBlocklist(c *fiber.Ctx) error {
	var req blocklistBody
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return edge.BadRequest("invalid_json", "the body must be {\"words\": [...]}")
	}
	words, err := a.shows.SetBlocklist(c.UserContext(), currentStaff(c).ID, req.Words)
	if err != nil {
		return showProblem(err)
	}
	return c.JSON(blocklistBody{Words: words})
}

// showRoutes lists the live routes.
func (a *API) showRoutes() []Route {
	tags := []string{"shows"}
	managers := []string{RoleOwner, RoleAdmin}
	presenters := []string{RoleOwner, RoleAdmin, RoleHost}
	floor := []string{RoleOwner, RoleAdmin, RoleHost, RoleAssistant}
	mod := []string{RoleOwner, RoleAdmin, RoleAssistant}
	h := func(f fiber.Handler) []fiber.Handler { return []fiber.Handler{f} }
	conflict := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict}
	return []Route{
		{Roles: managers, Route: edge.Route{Method: http.MethodPost, Path: "/shows", Summary: "Schedule a show", Tags: tags,
			Request: new(showInputBody), Response: new(consoleShow), Status: http.StatusCreated,
			Errors: []int{http.StatusUnauthorized, http.StatusForbidden}, Handlers: h(a.createShow)}},
		{Roles: allRoles(), Route: edge.Route{Method: http.MethodGet, Path: "/shows", Summary: "Shows, latest first", Tags: tags,
			Request: new(listShowsRequest), Response: new(consoleShows), Errors: []int{http.StatusUnauthorized}, Handlers: h(a.listShows)}},
		{Roles: allRoles(), Route: edge.Route{Method: http.MethodGet, Path: "/shows/:id", Summary: "A show with its recording status, counts and lineup", Tags: tags,
			Request: new(liveShowPath), Response: new(consoleShow), Errors: []int{http.StatusUnauthorized, http.StatusNotFound}, Handlers: h(a.getShow)}},
		{Roles: managers, Route: edge.Route{Method: http.MethodPatch, Path: "/shows/:id", Summary: "Edit a scheduled show", Tags: tags,
			Request: new(showPatchBody), Response: new(consoleShow), Errors: conflict, Handlers: h(a.updateShow)}},
		{Roles: managers, Route: edge.Route{Method: http.MethodPost, Path: "/shows/:id/cancel", Summary: "Cancel a scheduled show", Tags: tags,
			Request: new(liveShowPath), Response: new(consoleShow), Errors: conflict, Handlers: h(a.cancelShow)}},
		{Roles: presenters, Route: edge.Route{Method: http.MethodPost, Path: "/shows/:id/start", Summary: "Go live: provision the LiveKit room and start the recording", Tags: tags,
			Request: new(liveShowPath), Response: new(consoleShow), Errors: append(conflict, http.StatusServiceUnavailable), Handlers: h(a.startShow)}},
		{Roles: presenters, Route: edge.Route{Method: http.MethodPost, Path: "/shows/:id/end", Summary: "End a live show", Tags: tags,
			Request: new(liveShowPath), Response: new(consoleShow), Errors: conflict, Handlers: h(a.endShow)}},
		{Roles: floor, Route: edge.Route{Method: http.MethodPost, Path: "/shows/:id/token", Summary: "A LiveKit token for the show's host (publish camera, microphone, screen) or an assistant", Tags: tags,
			Request: new(tokenRequest), Response: new(tokenBody), Errors: conflict, Handlers: h(a.showToken)}},
		{Roles: presenters, Route: edge.Route{Method: http.MethodPost, Path: "/shows/:id/ingress", Summary: "The show's RTMP or WHIP ingress (URL and stream key); 503 ingress_unavailable without LiveKit Ingress", Tags: tags,
			Request: new(ingressRequest), Response: new(live.Ingress), Status: http.StatusCreated,
			Errors: append(conflict, http.StatusServiceUnavailable), Handlers: h(a.createIngress)}},
		{Roles: floor, Route: edge.Route{Method: http.MethodPost, Path: "/shows/:id/actions", Summary: "A control action, broadcast to the room and stamped on the timeline", Tags: tags,
			Request: new(actionRequest), Response: new(actionBody),
			Errors: append(conflict, http.StatusUnprocessableEntity, http.StatusServiceUnavailable), Handlers: h(a.performAction)}},
		{Roles: allRoles(), Route: edge.Route{Method: http.MethodGet, Path: "/shows/:id/timeline", Summary: "A show's timeline, oldest first", Tags: tags,
			Request: new(liveShowPath), Response: new(timelineBody), Errors: []int{http.StatusUnauthorized, http.StatusNotFound}, Handlers: h(a.getTimeline)}},
		{Roles: mod, Route: edge.Route{Method: http.MethodGet, Path: "/chat/blocklist", Summary: "The brand's chat blocklist", Tags: tags,
			Response: new(blocklistBody), Errors: []int{http.StatusUnauthorized, http.StatusForbidden}, Handlers: h(a.getBlocklist)}},
		{Roles: managers, Route: edge.Route{Method: http.MethodPut, Path: "/chat/blocklist", Summary: "Replace the brand's chat blocklist", Tags: tags,
			Request: new(blocklistBody), Response: new(blocklistBody), Errors: []int{http.StatusUnauthorized, http.StatusForbidden}, Handlers: h(a.putBlocklist)}},
	}
}
