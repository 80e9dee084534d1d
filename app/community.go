package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hibiken/asynq"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/jobs"
	"github.com/siyu-live/siyu/sandbox/wecom"
)

// CommunityConfig is the community area's settings.
type CommunityConfig struct {
	SubscribeRate community.Rate
	WeComRate     community.Rate
}

// loadCommunityConfig reads the community settings from v.
func loadCommunityConfig(v map[string]string) (CommunityConfig, error) {
	var c CommunityConfig
	for _, r := range []struct {
		name string
		dst  *community.Rate
	}{{"COMMUNITY_SUBSCRIBE_RATE", &c.SubscribeRate}, {"COMMUNITY_WECOM_RATE", &c.WeComRate}} {
		n, err := strconv.ParseFloat(v[r.name], 64)
		if err != nil || n <= 0 {
			return c, &ConfigError{r.name, fmt.Sprintf("must be a positive number of calls a second, not %q", v[r.name])}
		}
		// A second's worth may go at once after a pause.
		*r.dst = community.Rate{PerSecond: n, Burst: max(int(n), 1)}
	}
	return c, nil
}

// communityArea is the community's services: segments and tags (with the
// member list and profiles), coupons, WeCom and campaigns.
type communityArea struct {
	segments  *community.Segments
	coupons   *community.Coupons
	wecom     *community.WeCom
	campaigns *community.Campaigns
}

// buildCommunity builds the community services, after identity (the WeCom
// client) and live (the consent ledger), and hands payments its coupons.
func (a *application) buildCommunity() error {
	c := &communityArea{}
	var err error
	if c.segments, err = community.NewSegments(community.SegmentsConfig{DB: a.st.db, Logger: a.log}); err != nil {
		return err
	}
	if c.coupons, err = community.NewCoupons(community.CouponsConfig{DB: a.st.db, Redis: a.st.redis, Logger: a.log}); err != nil {
		return err
	}
	wc := community.WeComConfig{DB: a.st.db, Logger: a.log}
	var mass community.WeComMassSender
	if a.wechat.work != nil {
		api := community.NewWeComClient(a.wechat.work.GetExternalContact(), a.wechat.workTokens)
		wc.API, mass = api, api
		wc.CorpID = a.wechat.work.GetContext().Config.CorpID
		wc.Token, wc.EncodingAESKey = a.cfg.WeComCallbackToken, a.cfg.WeComCallbackAES
		if a.wechat.sandbox != nil && wc.Token == "" {
			// The in-process sandbox signs its callbacks with its defaults.
			wc.Token, wc.EncodingAESKey = wecom.DefaultCallbackToken, wecom.DefaultCallbackAESKey
		}
	}
	if c.wecom, err = community.NewWeCom(wc); err != nil {
		return err
	}
	if c.campaigns, err = community.NewCampaigns(community.CampaignsConfig{
		DB: a.st.db, Redis: a.st.redis, Segments: c.segments, Coupons: c.coupons, Ledger: a.consents, WeCom: mass,
		SubscribeRate: a.cfg.Community.SubscribeRate, WeComRate: a.cfg.Community.WeComRate, Wake: a.relay.Poke, Logger: a.log,
	}); err != nil {
		return err
	}
	a.community = c
	a.commerce.coupons = c.coupons
	return nil
}

// memberProfiles is the console's member list and profiles: segments read
// the member, coupons add their wallet.
type memberProfiles struct{ c *communityArea }

// ListMembers implements console.CommunityMembers.
func (m memberProfiles) ListMembers(ctx context.Context, f community.MemberFilter) (community.MemberPage, error) {
	return m.c.segments.ListMembers(ctx, f)
}

// MemberProfile implements console.CommunityMembers.
func (m memberProfiles) MemberProfile(ctx context.Context, memberID string) (community.MemberProfile, error) {
	return m.c.segments.Profile(ctx, memberID, func(ctx context.Context, id string) ([]community.Coupon, error) {
		return m.c.coupons.MemberCoupons(ctx, id, "")
	})
}

// mountCommunityCallbacks serves WeCom's callbacks (URL check and events):
// the handler verifies and decrypts a net/http request, so it is adapted,
// not rewritten.
func (a *application) mountCommunityCallbacks(app *fiber.App) {
	h := edge.HTTPHandler(a.community.wecom.CallbackHandler(), 30*time.Second)
	app.Get("/callbacks/wecom", h)
	app.Post("/callbacks/wecom", h)
}

// handleCommunityTasks adds the community task handlers.
func (a *application) handleCommunityTasks(mux *asynq.ServeMux) {
	t := jobs.CommunityTasks{Campaigns: a.community.campaigns, Coupons: a.community.coupons, Tags: a.community.segments}
	if a.community.wecom.Configured() {
		t.WeCom = a.community.wecom
	}
	jobs.HandleCommunity(mux, t)
}

// scheduleCommunity registers the periodic community tasks.
func (a *application) scheduleCommunity(s *asynq.Scheduler) error {
	return jobs.RegisterSchedules(s, jobs.CommunitySchedules(a.community.wecom.Configured()))
}
