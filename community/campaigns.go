package community

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/outbox"
)

// Campaign errors.
var (
	// ErrCampaignNotFound is returned for an unknown campaign or run.
	ErrCampaignNotFound = errors.New("campaign not found")
	// ErrInvalidCampaign is wrapped by errors about a campaign's fields.
	ErrInvalidCampaign = errors.New("invalid campaign")
	// ErrCampaignState is returned for a pause, resume or cancel the
	// campaign's status does not allow.
	ErrCampaignState = errors.New("the campaign cannot do that in its current status")
)

// Campaign schedules.
const (
	ScheduleNow       = "now"
	ScheduleAt        = "at"
	ScheduleRecurring = "recurring"
)

// Campaign and run statuses.
const (
	CampaignScheduled = "scheduled" // waiting for its (next) run
	CampaignRunning   = "running"   // a run is under way
	CampaignPaused    = "paused"
	CampaignCancelled = "cancelled"
	CampaignCompleted = "completed"
)

// Delivery channels.
const (
	ChannelCoupon    = "coupon"
	ChannelSubscribe = "subscribe"
	ChannelWeCom     = "wecom"
)

// deliveryChannels lists every channel a delivery row can be of (the
// segment rule not_targeted_by looks a member up in each).
var deliveryChannels = []string{ChannelCoupon, ChannelSubscribe, ChannelWeCom}

// CampaignActions is what a campaign does for every member it targets;
// at least one is set. They are carried out in this order, so a message
// can speak of the coupon just granted.
type CampaignActions struct {
	Coupon    *CouponAction    `json:"coupon,omitempty"`
	Subscribe *SubscribeAction `json:"subscribe,omitempty"`
	WeCom     *WeComAction     `json:"wecom,omitempty"`
}

// CouponAction grants one coupon of a template.
type CouponAction struct {
	TemplateID string `json:"template_id"`
}

// SubscribeAction sends a subscribe message, spending one of the member's
// consents for the template; members without one are skipped.
type SubscribeAction struct {
	TemplateID string            `json:"template_id"`
	Page       string            `json:"page,omitempty"`
	Data       map[string]string `json:"data"`
}

// WeComAction sends a WeCom message template (企业群发) to members who are
// customers of the brand's staff, through the staff member who added them
// first; members who are not are skipped.
type WeComAction struct {
	Text        string            `json:"text,omitempty"`
	Attachments []WeComAttachment `json:"attachments,omitempty"`
}

// channels lists the channels of the actions in their order.
func (a CampaignActions) channels() []string {
	var out []string
	if a.Coupon != nil {
		out = append(out, ChannelCoupon)
	}
	if a.Subscribe != nil {
		out = append(out, ChannelSubscribe)
	}
	if a.WeCom != nil {
		out = append(out, ChannelWeCom)
	}
	return out
}

// QuietHours is a daily window, in China time, when a campaign sends
// nothing; Start after End wraps midnight ("22:00" to "08:00").
type QuietHours struct {
	Start string `json:"start" example:"22:00"`
	End   string `json:"end" example:"08:00"`
}

