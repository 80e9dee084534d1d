package console

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
)

// Segments is what the console needs of segments (*community.Segments).
type Segments interface {
	ListSegments(ctx context.Context) ([]community.Segment, error)
	Segment(ctx context.Context, id string) (community.Segment, error)
	CreateSegment(ctx context.Context, staffID string, in community.SegmentInput) (community.Segment, error)
	UpdateSegment(ctx context.Context, staffID, id string, in community.SegmentInput) (community.Segment, error)
	DeleteSegment(ctx context.Context, staffID, id string) error
	PreviewRule(ctx context.Context, rule json.RawMessage) (community.Preview, error)
	PreviewSegment(ctx context.Context, id string) (community.Preview, error)
}

// segmentPath names a segment.
type segmentPath struct {
	ID string `path:"id"`
}

// segmentBody is a segment as staff write it.
type segmentBody struct {
	Name        string          `json:"name" required:"true" maxLength:"60"`
	Description string          `json:"description" maxLength:"500"`
	Rule        json.RawMessage `json:"rule" required:"true" description:"and / or / not over predicates, for example {\"and\":[{\"watched_show\":{\"show_id\":\"…\",\"min_seconds\":300}},{\"not_paid_in\":{\"days\":30}}]}; see GET /segments/predicates."`
}

// segmentUpdateBody is PUT /segments/{id}.
type segmentUpdateBody struct {
	ID string `path:"id" json:"-"`
	segmentBody
}

// previewBody is a rule to preview.
type previewBody struct {
	Rule json.RawMessage `json:"rule" required:"true"`
}

// segmentList is every segment.
type segmentList struct {
	Segments []community.Segment `json:"segments"`
}

// predicateList describes the rule language.
type predicateList struct {
	Combinators []string                  `json:"combinators"`
	Predicates  []community.PredicateSpec `json:"predicates"`
}

func (a *API) listSegments(c *fiber.Ctx) error {
	list, err := a.segments.ListSegments(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(segmentList{Segments: list})
}

func (a *API) getSegment(c *fiber.Ctx) error {
	s, err := a.segments.Segment(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(s)
}

func (a *API) createSegment(c *fiber.Ctx) error {
	var b segmentBody
	if err := communityBody(c, &b); err != nil {
		return err
	}
	s, err := a.segments.CreateSegment(c.UserContext(), currentStaff(c).ID, community.SegmentInput{Name: b.Name, Description: b.Description, Rule: b.Rule})
	if err != nil {
		return communityProblem(err)
	}
	return c.Status(http.StatusCreated).JSON(s)
}

func (a *API) updateSegment(c *fiber.Ctx) error {
	var b segmentUpdateBody
	if err := communityBody(c, &b); err != nil {
		return err
	}
	s, err := a.segments.UpdateSegment(c.UserContext(), currentStaff(c).ID, c.Params("id"), community.SegmentInput{Name: b.Name, Description: b.Description, Rule: b.Rule})
	if err != nil {
		return communityProblem(err)
	}
	return c.JSON(s)
}

func (a *API) deleteSegment(c *fiber.Ctx) error {
	if err := a.segments.DeleteSegment(c.UserContext(), currentStaff(c).ID, c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

func (a *API) previewRule(c *fiber.Ctx) error {
	var b previewBody
	if err := communityBody(c, &b); err != nil {
		return err
	}
	p, err := a.segments.PreviewRule(c.UserContext(), b.Rule)
	if err != nil {
		return communityProblem(err)
	}
	return c.JSON(p)
}

func (a *API) previewSegment(c *fiber.Ctx) error {
	p, err := a.segments.PreviewSegment(c.UserContext(), c.Params("id"))
	if err != nil {
		return communityProblem(err)
	}
	return c.JSON(p)
}

func (a *API) rulePredicates(c *fiber.Ctx) error {
	return c.JSON(predicateList{Combinators: []string{"and", "or", "not"}, Predicates: community.RulePredicates()})
}

// segmentRoutes are the segments and their live preview.
func (a *API) segmentRoutes() []Route {
	tags := []string{"segments"}
	h := func(f fiber.Handler) []fiber.Handler { return []fiber.Handler{f} }
	errs := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	return []Route{
		{Roles: communityReaders(), Route: edge.Route{Method: http.MethodGet, Path: "/segments", Summary: "Every segment", Tags: tags,
			Response: new(segmentList), Errors: errs, Handlers: h(a.listSegments)}},
		{Roles: communityReaders(), Route: edge.Route{Method: http.MethodGet, Path: "/segments/predicates", Summary: "The segment rule language: combinators and predicates with their parameters", Tags: tags,
			Response: new(predicateList), Errors: errs, Handlers: h(a.rulePredicates)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/segments/preview", Summary: "Count the members a rule selects now (400 says where a rule is wrong)", Tags: tags,
			Request: new(previewBody), Response: new(community.Preview), Errors: errs, Handlers: h(a.previewRule)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/segments", Summary: "Create a segment", Tags: tags,
			Request: new(segmentBody), Response: new(community.Segment), Status: http.StatusCreated, Errors: append(errs, http.StatusConflict), Handlers: h(a.createSegment)}},
		{Roles: communityReaders(), Route: edge.Route{Method: http.MethodGet, Path: "/segments/:id", Summary: "A segment", Tags: tags,
			Request: new(segmentPath), Response: new(community.Segment), Errors: errs, Handlers: h(a.getSegment)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPut, Path: "/segments/:id", Summary: "Change a segment", Tags: tags,
			Request: new(segmentUpdateBody), Response: new(community.Segment), Errors: append(errs, http.StatusConflict), Handlers: h(a.updateSegment)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodDelete, Path: "/segments/:id", Summary: "Delete a segment no campaign still to run targets", Tags: tags,
			Request: new(segmentPath), Status: http.StatusNoContent, Errors: append(errs, http.StatusConflict), Handlers: h(a.deleteSegment)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodGet, Path: "/segments/:id/preview", Summary: "Count a segment's members now, with a sample", Tags: tags,
			Request: new(segmentPath), Response: new(community.Preview), Errors: errs, Handlers: h(a.previewSegment)}},
	}
}
