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
	"github.com/siyu-live/siyu/outbox"
)

// How a run fans out. A run walks the members its rule selects in id
// order, a chunk (ChunkSize members) at a time, from the member id after
// which the last finished chunk ended (next_after). For each chunk it
// first writes one delivery row per (channel, member) in state pending,
// then carries out each channel for the rows of the chunk's id range, and
// only then moves next_after on. A worker that dies mid-chunk leaves
// next_after where it was: the next task plans the same chunk again (the
// rows exist already) and finds every row in the state its last write
// left, so each channel resolves a half-done delivery its own way:
//
//   - coupon: exactly once. The coupon (with an id derived from the run and
//     member) is granted in the same transaction that marks the row sent.
//   - subscribe: exactly once, except one narrow window. The consent ledger
//     (Consents.Send) is keyed by run and member: a key it settled answers
//     its outcome without sending, so a worker killed between the ledger
//     and the row's mark just reads the outcome again. Only a worker killed
//     between WeChat accepting and the ledger recording it leaves a pending
//     key, which the ledger sends again with the consent it reserved, and
//     WeChat then refuses the copy (43101) unless the member had granted
//     more than one consent: at least once in that window, never a second
//     consent spent.
//   - wecom: at most once. add_msg_template has no idempotency key, so rows
//     are marked sending before the call; a row found still sending after
//     a restart is counted failed ("outcome_unknown") and not sent again.
//
// One task works on a run at a time, holding its lease; it works for at
// most Budget and then hands on to a new task through the outbox, so a
// long campaign never holds a worker for long. Pause, cancel and quiet
// hours are looked at between batches.

// Delivery states.
const (
	DeliveryPending = "pending"
	DeliverySending = "sending"
	DeliverySent    = "sent"
	DeliverySkipped = "skipped"
	DeliveryFailed  = "failed"
)

// maxAttempts is how often a delivery is tried when it fails for a reason
// that may pass (WeChat unreachable) before it is counted failed.
const maxAttempts = 5

type campaignRunRow struct {
	bun.BaseModel `bun:"table:campaign_runs"`

	ID         string     `bun:"id,pk"`
	CampaignID string     `bun:"campaign_id,notnull"`
	Occurrence string     `bun:"occurrence,notnull"`
	Rule       string     `bun:"rule,notnull"`
	Actions    string     `bun:"actions,notnull"`
	AsOf       time.Time  `bun:"as_of,notnull"`
	Status     string     `bun:"status,notnull"`
	NextAfter  string     `bun:"next_after,notnull"`
	Chunks     int        `bun:"chunks,notnull"`
	LeaseOwner string     `bun:"lease_owner,notnull"`
	LeaseUntil *time.Time `bun:"lease_until"`
	StartedAt  time.Time  `bun:"started_at,notnull"`
	FinishedAt *time.Time `bun:"finished_at"`
	UpdatedAt  time.Time  `bun:"updated_at,notnull"`
}

type deliveryRow struct {
	bun.BaseModel `bun:"table:campaign_deliveries"`

	RunID      string    `bun:"run_id,pk"`
	Channel    string    `bun:"channel,pk"`
	MemberID   string    `bun:"member_id,pk"`
	CampaignID string    `bun:"campaign_id,notnull"`
	State      string    `bun:"state,notnull"`
	Reason     string    `bun:"reason,notnull"`
	Detail     string    `bun:"detail,notnull"`
	Attempts   int       `bun:"attempts,notnull"`
	UpdatedAt  time.Time `bun:"updated_at,notnull"`
}

// StartRun starts the run of a campaign due at occurrence (the task the
// campaign's schedule asked for). A stale occurrence (the campaign was
// changed, paused or cancelled since) starts nothing.
func (s *Campaigns) StartRun(ctx context.Context, campaignID, occ string) error {
	_, err := s.startRun(ctx, campaignID, occ, true, "")
	if errors.Is(err, errStaleStart) {
		return nil
	}
	return err
}

// errStaleStart is a start for an occurrence the campaign no longer has
// (changed, paused or cancelled since it was asked for).
var errStaleStart = errors.New("stale campaign start")

