package community

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// RunProgress is where a campaign run stands. For each channel, Targeted
// equals Sent + Skipped + Failed + Pending: every member the run targeted
// is in exactly one of them.
type RunProgress struct {
	RunID      string                     `json:"run_id"`
	CampaignID string                     `json:"campaign_id"`
	Occurrence string                     `json:"occurrence"`
	Status     string                     `json:"status" enum:"running,paused,cancelled,completed"`
	AsOf       time.Time                  `json:"as_of"`
	StartedAt  time.Time                  `json:"started_at"`
	FinishedAt *time.Time                 `json:"finished_at,omitempty"`
	Chunks     int                        `json:"chunks"`
	Targeted   int                        `json:"targeted"`
	Channels   map[string]ChannelProgress `json:"channels"`
}

// ChannelProgress counts one channel's deliveries. Skipped and Failed are
// broken down by reason (no_consent, no_wecom_contact, limit_reached,
// refused_43101, outcome_unknown, …); Pending includes deliveries being
// sent right now.
type ChannelProgress struct {
	Targeted int            `json:"targeted"`
	Sent     int            `json:"sent"`
	Skipped  int            `json:"skipped"`
	Failed   int            `json:"failed"`
	Pending  int            `json:"pending"`
	Reasons  map[string]int `json:"reasons"`
}

// Done counts the deliveries that reached an end.
func (c ChannelProgress) Done() int { return c.Sent + c.Skipped + c.Failed }

// Progress returns a run's progress.
func (s *Campaigns) Progress(ctx context.Context, runID string) (RunProgress, error) {
	var run campaignRunRow
	if err := s.db.NewSelect().Model(&run).Where("id = ?", runID).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return RunProgress{}, ErrCampaignNotFound
		}
		return RunProgress{}, fmt.Errorf("read campaign run: %w", err)
	}
	ps, err := s.progressOf(ctx, run)
	if err != nil {
		return RunProgress{}, err
	}
	return ps[0], nil
}

// Runs lists a campaign's runs, newest first, with their progress.
func (s *Campaigns) Runs(ctx context.Context, campaignID string) ([]RunProgress, error) {
	var runs []campaignRunRow
	if err := s.db.NewSelect().Model(&runs).Where("campaign_id = ?", campaignID).OrderExpr("started_at DESC, id DESC").Limit(100).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list campaign runs: %w", err)
	}
	return s.progressOf(ctx, runs...)
}

// progressOf is where runs stand, in order, their counts read in one
// statement. A run not yet planned (or being planned) has none to read.
func (s *Campaigns) progressOf(ctx context.Context, runs ...campaignRunRow) ([]RunProgress, error) {
	ids := make([]string, 0, len(runs))
	for _, r := range runs {
		if r.PlannedAt != nil {
			ids = append(ids, r.ID)
		}
	}
	counts, err := readCounts(ctx, s.db, ids...)
	if err != nil {
		return nil, err
	}
	out := make([]RunProgress, 0, len(runs))
	for _, r := range runs {
		out = append(out, progress(r, counts[r.ID]))
	}
	return out, nil
}

// progress is where run stands by its counts (campaigns_counts.go).
func progress(run campaignRunRow, counts []countRow) RunProgress {
	p := RunProgress{RunID: run.ID, CampaignID: run.CampaignID, Occurrence: run.Occurrence, Status: run.Status,
		AsOf: run.AsOf.UTC(), StartedAt: run.StartedAt.UTC(), FinishedAt: utcPtr(run.FinishedAt), Chunks: run.Chunks,
		Channels: map[string]ChannelProgress{}}
	var actions CampaignActions
	_ = json.Unmarshal([]byte(run.Actions), &actions)
	for _, ch := range actions.channels() {
		p.Channels[ch] = ChannelProgress{Reasons: map[string]int{}}
	}
	for _, c := range counts {
		cp, ok := p.Channels[c.Channel]
		if !ok {
			cp = ChannelProgress{Reasons: map[string]int{}}
		}
		n := int(c.N)
		cp.Targeted += n
		switch c.State {
		case DeliverySent:
			cp.Sent += n
		case DeliverySkipped:
			cp.Skipped += n
			cp.Reasons[c.Reason] += n
		case DeliveryFailed:
			cp.Failed += n
			cp.Reasons[c.Reason] += n
		default:
			cp.Pending += n
		}
		p.Channels[c.Channel] = cp
	}
	for _, cp := range p.Channels {
		p.Targeted = max(p.Targeted, cp.Targeted)
	}
	return p
}

// Expected counts the members a run's rule selects at the run's as_of:
// what the run targets once it is planned, the data staying as it is.
func (s *Campaigns) Expected(ctx context.Context, runID string) (int, error) {
	var run campaignRunRow
	if err := s.db.NewSelect().Model(&run).Where("id = ?", runID).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, ErrCampaignNotFound
		}
		return 0, fmt.Errorf("read campaign run: %w", err)
	}
	r, err := ParseRule([]byte(run.Rule))
	if err != nil {
		return 0, fmt.Errorf("rule of run %s: %w", runID, err)
	}
	n, err := membersWhere(s.db, r, run.AsOf, run.ID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count run %s: %w", runID, err)
	}
	return int(n), nil
}
