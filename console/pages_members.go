package console

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/community"
)

// membersPage is a page of members, filtered.
type membersPage struct {
	Query     string
	TagID     string
	SegmentID string
	Page      community.MemberPage
	Tags      []community.Tag
	Segments  []community.Segment
}

// needCommunity refuses community pages when the community area is not
// connected.
func (a *API) needCommunity() error {
	if a.members == nil || a.tags == nil || a.segments == nil {
		return errNoService
	}
	return nil
}

// pageMembers lists members by search, tag or segment.
func (a *API) pageMembers(c *fiber.Ctx) error {
	if err := a.needCommunity(); err != nil {
		return err
	}
	ctx := c.UserContext()
	v := a.view(c, "members")
	d := membersPage{Query: c.Query("q"), TagID: c.Query("tag_id"), SegmentID: c.Query("segment_id")}
	var err error
	if d.Page, err = a.members.ListMembers(ctx, community.MemberFilter{Query: d.Query, TagID: d.TagID, SegmentID: d.SegmentID,
		After: c.Query("after"), Limit: 50}); err != nil {
		return communityProblem(err)
	}
	if d.Tags, err = a.tags.Tags(ctx); err != nil {
		return err
	}
	if d.Segments, err = a.segments.ListSegments(ctx); err != nil {
		return err
	}
	v.Data = d
	return a.render(c, http.StatusOK, "members", v)
}

// pageMember shows a member's profile.
func (a *API) pageMember(c *fiber.Ctx) error {
	if err := a.needCommunity(); err != nil {
		return err
	}
	p, err := a.members.MemberProfile(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	v := a.view(c, "members")
	v.Data = p
	return a.render(c, http.StatusOK, "member", v)
}

// pageTags lists tags with the form to add one.
func (a *API) pageTags(c *fiber.Ctx) error {
	if err := a.needCommunity(); err != nil {
		return err
	}
	return a.renderTags(c, a.view(c, "members"), http.StatusOK)
}

func (a *API) renderTags(c *fiber.Ctx, v *view, status int) error {
	tags, err := a.tags.Tags(c.UserContext())
	if err != nil {
		return err
	}
	v.Data = tags
	return a.render(c, status, "tags", v)
}

// formCreateTag creates a manual or rule tag.
func (a *API) formCreateTag(c *fiber.Ctx) error {
	if err := a.needCommunity(); err != nil {
		return err
	}
	v := a.view(c, "members")
	v.keep(c, "name", "kind", "rule", "description")
	in := community.TagInput{Name: strings.TrimSpace(c.FormValue("name")), Kind: c.FormValue("kind"), Description: strings.TrimSpace(c.FormValue("description"))}
	if in.Name == "" {
		v.Fields["name"] = v.T("form.required")
	}
	if in.Kind == "rule" {
		rule := strings.TrimSpace(c.FormValue("rule"))
		if !json.Valid([]byte(rule)) {
			v.Fields["rule"] = v.T("form.json")
		}
		in.Rule = json.RawMessage(rule)
	}
	if len(v.Fields) > 0 {
		return a.renderTags(c, v, http.StatusUnprocessableEntity)
	}
	if _, err := a.tags.CreateTag(c.UserContext(), currentStaff(c).ID, in); err != nil {
		return a.renderTags(c, v, v.fail(communityProblem(err)))
	}
	return done(c, "/tags", "tag_created")
}

// formEvaluateTag evaluates a rule tag now.
func (a *API) formEvaluateTag(c *fiber.Ctx) error {
	if err := a.needCommunity(); err != nil {
		return err
	}
	if _, err := a.tags.EvaluateTag(c.UserContext(), c.Params("id")); err != nil {
		return communityProblem(err)
	}
	return done(c, "/tags", "tag_evaluated")
}

// segmentsPage lists segments with their member counts now.
type segmentsPage struct {
	Segments []segmentRow
	Preview  *community.Preview
}

// segmentRow is a segment with its preview count.
type segmentRow struct {
	community.Segment
	Count int
}

// pageSegments lists segments, each with how many members it selects now.
func (a *API) pageSegments(c *fiber.Ctx) error {
	if err := a.needCommunity(); err != nil {
		return err
	}
	return a.renderSegments(c, a.view(c, "members"), nil, http.StatusOK)
}

func (a *API) renderSegments(c *fiber.Ctx, v *view, preview *community.Preview, status int) error {
	ctx := c.UserContext()
	segs, err := a.segments.ListSegments(ctx)
	if err != nil {
		return err
	}
	d := segmentsPage{Preview: preview}
	for _, s := range segs {
		p, err := a.segments.PreviewSegment(ctx, s.ID)
		if err != nil {
			return communityProblem(err)
		}
		d.Segments = append(d.Segments, segmentRow{Segment: s, Count: p.Count})
	}
	v.Data = d
	return a.render(c, status, "segments", v)
}

// formSegment previews a rule (op=preview) or saves it as a segment.
func (a *API) formSegment(c *fiber.Ctx) error {
	if err := a.needCommunity(); err != nil {
		return err
	}
	ctx := c.UserContext()
	v := a.view(c, "members")
	v.keep(c, "name", "description", "rule")
	rule := strings.TrimSpace(c.FormValue("rule"))
	if !json.Valid([]byte(rule)) {
		v.Fields["rule"] = v.T("form.json")
		return a.renderSegments(c, v, nil, http.StatusUnprocessableEntity)
	}
	if c.FormValue("op") == "preview" {
		p, err := a.segments.PreviewRule(ctx, json.RawMessage(rule))
		if err != nil {
			return a.renderSegments(c, v, nil, v.fail(communityProblem(err)))
		}
		return a.renderSegments(c, v, &p, http.StatusOK)
	}
	in := community.SegmentInput{Name: strings.TrimSpace(c.FormValue("name")), Description: strings.TrimSpace(c.FormValue("description")), Rule: json.RawMessage(rule)}
	if in.Name == "" {
		v.Fields["name"] = v.T("form.required")
		return a.renderSegments(c, v, nil, http.StatusUnprocessableEntity)
	}
	if _, err := a.segments.CreateSegment(ctx, currentStaff(c).ID, in); err != nil {
		return a.renderSegments(c, v, nil, v.fail(communityProblem(err)))
	}
	return done(c, "/segments", "segment_created")
}
