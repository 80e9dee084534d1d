package community

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// The built-in journeys. Each is a recurring campaign Siyu keeps from the
// journey's settings: its own rule, its actions and its period.
const (
	// JourneyWinBack brings back dormant members: those who paid before
	// but not in DormantDays, at most once per CooldownDays.
	JourneyWinBack = "win_back"
	// JourneyGroupWelcome welcomes members who joined a customer group in
	// the last WithinDays, once each.
	JourneyGroupWelcome = "group_welcome"
)

// ErrUnknownJourney is returned for a journey kind Siyu does not have.
var ErrUnknownJourney = errors.New("unknown journey; the journeys are win_back and group_welcome")

// JourneyConfig is a journey's settings. Zero fields take the defaults.
type JourneyConfig struct {
	// DormantDays (win_back): no payment in this many days (60).
	DormantDays int `json:"dormant_days,omitempty"`
	// CooldownDays (win_back): a member is won back at most once in this
	// many days (30).
	CooldownDays int `json:"cooldown_days,omitempty"`
	// Rule (win_back), when set, replaces "paid before and not in
	// DormantDays" with any segment rule; the cooldown still applies.
	Rule json.RawMessage `json:"rule,omitempty"`
	// ChatID (group_welcome): only this group (any group when empty).
	ChatID string `json:"chat_id,omitempty"`
	// WithinDays (group_welcome): joined within this many days (1).
	WithinDays int `json:"within_days,omitempty"`
	// EveryMinutes is how often the journey runs (win_back 1440,
	// group_welcome 10).
	EveryMinutes int             `json:"every_minutes,omitempty"`
	Actions      CampaignActions `json:"actions"`
	QuietHours   *QuietHours     `json:"quiet_hours,omitempty"`
}

func (c JourneyConfig) withDefaults(kind string) JourneyConfig {
	switch kind {
	case JourneyWinBack:
		if c.DormantDays <= 0 {
			c.DormantDays = 60
		}
		if c.CooldownDays <= 0 {
			c.CooldownDays = 30
		}
		if c.EveryMinutes <= 0 {
			c.EveryMinutes = 1440
		}
	case JourneyGroupWelcome:
		if c.WithinDays <= 0 {
			c.WithinDays = 1
		}
		if c.EveryMinutes <= 0 {
			c.EveryMinutes = 10
		}
	}
	return c
}

// Journey is a built-in journey with its settings and latest run.
type Journey struct {
	Kind       string        `json:"kind" enum:"win_back,group_welcome"`
	Enabled    bool          `json:"enabled"`
	Config     JourneyConfig `json:"config"`
	CampaignID string        `json:"campaign_id,omitempty"`
	UpdatedBy  string        `json:"updated_by,omitempty"`
	UpdatedAt  *time.Time    `json:"updated_at,omitempty"`
	LastRun    *RunProgress  `json:"last_run,omitempty"`
}

type journeyRow struct {
	bun.BaseModel `bun:"table:journeys"`

	Kind       string    `bun:"kind,pk"`
	Enabled    bool      `bun:"enabled,notnull"`
	Config     string    `bun:"config,notnull"`
	CampaignID string    `bun:"campaign_id,notnull"`
	UpdatedBy  string    `bun:"updated_by,notnull"`
	UpdatedAt  time.Time `bun:"updated_at,notnull"`
}

// journeyRule is the rule of a journey whose campaign is campaignID.
func journeyRule(kind string, c JourneyConfig, campaignID string) (json.RawMessage, error) {
	var base any
	var rest []any
	switch kind {
	case JourneyWinBack:
		if len(c.Rule) > 0 && string(c.Rule) != "null" {
			base = json.RawMessage(c.Rule)
		} else {
			base = map[string]any{"and": []any{
				map[string]any{"paid_in": map[string]any{}},
				map[string]any{"not_paid_in": map[string]any{"days": c.DormantDays}},
			}}
		}
		rest = append(rest, map[string]any{"not_targeted_by": map[string]any{"campaign_id": campaignID, "days": c.CooldownDays}})
	case JourneyGroupWelcome:
		joined := map[string]any{"within_days": c.WithinDays}
		if c.ChatID != "" {
			joined["chat_id"] = c.ChatID
		}
		base = map[string]any{"joined_group": joined}
		rest = append(rest, map[string]any{"not_targeted_by": map[string]any{"campaign_id": campaignID}})
	default:
		return nil, ErrUnknownJourney
	}
	return json.Marshal(map[string]any{"and": append([]any{base}, rest...)})
}

