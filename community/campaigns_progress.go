package community

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"
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
	return s.progress(ctx, run)
}

// Runs lists a campaign's runs, newest first, with their progress.
func (s *Campaigns) Runs(ctx context.Context, campaignID string) ([]RunProgress, error) {
	var runs []campaignRunRow
	if err := s.db.NewSelect().Model(&runs).Where("campaign_id = ?", campaignID).OrderExpr("started_at DESC, id DESC").Limit(100).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list campaign runs: %w", err)
	}
	out := make([]RunProgress, 0, len(runs))
	for _, r := range runs {
		p, err := s.progress(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// progressCache keeps runs' counted progress for CampaignsConfig.ProgressTTL.
type progressCache struct {
	mu sync.Mutex
	m  map[string]countedProgress
}

type countedProgress struct {
	at    time.Time
	stamp string
	p     RunProgress
}

// stamp names the state of a run's row that a cached count is valid for.
func (r campaignRunRow) stamp() string {
	planned := ""
	if r.PlannedAt != nil {
		planned = r.PlannedAt.UTC().Format(time.RFC3339Nano)
	}
	return r.Status + "|" + r.UpdatedAt.UTC().Format(time.RFC3339Nano) + "|" + planned + "|" + strconv.Itoa(r.Chunks)
}

func (c *progressCache) get(run campaignRunRow, ttl time.Duration) (RunProgress, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[run.ID]
	if !ok || e.stamp != run.stamp() || time.Since(e.at) >= ttl {
		return RunProgress{}, false
	}
	return e.p.clone(), true
}

func (c *progressCache) put(run campaignRunRow, p RunProgress, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]countedProgress{}
	}
	if len(c.m) >= 1000 {
		for id, e := range c.m {
			if time.Since(e.at) >= ttl {
				delete(c.m, id)
			}
		}
	}
	c.m[run.ID] = countedProgress{at: time.Now(), stamp: run.stamp(), p: p.clone()}
}

// clone copies p's maps, so callers never share them.
func (p RunProgress) clone() RunProgress {
	ch := make(map[string]ChannelProgress, len(p.Channels))
	for k, c := range p.Channels {
		c.Reasons = maps.Clone(c.Reasons)
		ch[k] = c
	}
	p.Channels = ch
	return p
}

func (s *Campaigns) progress(ctx context.Context, run campaignRunRow) (RunProgress, error) {
	if ttl := s.cfg.ProgressTTL; ttl > 0 {
		if p, ok := s.counted.get(run, ttl); ok {
			return p, nil
		}
		p, err := s.count(ctx, run)
		if err == nil {
			s.counted.put(run, p, ttl)
		}
		return p, err
	}
	return s.count(ctx, run)
}

// count counts a run's deliveries.
func (s *Campaigns) count(ctx context.Context, run campaignRunRow) (RunProgress, error) {
	p := RunProgress{RunID: run.ID, CampaignID: run.CampaignID, Occurrence: run.Occurrence, Status: run.Status,
		AsOf: run.AsOf.UTC(), StartedAt: run.StartedAt.UTC(), FinishedAt: utcPtr(run.FinishedAt), Chunks: run.Chunks,
		Channels: map[string]ChannelProgress{}}
	var actions CampaignActions
	_ = json.Unmarshal([]byte(run.Actions), &actions)
	for _, ch := range actions.channels() {
		p.Channels[ch] = ChannelProgress{Reasons: map[string]int{}}
	}
	if run.PlannedAt == nil {
		// Nothing is planned yet, or the plan is being written: counting
		// would only wade through rows no one else can see yet.
		return p, nil
	}
	var counts []struct {
		Channel string `bun:"channel"`
		State   string `bun:"state"`
		Reason  string `bun:"reason"`
		N       int    `bun:"n"`
	}
	if err := s.db.NewSelect().Model((*deliveryRow)(nil)).ColumnExpr("channel, state, reason, COUNT(*) AS n").
		Where("run_id = ?", run.ID).GroupExpr("channel, state, reason").Scan(ctx, &counts); err != nil {
		return RunProgress{}, fmt.Errorf("count deliveries: %w", err)
	}
	for _, c := range counts {
		cp, ok := p.Channels[c.Channel]
		if !ok {
			cp = ChannelProgress{Reasons: map[string]int{}}
		}
		cp.Targeted += c.N
		switch c.State {
		case DeliverySent:
			cp.Sent += c.N
		case DeliverySkipped:
			cp.Skipped += c.N
			cp.Reasons[c.Reason] += c.N
		case DeliveryFailed:
			cp.Failed += c.N
			cp.Reasons[c.Reason] += c.N
		default:
			cp.Pending += c.N
		}
		p.Channels[c.Channel] = cp
	}
	for _, cp := range p.Channels {
		p.Targeted = max(p.Targeted, cp.Targeted)
	}
	return p, nil
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
