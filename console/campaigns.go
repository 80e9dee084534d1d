package console

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
)

// Campaigns is what the console needs of campaigns and journeys
// (*community.Campaigns).
type Campaigns interface {
	Campaigns(ctx context.Context) ([]community.Campaign, error)
	Campaign(ctx context.Context, id string) (community.Campaign, error)
	CreateCampaign(ctx context.Context, staffID string, in community.CampaignInput) (community.Campaign, error)
	Pause(ctx context.Context, staffID, id string) (community.Campaign, error)
	Resume(ctx context.Context, staffID, id string) (community.Campaign, error)
	Cancel(ctx context.Context, staffID, id string) (community.Campaign, error)
	RunNow(ctx context.Context, staffID, id string) (community.RunProgress, error)
	Runs(ctx context.Context, campaignID string) ([]community.RunProgress, error)
	Journeys(ctx context.Context) ([]community.Journey, error)
	SetJourney(ctx context.Context, staffID, kind string, enabled bool, cfg community.JourneyConfig) (community.Journey, error)
}

// campaignPath names a campaign.
type campaignPath struct {
	ID string `path:"id"`
}

// campaignBody is a campaign as staff write it.
type campaignBody struct {
	Name         string                    `json:"name" required:"true" maxLength:"60"`
	SegmentID    string                    `json:"segment_id" required:"true"`
	Actions      community.CampaignActions `json:"actions" required:"true"`
	Schedule     string                    `json:"schedule" required:"true" enum:"now,at,recurring"`
	RunAt        *time.Time                `json:"run_at,omitempty" description:"When an \"at\" campaign runs, or a recurring one first runs (now by default)."`
	EverySeconds int                       `json:"every_seconds,omitempty" description:"The period of a recurring campaign (300 at least)."`
	QuietHours   *community.QuietHours     `json:"quiet_hours,omitempty" description:"A daily window in China time when nothing is sent."`
}

// journeyBody switches a journey and sets it up.
type journeyBody struct {
	Kind    string                  `path:"kind" json:"-" enum:"win_back,group_welcome"`
	Enabled bool                    `json:"enabled"`
	Config  community.JourneyConfig `json:"config"`
}

// campaignList is every campaign.
type campaignList struct {
	Campaigns []community.Campaign `json:"campaigns"`
}

// runList is a campaign's runs.
type runList struct {
	Runs []community.RunProgress `json:"runs"`
}

// journeyList is the built-in journeys.
type journeyList struct {
	Journeys []community.Journey `json:"journeys"`
}

