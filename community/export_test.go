package community

import (
	"context"
	"fmt"
)

// Hooks for the external tests of this package.

// ClaimWithoutPersisting runs a drop's claim script and stops there, as a
// process that died right after Redis said yes would; it returns the
// claim's id.
func (c *Coupons) ClaimWithoutPersisting(ctx context.Context, memberID, showID, dropID string) (string, error) {
	claim := dropClaim{ID: newID(), DropID: dropID, MemberID: memberID, At: c.now()}
	out, err := c.drops.runClaim(ctx, claim, showID, "")
	if err != nil {
		return "", err
	}
	if out.result != "ok" {
		return "", fmt.Errorf("claim script answered %s", out.result)
	}
	return claim.ID, nil
}

// SetAfterSend makes fn run after every send of a campaign (a subscribe
// message, or a WeCom message template) and before its outcome is
// written; an error from fn stops the run there, as a killed worker would.
func SetAfterSend(s *Campaigns, fn func(channel, key string) error) { s.hooks.afterSend = fn }

// CampaignCouponID is the id of the coupon a campaign run grants a member.
func CampaignCouponID(runID, memberID string) string { return campaignCouponID(runID, memberID) }

// PlanRun plans a run's deliveries, as the task that starts or works on it
// does.
func PlanRun(ctx context.Context, s *Campaigns, runID string) error { return s.plan(ctx, runID) }
