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

// How a run fans out. A run works in two steps: it plans every delivery
// at once, then sends them a chunk at a time.
//
// Planning. When a run starts (in the worker's start task; a run started
// by hand, in the first task that works on it), one INSERT … SELECT per
// channel, all in one transaction, writes a delivery row for every
// (channel, member) the run's rule selects at its as_of, and stamps the
// run planned_at. The database does the work: no member list passes
// through Siyu, and the run's progress (targeted, per channel) is known at
// once: the rows are counted in the same transaction, and every statement
// that changes a row's state later moves its count (campaigns_counts.go).
// Rows whose outcome the snapshot already decides are written skipped: a
// subscribe message to a member without an openid (no_openid) or without
// a consent for the template (no_consent), a WeCom message to a member
// who is nobody's customer (no_wecom_contact); the others are pending.
// Planning holds the run's row lock and is done once (planned_at); rows a
// run has already (its mark lost, or planned chunk by chunk before runs
// were planned at once) are kept (ON CONFLICT DO NOTHING), so planning
// again writes nothing twice, and the rule's not_targeted_by ignores the
// run's own rows.
//
// Sending. The run walks its rows in member-id order, a chunk (ChunkSize
// members) at a time, from the member id after which the last finished
// chunk ended (next_after). For each chunk it carries out each channel for
// the chunk's pending rows, a batch (BatchSize) at a time, and only then
// moves next_after on, so a member's coupon is granted before the message
// that speaks of it. A worker that dies mid-chunk leaves next_after where
// it was: the next task does the same chunk again and finds every row in
// the state its last write left, so each channel resolves a half-done
// delivery its own way:
//
//   - coupon: exactly once. A batch's coupons (with ids derived from the
//     run and member) are granted in the same transaction that marks their
//     rows sent.
//   - subscribe: exactly once, except one narrow window. A batch reserves
//     its consents in the consent ledger in one transaction
//     (Consents.Reserve), keyed by run and member; each message is then
//     sent and WeChat's answer recorded for its key (Consents.Deliver), and
//     the batch's rows are marked in one transaction. A key the ledger
//     settled answers its outcome without sending, so a worker killed
//     between the ledger and the rows just reads the outcomes again, and a
//     key reserved but not sent is sent with the consent it holds. A batch
//     stopped early gives back the consents of the messages it never handed
//     to WeChat (Consents.Release). Only a worker killed between WeChat
//     accepting a message and the ledger recording it leaves a pending key
//     that was sent: the ledger sends it again with the consent it
//     reserved, and WeChat then refuses the copy (43101) unless the member
//     had granted more than one consent: at least once in that window,
//     never a second consent spent. A consent is looked at when the run is
//     planned (a member who grants one later is not added) and again by
//     the ledger: one spent since is skipped (no_consent).
//   - wecom: at most once. add_msg_template has no idempotency key, so rows
//     are marked sending before the call; a row found still sending after
//     a restart is counted failed ("outcome_unknown") and not sent again.
//
// One task works on a run at a time, holding its lease (planning, which
// sends nothing, takes the run's row lock instead); it works for at
// most Budget and then hands on to a new task through the outbox, so a
// long campaign never holds a worker for long. Pause, cancel and quiet
// hours are looked at between batches; sends are paced across workers
// (see pacer).

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
	PlannedAt  *time.Time `bun:"planned_at"`
	StartedAt  time.Time  `bun:"started_at,notnull"`
	FinishedAt *time.Time `bun:"finished_at"`
	UpdatedAt  time.Time  `bun:"updated_at,notnull"`
}