func (a *API) listCampaigns(c *fiber.Ctx) error {
	list, err := a.campaigns.Campaigns(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(campaignList{Campaigns: list})
}

func (a *API) getCampaign(c *fiber.Ctx) error {
	cp, err := a.campaigns.Campaign(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(cp)
}

func (a *API) createCampaign(c *fiber.Ctx) error {
	var b campaignBody
	if err := communityBody(c, &b); err != nil {
		return err
	}
	cp, err := a.campaigns.CreateCampaign(c.UserContext(), currentStaff(c).ID, community.CampaignInput{Name: b.Name, SegmentID: b.SegmentID,
		Actions: b.Actions, Schedule: b.Schedule, RunAt: b.RunAt, EverySeconds: b.EverySeconds, QuietHours: b.QuietHours})
	if err != nil {
		return communityProblem(err)
	}
	return c.Status(http.StatusCreated).JSON(cp)
}

func (a *API) campaignAction(do func(ctx context.Context, staffID, id string) (community.Campaign, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cp, err := do(c.UserContext(), currentStaff(c).ID, c.Params("id"))
		if err != nil {
			return err
		}
		return c.JSON(cp)
	}
}

func (a *API) runCampaign(c *fiber.Ctx) error {
	p, err := a.campaigns.RunNow(c.UserContext(), currentStaff(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.Status(http.StatusAccepted).JSON(p)
}

func (a *API) listCampaignRuns(c *fiber.Ctx) error {
	runs, err := a.campaigns.Runs(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(runList{Runs: runs})
}

func (a *API) listJourneys(c *fiber.Ctx) error {
	list, err := a.campaigns.Journeys(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(journeyList{Journeys: list})
}

func (a *API) setJourney(c *fiber.Ctx) error {
	var b journeyBody
	if err := communityBody(c, &b); err != nil {
		return err
	}
	j, err := a.campaigns.SetJourney(c.UserContext(), currentStaff(c).ID, c.Params("kind"), b.Enabled, b.Config)
	if err != nil {
		return communityProblem(err)
	}
	return c.JSON(j)
}

// campaignRoutes are campaigns, their runs and the built-in journeys.
func (a *API) campaignRoutes() []Route {
	tags := []string{"campaigns"}
	h := func(f fiber.Handler) []fiber.Handler { return []fiber.Handler{f} }
	errs := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	state := append(errs, http.StatusConflict)
	return []Route{
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodGet, Path: "/campaigns", Summary: "Campaigns and journeys, newest first", Tags: tags,
			Response: new(campaignList), Errors: errs, Handlers: h(a.listCampaigns)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/campaigns", Summary: "Create a campaign: a segment, its actions (coupon, subscribe message, WeCom message) and when", Tags: tags,
			Request: new(campaignBody), Response: new(community.Campaign), Status: http.StatusCreated, Errors: errs, Handlers: h(a.createCampaign)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodGet, Path: "/campaigns/:id", Summary: "A campaign with its latest run's progress", Tags: tags,
			Request: new(campaignPath), Response: new(community.Campaign), Errors: errs, Handlers: h(a.getCampaign)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodGet, Path: "/campaigns/:id/runs", Summary: "A campaign's runs with their progress: targeted, sent, skipped and failed with reasons", Tags: tags,
			Request: new(campaignPath), Response: new(runList), Errors: errs, Handlers: h(a.listCampaignRuns)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/campaigns/:id/pause", Summary: "Pause a campaign (its run stops between batches)", Tags: tags,
			Request: new(campaignPath), Response: new(community.Campaign), Errors: state, Handlers: h(a.campaignAction(func(ctx context.Context, staffID, id string) (community.Campaign, error) {
				return a.campaigns.Pause(ctx, staffID, id)
			}))}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/campaigns/:id/resume", Summary: "Resume a paused campaign where it stopped", Tags: tags,
			Request: new(campaignPath), Response: new(community.Campaign), Errors: state, Handlers: h(a.campaignAction(func(ctx context.Context, staffID, id string) (community.Campaign, error) {
				return a.campaigns.Resume(ctx, staffID, id)
			}))}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/campaigns/:id/cancel", Summary: "Cancel a campaign for good", Tags: tags,
			Request: new(campaignPath), Response: new(community.Campaign), Errors: state, Handlers: h(a.campaignAction(func(ctx context.Context, staffID, id string) (community.Campaign, error) {
				return a.campaigns.Cancel(ctx, staffID, id)
			}))}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPost, Path: "/campaigns/:id/run", Summary: "Start a run of a campaign now, outside its schedule", Tags: tags,
			Request: new(campaignPath), Response: new(community.RunProgress), Status: http.StatusAccepted, Errors: state, Handlers: h(a.runCampaign)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodGet, Path: "/journeys", Summary: "The built-in journeys (win-back, group welcome) with their settings and latest run", Tags: tags,
			Response: new(journeyList), Errors: errs, Handlers: h(a.listJourneys)}},
		{Roles: communityManagers(), Route: edge.Route{Method: http.MethodPut, Path: "/journeys/:kind", Summary: "Switch a journey on or off and set it up", Tags: tags,
			Request: new(journeyBody), Response: new(community.Journey), Errors: errs, Handlers: h(a.setJourney)}},
	}
}