// Journeys lists the built-in journeys with their settings (defaults for
// one never set).
func (s *Campaigns) Journeys(ctx context.Context) ([]Journey, error) {
	var out []Journey
	for _, kind := range []string{JourneyWinBack, JourneyGroupWelcome} {
		j, err := s.Journey(ctx, kind)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// Journey returns one journey.
func (s *Campaigns) Journey(ctx context.Context, kind string) (Journey, error) {
	if kind != JourneyWinBack && kind != JourneyGroupWelcome {
		return Journey{}, ErrUnknownJourney
	}
	var row journeyRow
	err := s.db.NewSelect().Model(&row).Where("kind = ?", kind).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return Journey{Kind: kind, Config: JourneyConfig{}.withDefaults(kind)}, nil
	}
	if err != nil {
		return Journey{}, fmt.Errorf("read journey: %w", err)
	}
	j := Journey{Kind: kind, Enabled: row.Enabled, CampaignID: row.CampaignID, UpdatedBy: row.UpdatedBy}
	t := row.UpdatedAt.UTC()
	j.UpdatedAt = &t
	_ = json.Unmarshal([]byte(row.Config), &j.Config)
	if row.CampaignID != "" {
		c, err := s.Campaign(ctx, row.CampaignID)
		if err != nil {
			return Journey{}, err
		}
		j.LastRun = c.LastRun
	}
	return j, nil
}

// SetJourney changes a journey's settings and switches it on or off. It
// keeps the journey's recurring campaign in step: on, it runs every
// EveryMinutes from now; off, it is paused.
func (s *Campaigns) SetJourney(ctx context.Context, staffID, kind string, enabled bool, cfg JourneyConfig) (Journey, error) {
	if kind != JourneyWinBack && kind != JourneyGroupWelcome {
		return Journey{}, ErrUnknownJourney
	}
	cfg = cfg.withDefaults(kind)
	if time.Duration(cfg.EveryMinutes)*time.Minute < minEvery {
		return Journey{}, fmt.Errorf("%w: every_minutes must be at least %d", ErrInvalidCampaign, int(minEvery.Minutes()))
	}
	if kind == JourneyWinBack && len(cfg.Rule) > 0 && string(cfg.Rule) != "null" {
		if _, err := s.seg.CheckRule(ctx, cfg.Rule); err != nil {
			return Journey{}, err
		}
	}
	if kind == JourneyGroupWelcome && cfg.ChatID != "" {
		if n, err := s.db.NewSelect().Table("wecom_groups").Where("chat_id = ?", cfg.ChatID).Count(ctx); err != nil || n == 0 {
			return Journey{}, &RuleError{Path: "joined_group.chat_id", Problem: fmt.Sprintf("no WeCom group has id %q", cfg.ChatID)}
		}
	}
	if err := s.checkActions(ctx, cfg.Actions); err != nil {
		return Journey{}, err
	}
	in := CampaignInput{Name: journeyName(kind), Actions: cfg.Actions, Schedule: ScheduleRecurring,
		EverySeconds: cfg.EveryMinutes * 60, QuietHours: cfg.QuietHours}
	fresh, err := s.row(ctx, staffID, in)
	if err != nil {
		return Journey{}, err
	}
	config, _ := json.Marshal(cfg)
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var row journeyRow
		err := database.ForUpdate(tx.NewSelect().Model(&row).Where("kind = ?", kind)).Scan(ctx)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			row = journeyRow{Kind: kind}
		case err != nil:
			return fmt.Errorf("read journey: %w", err)
		}
		now := s.now()
		camp := fresh
		camp.Journey = kind
		if row.CampaignID != "" {
			cur, err := lockCampaign(ctx, tx, row.CampaignID)
			if err != nil {
				return err
			}
			camp.ID, camp.CreatedBy, camp.CreatedAt, camp.NextRunAt, camp.RunAt = cur.ID, cur.CreatedBy, cur.CreatedAt, cur.NextRunAt, cur.RunAt
		}
		rule, err := journeyRule(kind, cfg, camp.ID)
		if err != nil {
			return err
		}
		camp.Rule = string(rule)
		wasOn := row.Enabled && row.CampaignID != ""
		switch {
		case enabled && !wasOn:
			t := now
			camp.Status, camp.NextRunAt, camp.RunAt = CampaignScheduled, &t, &t
		case enabled:
			camp.Status = CampaignScheduled
		default:
			camp.Status = CampaignPaused
		}
		if row.CampaignID == "" {
			if _, err := tx.NewInsert().Model(&camp).Exec(ctx); err != nil {
				return fmt.Errorf("insert journey campaign: %w", err)
			}
		} else {
			if _, err := tx.NewUpdate().Model(&camp).Column("name", "rule", "actions", "schedule", "every_secs", "quiet_start",
				"quiet_end", "status", "next_run_at", "run_at", "updated_at").WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("update journey campaign: %w", err)
			}
			if !enabled {
				// A journey switched off drops its run under way; the next
				// run after switching on targets afresh.
				if err := s.cancelRuns(ctx, tx, camp.ID, now); err != nil {
					return err
				}
			}
		}
		if enabled && !wasOn {
			if err := s.scheduleStart(ctx, tx, camp); err != nil {
				return err
			}
		}
		row.Enabled, row.Config, row.CampaignID, row.UpdatedBy, row.UpdatedAt = enabled, string(config), camp.ID, staffID, now
		if err := recordStaffAction(ctx, tx, staffID, "journey.set", "journey", kind, map[string]any{"enabled": enabled, "config": cfg}); err != nil {
			return err
		}
		_, err = tx.NewInsert().Model(&row).On("CONFLICT (kind) DO UPDATE").
			Set("enabled = EXCLUDED.enabled").Set("config = EXCLUDED.config").Set("campaign_id = EXCLUDED.campaign_id").
			Set("updated_by = EXCLUDED.updated_by").Set("updated_at = EXCLUDED.updated_at").Exec(ctx)
		return err
	})
	if err != nil {
		return Journey{}, err
	}
	return s.Journey(ctx, kind)
}

func journeyName(kind string) string {
	if kind == JourneyWinBack {
		return "Journey: win-back of dormant members"
	}
	return "Journey: welcome to new group members"
}