type deliveryRow struct {
	bun.BaseModel `bun:"table:campaign_deliveries"`

	RunID     string    `bun:"run_id,pk"`
	Channel   string    `bun:"channel,pk"`
	MemberID  string    `bun:"member_id,pk"`
	State     string    `bun:"state,notnull"`
	Reason    string    `bun:"reason,notnull"`
	Detail    string    `bun:"detail,notnull"`
	Attempts  int       `bun:"attempts,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// StartRun starts the run of a campaign due at occurrence (the task the
// campaign's schedule asked for) and plans its deliveries. A stale
// occurrence (the campaign was changed, paused or cancelled since) starts
// nothing.
func (s *Campaigns) StartRun(ctx context.Context, campaignID, occ string) error {
	runID, err := s.startRun(ctx, campaignID, occ, true, "")
	if errors.Is(err, errStaleStart) {
		return nil
	}
	if err != nil {
		return err
	}
	// The task that sends is relayed while the run is planned; it waits
	// for the plan under the run's lock.
	s.cfg.Wake()
	return s.plan(ctx, runID)
}

// errStaleStart is a start for an occurrence the campaign no longer has
// (changed, paused or cancelled since it was asked for).
var errStaleStart = errors.New("stale campaign start")

// startRun creates the run of an occurrence (once) and asks for it to be
// carried out. A run started by hand (not scheduled) is audited as staffID's.
// It does not plan the run: a run started by hand answers a request, and
// the task that works on it plans it.
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

// Run works on a campaign run (the task TaskRunCampaign): it plans the run
// if it is not yet, then sends chunk after chunk until the run is done,
// paused or cancelled, quiet hours begin, or the budget is spent (then a
// new task carries on). It is safe to call again at any point, from any
// worker.
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
		if run.PlannedAt == nil {
			if err := s.plan(ctx, runID); err != nil {
				return err
			}
			continue
		}
		if quiet, until := camp.quiet(s.now()); quiet {
			return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return s.continueRun(ctx, tx, runID, until)
			})
		}
		if time.Now().After(deadline) {
			if err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return s.continueRun(ctx, tx, runID, time.Time{})
			}); err != nil {
				return err
			}
			s.cfg.Wake()
			return nil
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

func (sp span) where(q *bun.SelectQuery) *bun.SelectQuery { return q.ApplyQueryBuilder(sp.bound) }

// whereUpdate limits an UPDATE to the span's rows.
func (sp span) whereUpdate(q *bun.UpdateQuery) *bun.UpdateQuery { return q.ApplyQueryBuilder(sp.bound) }

func (sp span) bound(q bun.QueryBuilder) bun.QueryBuilder {
	if sp.after != "" {
		q = q.Where("member_id > ?", sp.after)
	}
	if sp.until != "" {
		q = q.Where("member_id <= ?", sp.until)
	}
	return q
}

// chunk carries out the chunk after run.NextAfter and reports whether the
// run is done.
func (s *Campaigns) chunk(ctx context.Context, run campaignRunRow, camp campaignRow, owner string) (bool, error) {
	var actions CampaignActions
	if err := json.Unmarshal([]byte(run.Actions), &actions); err != nil {
		return false, fmt.Errorf("actions of run %s: %w", run.ID, err)
	}
	channels := actions.channels()
	if len(channels) == 0 {
		return false, fmt.Errorf("run %s has no actions", run.ID)
	}
	sp, final, err := s.nextSpan(ctx, run, channels[0])
	if err != nil {
		return false, err
	}
	for _, ch := range channels {
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

// nextSpan is the chunk after run.NextAfter: the next ChunkSize members of
// the run's planned rows (every channel has a row for every member, so
// channel's rows tell them), or all that are left for the final chunk.
func (s *Campaigns) nextSpan(ctx context.Context, run campaignRunRow, channel string) (span, bool, error) {
	var until []string
	if err := s.db.NewSelect().Model((*deliveryRow)(nil)).Column("member_id").
		Where("run_id = ? AND channel = ? AND member_id > ?", run.ID, channel, run.NextAfter).
		OrderExpr("member_id").Offset(int64(s.cfg.ChunkSize-1)).Limit(1).Scan(ctx, &until); err != nil {
		return span{}, false, fmt.Errorf("find the next chunk of run %s: %w", run.ID, err)
	}
	if len(until) == 0 {
		return span{after: run.NextAfter}, true, nil
	}
	return span{after: run.NextAfter, until: until[0]}, false, nil
}

// analyzeAfter is the number of rows a plan writes from which it refreshes
// PostgreSQL's statistics of the deliveries table.
const analyzeAfter = 1000

// plan writes a run's delivery rows, one per (channel, member) its rule
// selects at its as_of, in one transaction under the run's row lock, and
// stamps it planned; a run planned already is left as it is. Each channel
// is one INSERT … SELECT: the members never leave the database.
//
// On PostgreSQL a plan of many rows analyzes the deliveries table in its
// transaction, where ANALYZE samples the rows it wrote, so the statistics
// commit with the rows. Without them, until autovacuum got to the table
// (a minute or more later), the planner took the new run for a few rows
// and read all of them for every batch the worker settles: 60 ms or more
// a batch instead of 2 ms with 100,000 rows. Analyzed after the commit
// instead, the worker's first batches raced the ANALYZE, and one that
// lost read the whole run (0.7 s).
func (s *Campaigns) plan(ctx context.Context, runID string) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var run campaignRunRow
		if err := database.ForUpdate(tx.NewSelect().Model(&run).Where("id = ?", runID)).Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrCampaignNotFound
			}
			return fmt.Errorf("read campaign run: %w", err)
		}
		if run.PlannedAt != nil || (run.Status != CampaignRunning && run.Status != CampaignPaused) {
			return nil
		}
		rule, err := ParseRule([]byte(run.Rule))
		if err != nil {
			return fmt.Errorf("rule of run %s: %w", run.ID, err)
		}
		var actions CampaignActions
		if err := json.Unmarshal([]byte(run.Actions), &actions); err != nil {
			return fmt.Errorf("actions of run %s: %w", run.ID, err)
		}
		if database.IsPostgres(tx) {
			// The statements' estimated cost is high enough for PostgreSQL
			// to JIT-compile them, which takes longer than they run.
			if _, err := tx.ExecContext(ctx, "SET LOCAL jit = off"); err != nil {
				return fmt.Errorf("plan run %s: %w", run.ID, err)
			}
		}
		// Under the run's lock nothing else writes its rows: a run without
		// any is planned with plain INSERTs; one with some (planned chunk
		// by chunk before runs were planned at once) keeps them.
		some, err := tx.NewSelect().Model((*deliveryRow)(nil)).Where("run_id = ?", run.ID).Exists(ctx)
		if err != nil {
			return fmt.Errorf("plan run %s: %w", run.ID, err)
		}
		now := s.now()
		written := int64(0)
		for _, ch := range actions.channels() {
			n, err := planChannel(ctx, tx, run, rule, actions, ch, now, some)
			if err != nil {
				return err
			}
			written += n
		}
		if written >= analyzeAfter && database.IsPostgres(tx) {
			// A sample of 3,000 rows tells the planner what the worker's
			// lookups need (how many rows a run has, that member ids are
			// distinct) in 10 ms instead of 80 (100,000 rows); autovacuum
			// analyzes the table in full later.
			if _, err := tx.ExecContext(ctx, "SET LOCAL default_statistics_target = 10"); err != nil {
				return fmt.Errorf("plan run %s: %w", run.ID, err)
			}
			if _, err := tx.ExecContext(ctx, "ANALYZE campaign_deliveries"); err != nil {
				return fmt.Errorf("plan run %s: analyze: %w", run.ID, err)
			}
		}
		// Stamped when the rows are written, just before they commit.
		done := s.now()
		if _, err := tx.NewUpdate().Model((*campaignRunRow)(nil)).Set("planned_at = ?", done).Set("updated_at = ?", done).
			Where("id = ?", run.ID).Exec(ctx); err != nil {
			return fmt.Errorf("mark run %s planned: %w", run.ID, err)
		}
		return nil
	})
}

// planChannel writes one channel's rows of a run in one statement, doing
// nothing for rows that exist when keep is set, counts the channel's rows,
// and answers how many it wrote. A row's reason is decided by the snapshot
// where it can be: empty leaves the row pending, anything else writes it
// skipped for that reason.
func planChannel(ctx context.Context, tx bun.IDB, run campaignRunRow, rule Rule, actions CampaignActions, channel string, now time.Time, keep bool) (int64, error) {
	// What a channel needs of each member is joined to it rather than
	// looked up in a subquery: the reason appears twice in the statement
	// and PostgreSQL would build a subquery's hash table for each, where
	// the joins walk the members, their consents and their tags together
	// in id order (100,000 members: 0.86 s instead of 1.12).
	reason, join, jargs := "''", "", []any(nil)
	switch channel {
	case ChannelSubscribe:
		// A member has one consent row per template (the primary key).
		join = " LEFT JOIN subscribe_consents pc ON pc.member_id = m.id AND pc.template_id = ?" +
			" AND (pc.remaining > 0 OR pc.long_term = TRUE)"
		jargs = []any{actions.Subscribe.TemplateID}
		reason = "CASE WHEN m.openid = '' THEN 'no_openid' WHEN pc.member_id IS NULL THEN 'no_consent' ELSE '' END"
	case ChannelWeCom:
		join = " LEFT JOIN (SELECT DISTINCT unionid FROM wecom_contacts WHERE removed_at IS NULL AND unionid <> '') pw" +
			" ON pw.unionid = m.unionid"
		reason = "CASE WHEN pw.unionid IS NULL THEN 'no_wecom_contact' ELSE '' END"
	}
	cond, cargs := compileRule(tx, rule, run.AsOf, run.ID)
	// In member order the rows' index entries go in at the right end of
	// each index rather than all over it: a third less work for
	// PostgreSQL.
	q := "INSERT INTO campaign_deliveries (run_id, channel, member_id, state, reason, updated_at)" +
		" SELECT ?, ?, p.id, CASE WHEN p.reason = '' THEN ? ELSE ? END, p.reason, ?" +
		" FROM (SELECT m.id, " + reason + " AS reason FROM members AS m" + join + " WHERE " + cond + ") AS p"
	if keep {
		// SQLite reads "ON CONFLICT" after a SELECT's FROM as a join's ON
		// unless the SELECT has a WHERE.
		q += " WHERE 1 = 1 ORDER BY p.id ON CONFLICT (run_id, channel, member_id) DO NOTHING"
	} else {
		q += " ORDER BY p.id"
	}
	args := append(append([]any{run.ID, channel, DeliveryPending, DeliverySkipped, now}, jargs...), cargs...)
	if !keep && database.IsPostgres(tx) {
		// The rows are counted as they are written (a pending row has no
		// reason), rather than read again: 60 ms less for 100,000.
		var n int64
		err := tx.NewRaw("WITH ins AS ("+q+" RETURNING state, reason),"+
			" c AS (INSERT INTO campaign_run_counts (run_id, channel, state, reason, n)"+
			" SELECT ?, ?, state, reason, COUNT(*) FROM ins GROUP BY state, reason RETURNING n)"+
			" SELECT COALESCE(SUM(n), 0) FROM c", append(args, run.ID, channel)...).Scan(ctx, &n)
		if err != nil {
			return 0, fmt.Errorf("plan %s deliveries of run %s: %w", channel, run.ID, err)
		}
		return n, nil
	}
	res, err := tx.NewRaw(q, args...).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("plan %s deliveries of run %s: %w", channel, run.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("plan %s deliveries of run %s: %w", channel, run.ID, err)
	}
	if err := recount(ctx, tx, run.ID, channel); err != nil {
		return 0, err
	}
	return n, nil
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

// settle writes outcomes in one transaction (db's, when it is one),
// grouped into one UPDATE per (state, reason, detail, retry), and moves
// the run's counts with them: the rows are locked and read first, so each
// is counted out of the bucket it was in and into the one it ends in.
func (s *Campaigns) settle(ctx context.Context, db bun.IDB, runID, channel string, outs []outcome) error {
	if len(outs) == 0 {
		return nil
	}
	now := s.now()
	type key struct {
		state, reason, detail string
		retry                 bool
	}
	groups := map[key][]string{}
	var order []key
	members := make([]string, 0, len(outs))
	for _, o := range outs {
		k := key{o.state, o.reason, o.detail, o.retry}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], o.member)
		members = append(members, o.member)
	}
	write := func(ctx context.Context, tx bun.IDB) error {
		var before []deliveryRow
		if err := database.ForUpdate(tx.NewSelect().Model(&before).Column("member_id", "state", "reason").
			Where("run_id = ? AND channel = ? AND member_id IN (?)", runID, channel, bun.In(members)).OrderExpr("member_id")).Scan(ctx); err != nil {
			return fmt.Errorf("settle %s deliveries: %w", channel, err)
		}
		after := make(map[string]countKey, len(before))
		for _, k := range order {
			q := tx.NewUpdate().Model((*deliveryRow)(nil)).Set("reason = ?", k.reason).Set("detail = ?", k.detail).Set("updated_at = ?", now).
				Where("run_id = ? AND channel = ? AND member_id IN (?)", runID, channel, bun.In(groups[k]))
			if k.retry {
				// Failed for a reason that may pass: count an attempt.
				q = q.Set("attempts = attempts + 1").Set("state = CASE WHEN attempts + 1 >= ? THEN ? ELSE ? END", maxAttempts, DeliveryFailed, k.state)
			} else {
				q = q.Set("state = ?", k.state)
			}
			var changed []deliveryRow
			if _, err := q.Returning("member_id, state, reason").Exec(ctx, &changed); err != nil {
				return fmt.Errorf("settle %s deliveries: %w", channel, err)
			}
			for _, r := range changed {
				after[r.MemberID] = bucket(channel, r.State, r.Reason)
			}
		}
		d := countDeltas{}
		for _, r := range before {
			if to, ok := after[r.MemberID]; ok {
				d.move(bucket(channel, r.State, r.Reason), to, 1)
			}
		}
		return addCounts(ctx, tx, runID, d)
	}
	if d, ok := db.(*bun.DB); ok {
		return d.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return write(ctx, tx) })
	}
	return write(ctx, db)
}