// Campaign targets a segment (or, for a journey, its own rule) and carries
// out its actions for every member, now, at a time, or every period.
type Campaign struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Journey      string          `json:"journey,omitempty"`
	SegmentID    string          `json:"segment_id,omitempty"`
	Rule         json.RawMessage `json:"rule,omitempty"`
	Actions      CampaignActions `json:"actions"`
	Schedule     string          `json:"schedule" enum:"now,at,recurring"`
	RunAt        *time.Time      `json:"run_at,omitempty"`
	EverySeconds int             `json:"every_seconds,omitempty"`
	QuietHours   *QuietHours     `json:"quiet_hours,omitempty"`
	Status       string          `json:"status" enum:"scheduled,running,paused,cancelled,completed"`
	NextRunAt    *time.Time      `json:"next_run_at,omitempty"`
	CreatedBy    string          `json:"created_by"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	// LastRun is the progress of the latest run, if any.
	LastRun *RunProgress `json:"last_run,omitempty"`
}

// CampaignInput is what staff give for a campaign. RunAt is when an "at"
// campaign runs, or when a recurring one first runs (default now).
type CampaignInput struct {
	Name         string          `json:"name"`
	SegmentID    string          `json:"segment_id"`
	Actions      CampaignActions `json:"actions"`
	Schedule     string          `json:"schedule" enum:"now,at,recurring"`
	RunAt        *time.Time      `json:"run_at,omitempty"`
	EverySeconds int             `json:"every_seconds,omitempty"`
	QuietHours   *QuietHours     `json:"quiet_hours,omitempty"`
}

type campaignRow struct {
	bun.BaseModel `bun:"table:campaigns"`

	ID         string     `bun:"id,pk"`
	Name       string     `bun:"name,notnull"`
	Journey    string     `bun:"journey,notnull"`
	SegmentID  string     `bun:"segment_id,notnull"`
	Rule       string     `bun:"rule,notnull"`
	Actions    string     `bun:"actions,notnull"`
	Schedule   string     `bun:"schedule,notnull"`
	RunAt      *time.Time `bun:"run_at"`
	EverySecs  int        `bun:"every_secs,notnull"`
	QuietStart int        `bun:"quiet_start,notnull"`
	QuietEnd   int        `bun:"quiet_end,notnull"`
	Status     string     `bun:"status,notnull"`
	NextRunAt  *time.Time `bun:"next_run_at"`
	CreatedBy  string     `bun:"created_by,notnull"`
	CreatedAt  time.Time  `bun:"created_at,notnull"`
	UpdatedAt  time.Time  `bun:"updated_at,notnull"`
}

func (r campaignRow) campaign() Campaign {
	c := Campaign{ID: r.ID, Name: r.Name, Journey: r.Journey, SegmentID: r.SegmentID, Schedule: r.Schedule,
		RunAt: utcPtr(r.RunAt), EverySeconds: r.EverySecs, Status: r.Status, NextRunAt: utcPtr(r.NextRunAt),
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.Rule != "" {
		c.Rule = json.RawMessage(r.Rule)
	}
	_ = json.Unmarshal([]byte(r.Actions), &c.Actions)
	if r.QuietStart >= 0 && r.QuietEnd >= 0 {
		c.QuietHours = &QuietHours{Start: clock(r.QuietStart), End: clock(r.QuietEnd)}
	}
	return c
}

// quiet reports whether t falls in the campaign's quiet hours, and when
// they end.
func (r campaignRow) quiet(t time.Time) (bool, time.Time) {
	if r.QuietStart < 0 || r.QuietEnd < 0 || r.QuietStart == r.QuietEnd {
		return false, time.Time{}
	}
	local := t.In(cnZone)
	minute := local.Hour()*60 + local.Minute()
	in := false
	if r.QuietStart < r.QuietEnd {
		in = minute >= r.QuietStart && minute < r.QuietEnd
	} else {
		in = minute >= r.QuietStart || minute < r.QuietEnd
	}
	if !in {
		return false, time.Time{}
	}
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, cnZone)
	end := day.Add(time.Duration(r.QuietEnd) * time.Minute)
	if !end.After(local) {
		end = end.AddDate(0, 0, 1)
	}
	return true, end.UTC()
}

func clock(minute int) string { return fmt.Sprintf("%02d:%02d", minute/60, minute%60) }

func parseClock(s string) (int, bool) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// SubscribeLedger sends subscribe messages against the consent ledger
// (Consents implements it), a batch at a time: Reserve claims a batch's
// consents (one per message, idempotent by key), Deliver sends one
// reserved message and records WeChat's answer, and Release gives back
// the consents of messages a stopped batch never sent.
type SubscribeLedger interface {
	Reserve(ctx context.Context, reqs []SendRequest) ([]Reservation, error)
	Deliver(ctx context.Context, req SendRequest) (SendStatus, error)
	Release(ctx context.Context, reqs []SendRequest) error
}

// CampaignsConfig configures Campaigns.
type CampaignsConfig struct {
	DB       *bun.DB
	Redis    redis.UniversalClient
	Segments *Segments
	Coupons  *Coupons
	// Ledger sends subscribe messages; nil refuses campaigns that send them.
	Ledger SubscribeLedger
	// WeCom sends WeCom message templates; nil refuses campaigns that send
	// them.
	WeCom WeComMassSender
	// SubscribeRate and WeComRate pace the sends across every worker
	// (DefaultSubscribeRate and DefaultWeComRate when zero).
	SubscribeRate Rate
	WeComRate     Rate
	// ChunkSize is how many members a chunk sends to (500); BatchSize how
	// many deliveries are reserved and settled per database transaction
	// (100).
	ChunkSize int
	BatchSize int
	// Senders is how many subscribe messages a worker sends at once (8).
	Senders int
	// Budget is how long one task works on a run before it hands the rest
	// to a new task (45s); LeaseTTL how long a run's lease lasts without
	// renewal (1m).
	Budget   time.Duration
	LeaseTTL time.Duration
	// Wake, when set, is called after a commit that asks the worker for
	// work due now (the outbox relay's Poke), so the task is relayed at
	// once rather than at the relay's next pass.
	Wake func()
	// Now is the clock; time.Now by default.
	Now    func() time.Time
	Logger *slog.Logger
}

// Campaigns runs campaigns: targeting, planning every delivery, fan-out in
// chunks, pacing, progress, pause, resume and cancel, and the built-in
// journeys.
type Campaigns struct {
	cfg   CampaignsConfig
	db    *bun.DB
	seg   *Segments
	cpn   *Coupons
	pace  *pacer
	now   func() time.Time
	log   *slog.Logger
	hooks campaignHooks
}

// campaignHooks let tests stop a run at a chosen point, as a killed worker
// would.
type campaignHooks struct {
	afterSend func(channel, memberID string) error
}

// NewCampaigns returns the service.
func NewCampaigns(cfg CampaignsConfig) (*Campaigns, error) {
	if cfg.DB == nil || cfg.Redis == nil || cfg.Segments == nil || cfg.Coupons == nil {
		return nil, errors.New("community: CampaignsConfig needs DB, Redis, Segments and Coupons")
	}
	if cfg.SubscribeRate.PerSecond == 0 {
		cfg.SubscribeRate = DefaultSubscribeRate()
	}
	if cfg.WeComRate.PerSecond == 0 {
		cfg.WeComRate = DefaultWeComRate()
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = 500
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	if cfg.Senders <= 0 {
		cfg.Senders = 8
	}
	if cfg.Budget <= 0 {
		cfg.Budget = 45 * time.Second
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	return &Campaigns{cfg: cfg, db: cfg.DB, seg: cfg.Segments, cpn: cfg.Coupons, pace: newPacer(cfg.Redis),
		now: func() time.Time { return now().UTC() }, log: cfg.Logger}, nil
}

// Task types the campaign service asks the worker to run through the
// outbox.
const (
	TaskStartCampaignRun = "community:start-campaign-run"
	TaskRunCampaign      = "community:run-campaign"
)

// StartRunTask is the payload of TaskStartCampaignRun: the occurrence of a
// campaign due to start.
type StartRunTask struct {
	CampaignID string `json:"campaign_id"`
	Occurrence string `json:"occurrence"`
}

// RunTask is the payload of TaskRunCampaign.
type RunTask struct {
	RunID string `json:"run_id"`
}

// minEvery is the shortest period of a recurring campaign.
const minEvery = 5 * time.Minute

// checkActions validates a campaign's actions against what is connected.
func (s *Campaigns) checkActions(ctx context.Context, a CampaignActions) error {
	if len(a.channels()) == 0 {
		return fmt.Errorf("%w: give at least one action: coupon, subscribe or wecom", ErrInvalidCampaign)
	}
	if a.Coupon != nil {
		if a.Coupon.TemplateID == "" {
			return fmt.Errorf("%w: actions.coupon.template_id is required", ErrInvalidCampaign)
		}
		if _, err := s.cpn.Template(ctx, a.Coupon.TemplateID); err != nil {
			return fmt.Errorf("%w: actions.coupon.template_id: %w", ErrInvalidCampaign, err)
		}
	}
	if a.Subscribe != nil {
		switch {
		case s.cfg.Ledger == nil:
			return fmt.Errorf("%w: subscribe messages are not connected", ErrInvalidCampaign)
		case a.Subscribe.TemplateID == "":
			return fmt.Errorf("%w: actions.subscribe.template_id is required", ErrInvalidCampaign)
		case len(a.Subscribe.Data) == 0:
			return fmt.Errorf("%w: actions.subscribe.data must fill the template's keywords", ErrInvalidCampaign)
		}
	}
	if a.WeCom != nil {
		switch {
		case s.cfg.WeCom == nil:
			return fmt.Errorf("%w: WeCom is not connected", ErrInvalidCampaign)
		case strings.TrimSpace(a.WeCom.Text) == "" && len(a.WeCom.Attachments) == 0:
			return fmt.Errorf("%w: actions.wecom needs text or attachments", ErrInvalidCampaign)
		case len(a.WeCom.Text) > 4000:
			return fmt.Errorf("%w: actions.wecom.text is longer than 4000 bytes", ErrInvalidCampaign)
		case len(a.WeCom.Attachments) > 9:
			return fmt.Errorf("%w: actions.wecom takes at most 9 attachments", ErrInvalidCampaign)
		}
	}
	return nil
}

// row builds a campaign row from input, checking it.
func (s *Campaigns) row(ctx context.Context, staffID string, in CampaignInput) (campaignRow, error) {
	now := s.now()
	bad := func(msg string) (campaignRow, error) {
		return campaignRow{}, fmt.Errorf("%w: %s", ErrInvalidCampaign, msg)
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len([]rune(in.Name)) > 60 {
		return bad("name must be 1 to 60 characters")
	}
	if err := s.checkActions(ctx, in.Actions); err != nil {
		return campaignRow{}, err
	}
	row := campaignRow{ID: newID(), Name: in.Name, SegmentID: in.SegmentID, Schedule: in.Schedule, QuietStart: -1, QuietEnd: -1,
		Status: CampaignScheduled, CreatedBy: staffID, CreatedAt: now, UpdatedAt: now}
	next := now
	switch in.Schedule {
	case ScheduleNow:
		if in.RunAt != nil || in.EverySeconds != 0 {
			return bad("a campaign that runs now takes no run_at or every_seconds")
		}
	case ScheduleAt:
		if in.RunAt == nil || in.EverySeconds != 0 {
			return bad("a campaign that runs at a time needs run_at and no every_seconds")
		}
		next = in.RunAt.UTC()
		if next.Before(now) {
			return bad("run_at is in the past")
		}
	case ScheduleRecurring:
		if time.Duration(in.EverySeconds)*time.Second < minEvery {
			return bad(fmt.Sprintf("a recurring campaign runs every %d seconds at least", int(minEvery.Seconds())))
		}
		row.EverySecs = in.EverySeconds
		if in.RunAt != nil {
			next = in.RunAt.UTC()
		}
	default:
		return bad("schedule must be now, at or recurring")
	}
	row.RunAt = &next
	row.NextRunAt = &next
	if q := in.QuietHours; q != nil {
		start, ok1 := parseClock(q.Start)
		end, ok2 := parseClock(q.End)
		if !ok1 || !ok2 || start == end {
			return bad("quiet_hours needs start and end as HH:MM, not equal")
		}
		row.QuietStart, row.QuietEnd = start, end
	}
	actions, _ := json.Marshal(in.Actions)
	row.Actions = string(actions)
	return row, nil
}

// CreateCampaign stores a campaign and schedules its first run.
func (s *Campaigns) CreateCampaign(ctx context.Context, staffID string, in CampaignInput) (Campaign, error) {
	if in.SegmentID == "" {
		return Campaign{}, fmt.Errorf("%w: segment_id is required", ErrInvalidCampaign)
	}
	if _, err := s.seg.Segment(ctx, in.SegmentID); err != nil {
		return Campaign{}, fmt.Errorf("%w: segment_id: %w", ErrInvalidCampaign, err)
	}
	row, err := s.row(ctx, staffID, in)
	if err != nil {
		return Campaign{}, err
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return fmt.Errorf("insert campaign: %w", err)
		}
		if err := recordStaffAction(ctx, tx, staffID, "campaign.create", "campaign", row.ID,
			map[string]any{"name": row.Name, "segment_id": row.SegmentID, "schedule": row.Schedule}); err != nil {
			return err
		}
		return s.scheduleStart(ctx, tx, row)
	})
	if err != nil {
		return Campaign{}, err
	}
	if !row.NextRunAt.After(s.now()) {
		s.cfg.Wake()
	}
	return s.Campaign(ctx, row.ID)
}

// occurrence names the run of a campaign due at t.
func occurrence(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// scheduleStart asks, through the outbox, for the campaign's next run to
// start when it is due.
func (s *Campaigns) scheduleStart(ctx context.Context, tx bun.IDB, row campaignRow) error {
	if row.NextRunAt == nil {
		return nil
	}
	occ := occurrence(*row.NextRunAt)
	return outbox.Add(ctx, tx, outbox.Message{
		ID:        "campaign-start:" + row.ID + ":" + occ,
		TaskType:  TaskStartCampaignRun,
		Payload:   StartRunTask{CampaignID: row.ID, Occurrence: occ},
		ProcessAt: *row.NextRunAt,
	})
}

// Campaign returns a campaign with its latest run's progress.
func (s *Campaigns) Campaign(ctx context.Context, id string) (Campaign, error) {
	var row campaignRow
	if err := s.db.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Campaign{}, ErrCampaignNotFound
		}
		return Campaign{}, fmt.Errorf("read campaign: %w", err)
	}
	c := row.campaign()
	var run campaignRunRow
	err := s.db.NewSelect().Model(&run).Where("campaign_id = ?", id).OrderExpr("started_at DESC, id DESC").Limit(1).Scan(ctx)
	switch {
	case err == nil:
		ps, err := s.progressOf(ctx, run)
		if err != nil {
			return Campaign{}, err
		}
		c.LastRun = &ps[0]
	case !errors.Is(err, sql.ErrNoRows):
		return Campaign{}, fmt.Errorf("read latest run: %w", err)
	}
	return c, nil
}

// Campaigns lists campaigns, newest first (journeys included).
func (s *Campaigns) Campaigns(ctx context.Context) ([]Campaign, error) {
	var rows []campaignRow
	if err := s.db.NewSelect().Model(&rows).OrderExpr("created_at DESC, id DESC").Limit(500).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	out := make([]Campaign, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.campaign())
	}
	return out, nil
}

// lockCampaign reads a campaign under its row lock.
func lockCampaign(ctx context.Context, tx bun.IDB, id string) (campaignRow, error) {
	var row campaignRow
	if err := database.ForUpdate(tx.NewSelect().Model(&row).Where("id = ?", id)).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return row, ErrCampaignNotFound
		}
		return row, fmt.Errorf("read campaign: %w", err)
	}
	return row, nil
}

// Pause stops a campaign: its running run stops between batches, and no
// new run starts until it is resumed.
func (s *Campaigns) Pause(ctx context.Context, staffID, id string) (Campaign, error) {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row, err := lockCampaign(ctx, tx, id)
		if err != nil {
			return err
		}
		if row.Status != CampaignScheduled && row.Status != CampaignRunning {
			return fmt.Errorf("%w: it is %s", ErrCampaignState, row.Status)
		}
		now := s.now()
		if _, err := tx.NewUpdate().Model((*campaignRow)(nil)).Set("status = ?", CampaignPaused).Set("updated_at = ?", now).
			Where("id = ?", id).Exec(ctx); err != nil {
			return err
		}
		if err := recordStaffAction(ctx, tx, staffID, "campaign.pause", "campaign", id, nil); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model((*campaignRunRow)(nil)).Set("status = ?", CampaignPaused).Set("updated_at = ?", now).
			Where("campaign_id = ? AND status = ?", id, CampaignRunning).Exec(ctx)
		return err
	})
	if err != nil {
		return Campaign{}, err
	}
	return s.Campaign(ctx, id)
}

// Resume continues a paused campaign: its paused run carries on where it
// stopped, and a run that fell due while paused starts now.
func (s *Campaigns) Resume(ctx context.Context, staffID, id string) (Campaign, error) {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row, err := lockCampaign(ctx, tx, id)
		if err != nil {
			return err
		}
		if row.Status != CampaignPaused {
			return fmt.Errorf("%w: it is %s", ErrCampaignState, row.Status)
		}
		now := s.now()
		var runs []campaignRunRow
		if err := tx.NewSelect().Model(&runs).Where("campaign_id = ? AND status = ?", id, CampaignPaused).Scan(ctx); err != nil {
			return fmt.Errorf("read paused runs: %w", err)
		}
		status := CampaignScheduled
		for _, run := range runs {
			status = CampaignRunning
			if _, err := tx.NewUpdate().Model((*campaignRunRow)(nil)).Set("status = ?", CampaignRunning).Set("updated_at = ?", now).
				Where("id = ?", run.ID).Exec(ctx); err != nil {
				return err
			}
			if err := s.continueRun(ctx, tx, run.ID, time.Time{}); err != nil {
				return err
			}
		}
		if row.NextRunAt != nil && row.NextRunAt.Before(now) {
			// The start that fell due while paused was skipped: start now.
			t := now
			row.NextRunAt = &t
			if err := s.scheduleStart(ctx, tx, row); err != nil {
				return err
			}
		}
		if _, err := tx.NewUpdate().Model((*campaignRow)(nil)).Set("status = ?", status).Set("next_run_at = ?", row.NextRunAt).
			Set("updated_at = ?", now).Where("id = ?", id).Exec(ctx); err != nil {
			return err
		}
		return recordStaffAction(ctx, tx, staffID, "campaign.resume", "campaign", id, nil)
	})
	if err != nil {
		return Campaign{}, err
	}
	s.cfg.Wake()
	return s.Campaign(ctx, id)
}

// Cancel ends a campaign for good: its run stops, the deliveries it had
// not made are counted as skipped ("cancelled"), and no run starts again.
func (s *Campaigns) Cancel(ctx context.Context, staffID, id string) (Campaign, error) {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row, err := lockCampaign(ctx, tx, id)
		if err != nil {
			return err
		}
		if row.Status == CampaignCancelled || row.Status == CampaignCompleted {
			return fmt.Errorf("%w: it is %s", ErrCampaignState, row.Status)
		}
		now := s.now()
		if _, err := tx.NewUpdate().Model((*campaignRow)(nil)).Set("status = ?", CampaignCancelled).Set("next_run_at = NULL").
			Set("updated_at = ?", now).Where("id = ?", id).Exec(ctx); err != nil {
			return err
		}
		if err := recordStaffAction(ctx, tx, staffID, "campaign.cancel", "campaign", id, nil); err != nil {
			return err
		}
		return s.cancelRuns(ctx, tx, id, now)
	})
	if err != nil {
		return Campaign{}, err
	}
	return s.Campaign(ctx, id)
}

// cancelRuns ends a campaign's running and paused runs; the deliveries
// they had not made are counted as skipped ("cancelled").
func (s *Campaigns) cancelRuns(ctx context.Context, tx bun.IDB, campaignID string, now time.Time) error {
	var runs []campaignRunRow
	if err := tx.NewSelect().Model(&runs).Column("id", "actions").
		Where("campaign_id = ? AND status IN (?)", campaignID, bun.In([]string{CampaignRunning, CampaignPaused})).Scan(ctx); err != nil {
		return err
	}
	for _, run := range runs {
		if _, err := tx.NewUpdate().Model((*campaignRunRow)(nil)).Set("status = ?", CampaignCancelled).Set("finished_at = ?", now).
			Set("updated_at = ?", now).Where("id = ?", run.ID).Exec(ctx); err != nil {
			return err
		}
		var actions CampaignActions
		if err := json.Unmarshal([]byte(run.Actions), &actions); err != nil {
			return fmt.Errorf("actions of run %s: %w", run.ID, err)
		}
		d := countDeltas{}
		for _, ch := range actions.channels() {
			res, err := tx.NewUpdate().Model((*deliveryRow)(nil)).Set("state = ?", DeliverySkipped).Set("reason = ?", "cancelled").
				Set("updated_at = ?", now).Where("run_id = ? AND channel = ? AND state = ?", run.ID, ch, DeliveryPending).Exec(ctx)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			d.move(bucket(ch, DeliveryPending, ""), bucket(ch, DeliverySkipped, "cancelled"), n)
		}
		if err := addCounts(ctx, tx, run.ID, d); err != nil {
			return err
		}
	}
	return nil
}

// RunNow starts a run of a campaign at once, outside its schedule (the
// command line's `siyu campaign run`). It returns the run.
func (s *Campaigns) RunNow(ctx context.Context, staffID, id string) (RunProgress, error) {
	var row campaignRow
	if err := s.db.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return RunProgress{}, ErrCampaignNotFound
		}
		return RunProgress{}, fmt.Errorf("read campaign: %w", err)
	}
	if row.Status == CampaignCancelled || row.Status == CampaignPaused {
		return RunProgress{}, fmt.Errorf("%w: it is %s", ErrCampaignState, row.Status)
	}
	runID, err := s.startRun(ctx, id, "manual:"+s.now().Format(time.RFC3339Nano), false, staffID)
	if err != nil {
		return RunProgress{}, err
	}
	s.cfg.Wake()
	return s.Progress(ctx, runID)
}