// startRun creates the run of an occurrence (once) and asks for it to be
// carried out. A run started by hand (not scheduled) is audited as staffID's.
func (s *Campaigns) startRun(ctx context.Context, campaignID, occ string, scheduled bool, staffID string) (string, error) {
	var runID string
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row, err := lockCampaign(ctx, tx, campaignID)
		if err != nil {
			return err
		}
		now := s.now()
		if scheduled {
			if row.NextRunAt == nil || occurrence(*row.NextRunAt) != occ ||
				(row.Status != CampaignScheduled && row.Status != CampaignRunning) {
				return errStaleStart
			}
		}
		rule := row.Rule
		if rule == "" {
			var seg segmentRow
			if err := tx.NewSelect().Model(&seg).Where("id = ?", row.SegmentID).Scan(ctx); err != nil {
				return fmt.Errorf("segment %s of campaign %s: %w", row.SegmentID, campaignID, err)
			}
			rule = seg.Rule
		}
		run := campaignRunRow{ID: newID(), CampaignID: campaignID, Occurrence: occ, Rule: rule, Actions: row.Actions,
			AsOf: now, Status: CampaignRunning, StartedAt: now, UpdatedAt: now}
		res, err := tx.NewInsert().Model(&run).On("CONFLICT (campaign_id, occurrence) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("insert campaign run: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// Started already (a repeated task).
			return tx.NewSelect().Model((*campaignRunRow)(nil)).Column("id").
				Where("campaign_id = ? AND occurrence = ?", campaignID, occ).Scan(ctx, &runID)
		}
		runID = run.ID
		status := CampaignRunning
		var next *time.Time
		if row.Schedule == ScheduleRecurring {
			status = CampaignScheduled
			next = row.NextRunAt
			if scheduled || next == nil {
				every := time.Duration(row.EverySecs) * time.Second
				t := now
				if row.NextRunAt != nil {
					t = *row.NextRunAt
				}
				for !t.After(now) {
					t = t.Add(every)
				}
				next = &t
			}
		}
		if _, err := tx.NewUpdate().Model((*campaignRow)(nil)).Set("status = ?", status).Set("next_run_at = ?", next).
			Set("updated_at = ?", now).Where("id = ?", campaignID).Exec(ctx); err != nil {
			return fmt.Errorf("update campaign: %w", err)
		}
		if row.Schedule == ScheduleRecurring && (scheduled || row.NextRunAt == nil) {
			row.NextRunAt = next
			if err := s.scheduleStart(ctx, tx, row); err != nil {
				return err
			}
		}
		if !scheduled {
			if err := recordStaffAction(ctx, tx, staffID, "campaign.run", "campaign", campaignID, map[string]any{"run_id": run.ID}); err != nil {
				return err
			}
		}
		return s.continueRun(ctx, tx, run.ID, time.Time{})
	})
	return runID, err
}

// continueRun asks, through the outbox, for a task to work on a run at at
// (zero: now).
func (s *Campaigns) continueRun(ctx context.Context, tx bun.IDB, runID string, at time.Time) error {
	return outbox.Add(ctx, tx, outbox.Message{
		ID:        "campaign-run:" + runID + ":" + newID(),
		TaskType:  TaskRunCampaign,
		Payload:   RunTask{RunID: runID},
		ProcessAt: at,
	})
}

// ErrRunBusy is returned when another worker holds a run's lease; the task
// is retried after it.
var ErrRunBusy = errors.New("another worker is working on this campaign run")

// Run works on a campaign run (the task TaskRunCampaign): chunk after
// chunk until the run is done, paused or cancelled, quiet hours begin, or
// the budget is spent (then a new task carries on). It is safe to call
// again at any point, from any worker.
func (s *Campaigns) Run(ctx context.Context, runID string) error {
	owner := newID()
	held, err := s.lease(ctx, runID, owner)
	if err != nil {
		return err
	}
	if !held {
		var run campaignRunRow
		if err := s.db.NewSelect().Model(&run).Where("id = ?", runID).Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrCampaignNotFound
			}
			return err
		}
		if run.Status != CampaignRunning {
			return nil
		}
		return ErrRunBusy
	}
	defer s.release(context.WithoutCancel(ctx), runID, owner)
	deadline := time.Now().Add(s.cfg.Budget)
	for first := true; ; first = false {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !first {
			if held, err := s.lease(ctx, runID, owner); err != nil || !held {
				// Paused, cancelled, or taken over after a lost lease.
				return err
			}
		}
		run, camp, err := s.loadRun(ctx, runID)
		if err != nil {
			return err
		}
		if run.Status != CampaignRunning {
			return nil
		}
		if quiet, until := camp.quiet(s.now()); quiet {
			return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return s.continueRun(ctx, tx, runID, until)
			})
		}
		if time.Now().After(deadline) {
			return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return s.continueRun(ctx, tx, runID, time.Time{})
			})
		}
		done, err := s.chunk(ctx, run, camp, owner)
		switch {
		case errors.Is(err, errStop):
			// The top of the loop sees why and acts on it.
		case err != nil || done:
			return err
		}
	}
}

