package console

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
)

// Tags is what the console needs of member tags (*community.Segments).
type Tags interface {
	Tags(ctx context.Context) ([]community.Tag, error)
	Tag(ctx context.Context, id string) (community.Tag, error)
	CreateTag(ctx context.Context, staffID string, in community.TagInput) (community.Tag, error)
	UpdateTag(ctx context.Context, staffID, id string, in community.TagInput) (community.Tag, error)
	DeleteTag(ctx context.Context, staffID, id string) error
	TagMembers(ctx context.Context, staffID, tagID string, memberIDs []string) (int, error)
	UntagMembers(ctx context.Context, staffID, tagID string, memberIDs []string) (int, error)
	EvaluateTag(ctx context.Context, id string) (community.Tag, error)
}

// tagPath names a tag.
type tagPath struct {
	ID string `path:"id"`
}

// tagBody is a tag as staff write it.
type tagBody struct {
	Name        string          `json:"name" required:"true" maxLength:"40"`
	Kind        string          `json:"kind" enum:"manual,rule" description:"manual: put on members by staff; rule: holds the members its rule selects, evaluated now and hourly."`
	Rule        json.RawMessage `json:"rule,omitempty" description:"A segment rule (rule tags only); see GET /segments/predicates."`
	Description string          `json:"description" maxLength:"500"`
}

// tagUpdateBody is PUT /tags/{id}.
type tagUpdateBody struct {
	ID string `path:"id" json:"-"`
	tagBody
}

// tagMembersBody lists members to tag or untag.
type tagMembersBody struct {
	ID        string   `path:"id" json:"-"`
	MemberIDs []string `json:"member_ids" required:"true" minItems:"1" maxItems:"10000"`
}

// tagMembersResult says how many members changed.
type tagMembersResult struct {
	Changed int `json:"changed"`
}

// tagList is every tag.
type tagList struct {
	Tags []community.Tag `json:"tags"`
}

func (a *API) listTags(c *fiber.Ctx) error {
	tags, err := a.tags.Tags(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(tagList{Tags: tags})
}

func (a *API) getTag(c *fiber.Ctx) error {
	t, err := a.tags.Tag(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (a *API) createTag(c *fiber.Ctx) error {
	var b tagBody
	if err := communityBody(c, &b); err != nil {
		return err
	}
	t, err := a.tags.CreateTag(c.UserContext(), currentStaff(c).ID, community.TagInput{Name: b.Name, Kind: b.Kind, Rule: b.Rule, Description: b.Description})
	if err != nil {
		return communityProblem(err)
	}
	return c.Status(http.StatusCreated).JSON(t)
}

func (a *API) updateTag(c *fiber.Ctx) error {
	var b tagUpdateBody
	if err := communityBody(c, &b); err != nil {
		return err
	}
	t, err := a.tags.UpdateTag(c.UserContext(), currentStaff(c).ID, c.Params("id"), community.TagInput{Name: b.Name, Kind: b.Kind, Rule: b.Rule, Description: b.Description})
	if err != nil {
		return communityProblem(err)
	}
	return c.JSON(t)
}

func (a *API) deleteTag(c *fiber.Ctx) error {
	if err := a.tags.DeleteTag(c.UserContext(), currentStaff(c).ID, c.Params("id")); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

func (a *API) tagMembers(c *fiber.Ctx) error {
	var b tagMembersBody
	if err := communityBody(c, &b); err != nil {
		return err
	}
	n, err := a.tags.TagMembers(c.UserContext(), currentStaff(c).ID, c.Params("id"), b.MemberIDs)
	if err != nil {
		return communityProblem(err)
	}
	return c.JSON(tagMembersResult{Changed: n})
}

func (a *API) untagMembers(c *fiber.Ctx) error {
	var b tagMembersBody
	if err := communityBody(c, &b); err != nil {
		return err
	}
	n, err := a.tags.UntagMembers(c.UserContext(), currentStaff(c).ID, c.Params("id"), b.MemberIDs)
	if err != nil {
		return communityProblem(err)
	}
	return c.JSON(tagMembersResult{Changed: n})
}

func (a *API) evaluateTag(c *fiber.Ctx) error {
	t, err := a.tags.EvaluateTag(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(t)
}

// tagRoutes are the member tags.
func (a *API) tagRoutes() []Route {
	tags := []string{"tags"}
	h := func(f fiber.Handler) []fiber.Handler { return []fiber.Handler{f} }
	errs := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	return []Route{
		{Roles: communityReaders(), Route: edge.Route{Method: http.MethodGet, Path: "/tags", Summary: "Every tag with its member count", Tags: tags,
			Response: new(tagList), Errors: errs, Handlers: h(a.listTags)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/tags", Summary: "Create a manual or rule tag (a rule tag is evaluated at once)", Tags: tags,
			Request: new(tagBody), Response: new(community.Tag), Status: http.StatusCreated, Errors: append(errs, http.StatusConflict), Handlers: h(a.createTag)}},
		{Roles: communityReaders(), Route: edge.Route{Method: http.MethodGet, Path: "/tags/:id", Summary: "A tag", Tags: tags,
			Request: new(tagPath), Response: new(community.Tag), Errors: errs, Handlers: h(a.getTag)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPut, Path: "/tags/:id", Summary: "Change a tag (its kind stays)", Tags: tags,
			Request: new(tagUpdateBody), Response: new(community.Tag), Errors: append(errs, http.StatusConflict), Handlers: h(a.updateTag)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodDelete, Path: "/tags/:id", Summary: "Delete a tag from every member", Tags: tags,
			Request: new(tagPath), Status: http.StatusNoContent, Errors: errs, Handlers: h(a.deleteTag)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/tags/:id/members", Summary: "Put a manual tag on members", Tags: tags,
			Request: new(tagMembersBody), Response: new(tagMembersResult), Errors: append(errs, http.StatusConflict), Handlers: h(a.tagMembers)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/tags/:id/members/remove", Summary: "Take a manual tag off members", Tags: tags,
			Request: new(tagMembersBody), Response: new(tagMembersResult), Errors: append(errs, http.StatusConflict), Handlers: h(a.untagMembers)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/tags/:id/evaluate", Summary: "Evaluate a rule tag now", Tags: tags,
			Request: new(tagPath), Response: new(community.Tag), Errors: errs, Handlers: h(a.evaluateTag)}},
	}
}
