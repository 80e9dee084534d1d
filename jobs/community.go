package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/siyu-live/siyu/community"
)

// CampaignRunner is what the campaign tasks call (*community.Campaigns).
type CampaignRunner interface {
	StartRun(ctx context.Context, campaignID, occurrence string) error
	Run(ctx context.Context, runID string) error
}

// CouponJobs is what the coupon tasks call (*community.Coupons).
type CouponJobs interface {
	FinishDrop(ctx context.Context, dropID string) error
	DrainDrops(ctx context.Context) (int, error)
	ExpireCoupons(ctx context.Context) (int, error)
}

// TagJobs is what the tag task calls (*community.Segments).
type TagJobs interface {
	EvaluateRuleTags(ctx context.Context) (int, error)
}

// WeComJobs is what the WeCom tasks call (*community.WeCom).
type WeComJobs interface {
	ProcessEvent(ctx context.Context, eventID string) error
	SyncGroups(ctx context.Context) (community.SyncResult, error)
}

// CommunityTasks are the services behind the community tasks; WeCom may
// be nil (not configured).
type CommunityTasks struct {
	Campaigns CampaignRunner
	Coupons   CouponJobs
	Tags      TagJobs
	WeCom     WeComJobs
}

// HandleCommunity adds the community task handlers to mux. Each is
// idempotent: a campaign run is guarded by its lease and one delivery row
// per member, a drop finishes once under its row lock, and a WeCom event
// is processed once.
func HandleCommunity(mux *asynq.ServeMux, c CommunityTasks) {
	mux.HandleFunc(community.TaskStartCampaignRun, func(ctx context.Context, t *asynq.Task) error {
		var in community.StartRunTask
		if err := decode(t, &in); err != nil {
			return err
		}
		if in.CampaignID == "" || in.Occurrence == "" {
			return fmt.Errorf("%s: no campaign_id or occurrence: %w", t.Type(), asynq.SkipRetry)
		}
		return campaignGone(c.Campaigns.StartRun(ctx, in.CampaignID, in.Occurrence))
	})
	mux.HandleFunc(community.TaskRunCampaign, func(ctx context.Context, t *asynq.Task) error {
		var in community.RunTask
		if err := decode(t, &in); err != nil {
			return err
		}
		if in.RunID == "" {
			return fmt.Errorf("%s: no run_id: %w", t.Type(), asynq.SkipRetry)
		}
		return campaignGone(c.Campaigns.Run(ctx, in.RunID))
	})
	mux.HandleFunc(community.TaskFinishCouponDrop, func(ctx context.Context, t *asynq.Task) error {
		var in community.CouponDropTask
		if err := decode(t, &in); err != nil {
			return err
		}
		if in.DropID == "" {
			return fmt.Errorf("%s: no drop_id: %w", t.Type(), asynq.SkipRetry)
		}
		err := c.Coupons.FinishDrop(ctx, in.DropID)
		if errors.Is(err, community.ErrDropNotFound) {
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		return err
	})
	mux.HandleFunc(community.TaskDrainCouponDrops, func(ctx context.Context, _ *asynq.Task) error {
		_, err := c.Coupons.DrainDrops(ctx)
		return err
	})
	mux.HandleFunc(community.TaskExpireCoupons, func(ctx context.Context, _ *asynq.Task) error {
		_, err := c.Coupons.ExpireCoupons(ctx)
		return err
	})
	mux.HandleFunc(community.TaskEvaluateRuleTags, func(ctx context.Context, _ *asynq.Task) error {
		_, err := c.Tags.EvaluateRuleTags(ctx)
		return err
	})
	if c.WeCom == nil {
		return
	}
	mux.HandleFunc(community.TaskWeComEvent, func(ctx context.Context, t *asynq.Task) error {
		var in community.WeComEventTask
		if err := decode(t, &in); err != nil {
			return err
		}
		if in.EventID == "" {
			return fmt.Errorf("%s: no event_id: %w", t.Type(), asynq.SkipRetry)
		}
		return c.WeCom.ProcessEvent(ctx, in.EventID)
	})
	mux.HandleFunc(community.TaskSyncWeCom, func(ctx context.Context, _ *asynq.Task) error {
		_, err := c.WeCom.SyncGroups(ctx)
		return err
	})
}

// campaignGone ends a task about a campaign that does not exist without
// retries.
func campaignGone(err error) error {
	if errors.Is(err, community.ErrCampaignNotFound) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return err
}

// CommunitySchedules are the periodic community tasks: draining coupon
// drops' journals, expiring coupons, evaluating rule tags and, when WeCom
// is configured, syncing its customer groups.
func CommunitySchedules(wecom bool) []Periodic {
	out := []Periodic{
		{Cronspec: "@every 1m", TaskType: community.TaskDrainCouponDrops, Queue: "default", Every: time.Minute},
		{Cronspec: "@every 10m", TaskType: community.TaskExpireCoupons, Queue: "low", Every: 10 * time.Minute},
		{Cronspec: "@every 1h", TaskType: community.TaskEvaluateRuleTags, Queue: "low", Every: time.Hour},
	}
	if wecom {
		out = append(out, Periodic{Cronspec: "@every 1h", TaskType: community.TaskSyncWeCom, Queue: "low", Every: time.Hour})
	}
	return out
}