// loadRun reads a run and its campaign.
func (s *Campaigns) loadRun(ctx context.Context, runID string) (campaignRunRow, campaignRow, error) {
	var run campaignRunRow
	if err := s.db.NewSelect().Model(&run).Where("id = ?", runID).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return run, campaignRow{}, ErrCampaignNotFound
		}
		return run, campaignRow{}, fmt.Errorf("read campaign run: %w", err)
	}
	var camp campaignRow
	if err := s.db.NewSelect().Model(&camp).Where("id = ?", run.CampaignID).Scan(ctx); err != nil {
		return run, camp, fmt.Errorf("read campaign of run %s: %w", runID, err)
	}
	return run, camp, nil
}

// lease takes (or renews) a running run's lease for owner.
func (s *Campaigns) lease(ctx context.Context, runID, owner string) (bool, error) {
	now := s.now()
	res, err := s.db.NewUpdate().Model((*campaignRunRow)(nil)).
		Set("lease_owner = ?", owner).Set("lease_until = ?", now.Add(s.cfg.LeaseTTL)).
		Where("id = ? AND status = ?", runID, CampaignRunning).
		Where("(lease_owner = ? OR lease_owner = '' OR lease_until IS NULL OR lease_until < ?)", owner, now).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("lease campaign run %s: %w", runID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *Campaigns) release(ctx context.Context, runID, owner string) {
	if _, err := s.db.NewUpdate().Model((*campaignRunRow)(nil)).Set("lease_owner = ''").Set("lease_until = NULL").
		Where("id = ? AND lease_owner = ?", runID, owner).Exec(ctx); err != nil {
		s.log.Warn("release campaign run lease", "run_id", runID, "err", err)
	}
}

// errStop ends a chunk early: the run was paused or cancelled, quiet hours
// began, or the lease was lost. The chunk is done again later.
var errStop = errors.New("campaign run stopped")

// keepGoing checks between batches that the run may carry on, renewing
// its lease.
func (s *Campaigns) keepGoing(ctx context.Context, run campaignRunRow, camp campaignRow, owner string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	held, err := s.lease(ctx, run.ID, owner)
	if err != nil {
		return err
	}
	if !held {
		return errStop
	}
	if quiet, _ := camp.quiet(s.now()); quiet {
		return errStop
	}
	return nil
}

// span is the member-id range of a chunk: after < id ≤ until (no upper
// bound when until is empty).
type span struct {
	after, until string
}

func (sp span) where(q *bun.SelectQuery) *bun.SelectQuery {
	if sp.after != "" {
		q = q.Where("member_id > ?", sp.after)
	}
	if sp.until != "" {
		q = q.Where("member_id <= ?", sp.until)
	}
	return q
}

// chunk plans and carries out the chunk after run.NextAfter and reports
// whether the run is done.
func (s *Campaigns) chunk(ctx context.Context, run campaignRunRow, camp campaignRow, owner string) (bool, error) {
	rule, err := ParseRule([]byte(run.Rule))
	if err != nil {
		return false, fmt.Errorf("rule of run %s: %w", run.ID, err)
	}
	var actions CampaignActions
	if err := json.Unmarshal([]byte(run.Actions), &actions); err != nil {
		return false, fmt.Errorf("actions of run %s: %w", run.ID, err)
	}
	ids, err := s.seg.PageIDs(ctx, s.db, rule, run.AsOf, run.ID, run.NextAfter, s.cfg.ChunkSize)
	if err != nil {
		return false, err
	}
	final := len(ids) < s.cfg.ChunkSize
	sp := span{after: run.NextAfter}
	if !final {
		sp.until = ids[len(ids)-1]
	}
	if err := s.plan(ctx, run, actions, ids); err != nil {
		return false, err
	}
	for _, ch := range actions.channels() {
		var err error
		switch ch {
		case ChannelCoupon:
			err = s.grantCoupons(ctx, run, camp, owner, actions.Coupon, sp)
		case ChannelSubscribe:
			err = s.sendSubscribe(ctx, run, camp, owner, actions.Subscribe, sp)
		case ChannelWeCom:
			err = s.sendWeCom(ctx, run, camp, owner, actions.WeCom, sp)
		}
		if err != nil {
			return false, err
		}
	}
	return s.advance(ctx, run, owner, sp, final)
}

// plan writes the pending delivery rows of a chunk's members.
func (s *Campaigns) plan(ctx context.Context, run campaignRunRow, actions CampaignActions, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	now := s.now()
	rows := make([]deliveryRow, 0, len(ids)*len(actions.channels()))
	for _, ch := range actions.channels() {
		for _, id := range ids {
			rows = append(rows, deliveryRow{RunID: run.ID, Channel: ch, MemberID: id, CampaignID: run.CampaignID, State: DeliveryPending, UpdatedAt: now})
		}
	}
	if _, err := s.db.NewInsert().Model(&rows).On("CONFLICT (run_id, channel, member_id) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("plan deliveries of run %s: %w", run.ID, err)
	}
	return nil
}

// advance moves the run past a finished chunk, and completes it after the
// last one.
func (s *Campaigns) advance(ctx context.Context, run campaignRunRow, owner string, sp span, final bool) (bool, error) {
	now := s.now()
	done := false
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var cur campaignRunRow
		if err := database.ForUpdate(tx.NewSelect().Model(&cur).Where("id = ?", run.ID)).Scan(ctx); err != nil {
			return fmt.Errorf("read campaign run: %w", err)
		}
		if cur.LeaseOwner != owner || cur.Status != CampaignRunning || cur.NextAfter != run.NextAfter {
			return errStop
		}
		q := tx.NewUpdate().Model((*campaignRunRow)(nil)).Set("chunks = chunks + 1").Set("updated_at = ?", now).Where("id = ?", run.ID)
		if !final {
			_, err := q.Set("next_after = ?", sp.until).Exec(ctx)
			return err
		}
		left, err := tx.NewSelect().Model((*deliveryRow)(nil)).
			Where("run_id = ? AND state IN (?)", run.ID, bun.In([]string{DeliveryPending, DeliverySending})).Count(ctx)
		if err != nil {
			return err
		}
		if left > 0 {
			// Rows of an earlier chunk wait for a retry; finish later.
			return fmt.Errorf("campaign run %s has %d deliveries to retry", run.ID, left)
		}
		done = true
		if _, err := q.Set("status = ?", CampaignCompleted).Set("finished_at = ?", now).Exec(ctx); err != nil {
			return err
		}
		// A one-off campaign is complete with its run; a recurring one
		// waits for the next.
		_, err = tx.NewUpdate().Model((*campaignRow)(nil)).Set("status = ?", CampaignCompleted).Set("updated_at = ?", now).
			Where("id = ? AND schedule <> ? AND status = ?", run.CampaignID, ScheduleRecurring, CampaignRunning).
			Where("NOT EXISTS (SELECT 1 FROM campaign_runs r WHERE r.campaign_id = ? AND r.status = ? AND r.id <> ?)", run.CampaignID, CampaignRunning, run.ID).
			Exec(ctx)
		return err
	})
	return done, err
}

