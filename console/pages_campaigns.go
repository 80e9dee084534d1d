package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/community"
)

// campaignsPage lists campaigns with the form to start one.
type campaignsPage struct {
	Campaigns []community.Campaign
	Segments  []community.Segment
	Templates []community.CouponTemplate
}

// pageCampaigns lists campaigns with their latest run's progress.
func (a *API) pageCampaigns(c *fiber.Ctx) error {
	return a.renderCampaigns(c, a.view(c, "campaigns"), http.StatusOK)
}

func (a *API) renderCampaigns(c *fiber.Ctx, v *view, status int) error {
	if a.campaigns == nil || a.segments == nil || a.coupons == nil {
		return errNoService
	}
	ctx := c.UserContext()
	var d campaignsPage
	var err error
	if d.Campaigns, err = a.campaigns.Campaigns(ctx); err != nil {
		return err
	}
	if d.Segments, err = a.segments.ListSegments(ctx); err != nil {
		return err
	}
	if d.Templates, err = a.coupons.Templates(ctx); err != nil {
		return err
	}
	v.Data = d
	return a.render(c, status, "campaigns", v)
}

// formCreateCampaign starts a coupon campaign for a segment, now or at a
// time.
func (a *API) formCreateCampaign(c *fiber.Ctx) error {
	if a.campaigns == nil {
		return errNoService
	}
	v := a.view(c, "campaigns")
	v.keep(c, "name", "segment_id", "template_id", "run_at")
	in := community.CampaignInput{Name: strings.TrimSpace(c.FormValue("name")), SegmentID: c.FormValue("segment_id"), Schedule: "now",
		Actions: community.CampaignActions{Coupon: &community.CouponAction{TemplateID: c.FormValue("template_id")}}}
	if in.Name == "" {
		v.Fields["name"] = v.T("form.required")
	}
	if in.SegmentID == "" {
		v.Fields["segment_id"] = v.T("form.required")
	}
	if in.Actions.Coupon.TemplateID == "" {
		v.Fields["template_id"] = v.T("form.required")
	}
	if s := strings.TrimSpace(c.FormValue("run_at")); s != "" {
		at, err := parseLocal(s, a.web.loc)
		if err != nil {
			v.Fields["run_at"] = v.T("form.datetime")
		}
		in.Schedule, in.RunAt = "at", &at
	}
	if len(v.Fields) > 0 {
		return a.renderCampaigns(c, v, http.StatusUnprocessableEntity)
	}
	cp, err := a.campaigns.CreateCampaign(c.UserContext(), currentStaff(c).ID, in)
	if err != nil {
		return a.renderCampaigns(c, v, v.fail(communityProblem(err)))
	}
	return done(c, "/campaigns/"+cp.ID, "campaign_created")
}

// campaignPage is a campaign with its runs.
type campaignPage struct {
	Campaign community.Campaign
	Runs     []community.RunProgress
	AsOf     time.Time
}

// pageCampaign shows a campaign and the progress of its runs.
func (a *API) pageCampaign(c *fiber.Ctx) error {
	if a.campaigns == nil {
		return errNoService
	}
	ctx := c.UserContext()
	cp, err := a.campaigns.Campaign(ctx, c.Params("id"))
	if err != nil {
		return communityProblem(err)
	}
	runs, err := a.campaigns.Runs(ctx, cp.ID)
	if err != nil {
		return err
	}
	v := a.view(c, "campaigns")
	v.Data = campaignPage{Campaign: cp, Runs: runs, AsOf: time.Now()}
	return a.render(c, http.StatusOK, "campaign", v)
}

// formCampaignVerb pauses, resumes, cancels or runs a campaign now.
func (a *API) formCampaignVerb(c *fiber.Ctx) error {
	if a.campaigns == nil {
		return errNoService
	}
	ctx, me, id := c.UserContext(), currentStaff(c).ID, c.Params("id")
	var err error
	switch verb := c.Params("verb"); verb {
	case "pause":
		_, err = a.campaigns.Pause(ctx, me, id)
	case "resume":
		_, err = a.campaigns.Resume(ctx, me, id)
	case "cancel":
		_, err = a.campaigns.Cancel(ctx, me, id)
	case "run":
		_, err = a.campaigns.RunNow(ctx, me, id)
	default:
		return fiber.ErrNotFound
	}
	if err != nil {
		return communityProblem(err)
	}
	return done(c, "/campaigns/"+id, "campaign_"+c.Params("verb"))
}