// pendingRows reads up to limit rows of a channel in a chunk's range whose
// state is one of states.
func (s *Campaigns) pendingRows(ctx context.Context, db bun.IDB, runID, channel string, sp span, states []string, limit int, lock bool) ([]deliveryRow, error) {
	var rows []deliveryRow
	q := db.NewSelect().Model(&rows).Where("run_id = ? AND channel = ? AND state IN (?)", runID, channel, bun.In(states))
	q = sp.where(q).OrderExpr("member_id").Limit(int64(limit))
	if lock {
		q = database.ForUpdate(q)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("read %s deliveries of run %s: %w", channel, runID, err)
	}
	return rows, nil
}

// outcome is what became of one delivery.
type outcome struct {
	member string
	state  string
	reason string
	detail string
	retry  bool // failed for a reason that may pass: count an attempt
}

// settle writes outcomes, grouped into one UPDATE per (state, reason,
// detail) where it can.
func (s *Campaigns) settle(ctx context.Context, db bun.IDB, runID, channel string, outs []outcome) error {
	now := s.now()
	type key struct{ state, reason, detail string }
	groups := map[key][]string{}
	var order []key
	for _, o := range outs {
		if o.retry {
			if _, err := db.NewUpdate().Model((*deliveryRow)(nil)).Set("attempts = attempts + 1").
				Set("state = CASE WHEN attempts + 1 >= ? THEN ? ELSE ? END", maxAttempts, DeliveryFailed, o.state).
				Set("reason = ?", o.reason).Set("detail = ?", o.detail).Set("updated_at = ?", now).
				Where("run_id = ? AND channel = ? AND member_id = ?", runID, channel, o.member).Exec(ctx); err != nil {
				return fmt.Errorf("count delivery attempt: %w", err)
			}
			continue
		}
		k := key{o.state, o.reason, o.detail}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], o.member)
	}
	for _, k := range order {
		if _, err := db.NewUpdate().Model((*deliveryRow)(nil)).Set("state = ?", k.state).Set("reason = ?", k.reason).
			Set("detail = ?", k.detail).Set("updated_at = ?", now).
			Where("run_id = ? AND channel = ? AND member_id IN (?)", runID, channel, bun.In(groups[k])).Exec(ctx); err != nil {
			return fmt.Errorf("settle %s deliveries: %w", channel, err)
		}
	}
	return nil
}
