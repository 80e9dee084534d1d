package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/siyu-live/siyu/sandbox/miniprogram"
)

// fanoutMembers writes the fan-out's shoppers straight into the database:
// n members (openids fanoutOpenID), each with one consent to the
// live-start template, all carrying one manual tag made through the
// console API. Logging 100,000 shoppers in through the API would take
// half an hour at Siyu's 60 logins a minute per IP, and tagging them one
// request per hundred members would be its own benchmark. The tables are
// then vacuumed and analyzed, as autovacuum leaves a database whose
// members were not all written a moment ago.
func (w *world) fanoutMembers(ctx context.Context, n int) (tagID string, took time.Duration, err error) {
	if err := w.ensureStaff(ctx); err != nil {
		return "", 0, err
	}
	var tag struct {
		ID string `json:"id"`
	}
	if err := w.console.call(ctx, "POST", "/console/api/v1/tags", map[string]any{"name": "fan-out " + randomAlnum(6), "kind": "manual", "description": "benchmark"}, &tag); err != nil {
		return "", 0, err
	}
	start := time.Now()
	for _, st := range []struct {
		q    string
		args []any
	}{
		// Ids are UUIDv7 in the order the members joined, one a
		// millisecond, as Siyu makes them: a table's rows then lie in id
		// order, as they do when members sign up over months.
		{`INSERT INTO members (id, openid, nickname, created_at, updated_at)
		 SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(r, 1, 3) || '-' || substr('89ab', 1 + g % 4, 1) || substr(r, 4, 3) || '-' || substr(r, 7, 12),
		        'o_fan_' || lpad((g - 1)::text, 6, '0'), '粉丝' || g, now(), now()
		 FROM (SELECT g, lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint - ? + g), 12, '0') AS h, md5(random()::text) AS r
		       FROM generate_series(1, ?) g) AS s`, []any{n, n}},
		{`INSERT INTO member_tags (member_id, tag_id, source, created_by, created_at)
		 SELECT id, ?, 'manual', ?, now() FROM members WHERE openid LIKE 'o\_fan\_%'`, []any{tag.ID, w.staffID}},
		{`INSERT INTO subscribe_consents (member_id, template_id, remaining, long_term, granted, used, updated_at)
		 SELECT id, ?, 1, FALSE, 1, 0, now() FROM members WHERE openid LIKE 'o\_fan\_%'`, []any{miniprogram.TemplateLiveStart}},
		{`VACUUM ANALYZE members`, nil}, {`VACUUM ANALYZE member_tags`, nil}, {`VACUUM ANALYZE subscribe_consents`, nil},
	} {
		if _, err := w.e.db.ExecContext(ctx, st.q, st.args...); err != nil {
			return "", 0, fmt.Errorf("fan-out members: %w", err)
		}
	}
	return tag.ID, time.Since(start), nil
}

// runProgress is the part of the console's run progress the bench reads.
type runProgress struct {
	Status   string `json:"status"`
	Chunks   int    `json:"chunks"`
	Targeted int    `json:"targeted"`
	Channels map[string]struct {
		Targeted int            `json:"targeted"`
		Sent     int            `json:"sent"`
		Skipped  int            `json:"skipped"`
		Failed   int            `json:"failed"`
		Pending  int            `json:"pending"`
		Reasons  map[string]int `json:"reasons"`
	} `json:"channels"`
}

// campaignFanout starts a campaign sending the live-start subscribe
// message to a segment of n members, through the console API, and
// measures /ping while it fans out. It reports how long the console took
// to answer the campaign's creation, when every member had a delivery
// planned (enqueued: the run's planned_at, stamped as its rows commit,
// confirmed by the run's progress counting a subscribe delivery row for
// every member) and when every delivery was done, and checks that each
// member got exactly one message.
func campaignFanout(ctx context.Context, w *world) (result, error) {
	n := w.nFanout
	tagID, setup, err := w.fanoutMembers(ctx, n)
	if err != nil {
		return result{}, err
	}
	var seg struct {
		ID string `json:"id"`
	}
	if err := w.console.call(ctx, "POST", "/console/api/v1/segments", map[string]any{
		"name": "fan-out " + randomAlnum(6), "rule": map[string]any{"has_tag": map[string]string{"tag_id": tagID}},
	}, &seg); err != nil {
		return result{}, err
	}
	var camp struct {
		ID string `json:"id"`
	}
	started := time.Now()
	if err := w.console.call(ctx, "POST", "/console/api/v1/campaigns", map[string]any{
		"name": "直播提醒 " + randomAlnum(4), "segment_id": seg.ID, "schedule": "now",
		"actions": map[string]any{"subscribe": map[string]any{
			"template_id": miniprogram.TemplateLiveStart, "page": "pages/live/index",
			"data": map[string]string{"thing1": "春季新品直播", "time2": "2026-12-01 20:00", "thing3": "直播即将开始", "thing4": "点击进入直播间"},
		}},
	}, &camp); err != nil {
		return result{}, err
	}
	created := time.Since(started)
	// /ping while the campaign fans out, from the moment it started.
	pingDone := make(chan result, 1)
	go func() {
		r, _ := w.siyuLoad(ctx, sendPing, statusIs(200))
		pingDone <- r
	}()
	var enqueued, finished time.Duration
	var last runProgress
	deadline := started.Add(15 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var runs struct {
			Runs []runProgress `json:"runs"`
		}
		if err := w.console.call(ctx, "GET", "/console/api/v1/campaigns/"+camp.ID+"/runs", nil, &runs); err != nil {
			return result{}, err
		}
		if len(runs.Runs) > 0 {
			last = runs.Runs[0]
			sub := last.Channels["subscribe"]
			if enqueued == 0 && sub.Targeted >= n {
				enqueued = time.Since(started)
			}
			if sub.Sent+sub.Skipped+sub.Failed >= n && last.Status != "running" {
				finished = time.Since(started)
				break
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	res := <-pingDone
	sub := last.Channels["subscribe"]
	res.Values = map[string]float64{
		"members": float64(n), "setup_seconds": setup.Seconds(), "create_campaign_ms": float64(created.Microseconds()) / 1000,
		"enqueued_seconds": enqueued.Seconds(), "all_done_seconds": finished.Seconds(),
		"sent": float64(sub.Sent), "skipped": float64(sub.Skipped), "failed": float64(sub.Failed), "pending": float64(sub.Pending),
	}
	res.Notes = append(res.Notes,
		fmt.Sprintf("%d members, tag and consents written straight to the database in %.1fs; the campaign (segment has_tag, subscribe message) made and started through the console API", n, setup.Seconds()),
		fmt.Sprintf("run %s: %d chunks, subscribe %+v", last.Status, last.Chunks, sub))
	var sends, distinct int64
	if err := w.e.db.QueryRowContext(ctx, "SELECT count(*), count(DISTINCT member_id) FROM subscribe_sends WHERE template_id = ? AND status = 'sent'", miniprogram.TemplateLiveStart).Scan(&sends, &distinct); err != nil {
		return res, err
	}
	res.Checks = append(res.Checks, fmt.Sprintf("%d messages sent to %d distinct members of %d", sends, distinct, n))
	switch {
	case enqueued == 0:
		return res, fmt.Errorf("the campaign had not planned every delivery after %s (%d of %d)", time.Since(started).Round(time.Second), sub.Targeted, n)
	case finished == 0:
		return res, fmt.Errorf("the campaign had not finished after %s: %+v", time.Since(started).Round(time.Second), sub)
	case sends != distinct || int(sends) != sub.Sent:
		return res, fmt.Errorf("%d messages sent, %d distinct members, progress says %d", sends, distinct, sub.Sent)
	}
	// When every delivery was written: the run's planned_at, stamped in
	// the transaction that writes them, as it commits. The progress the
	// console shows (enqueued above) lags it by its poll and its cache.
	var runStarted, planned time.Time
	if err := w.e.db.QueryRowContext(ctx, "SELECT started_at, planned_at FROM campaign_runs WHERE campaign_id = ?", camp.ID).Scan(&runStarted, &planned); err != nil {
		return res, fmt.Errorf("read the run's times: %w", err)
	}
	res.Values["run_started_seconds"] = runStarted.Sub(started).Seconds()
	res.Values["console_saw_enqueued_seconds"] = enqueued.Seconds()
	enqueued = planned.Sub(started)
	res.Values["enqueued_seconds"] = enqueued.Seconds()
	// What planning every delivery at once would take: the same rows in
	// one statement, rolled back.
	if plan, err := w.planAtOnce(ctx, tagID); err == nil {
		res.Values["plan_all_in_one_statement_seconds"] = plan.Seconds()
		res.Notes = append(res.Notes, fmt.Sprintf("writing all %d pending deliveries in one INSERT … SELECT (rolled back) takes %.2fs here", n, plan.Seconds()))
	}
	// The same /ping while PostgreSQL writes the deliveries and nothing of
	// Siyu's runs: the database's share of the cores alone.
	bare, runs, each, err := w.pingDuringBarePlan(ctx, tagID)
	if err != nil {
		return res, err
	}
	w.derived = append(w.derived, row{Scenario: scBarePlan, Kind: kindScenario, Baseline: basePing, Result: bare,
		CPU: bare.window[1].usageSince(bare.window[0], w.e.roles())})
	w.derived[len(w.derived)-1].Result.Notes = []string{fmt.Sprintf(
		"no campaign: the bare INSERT … SELECT of %d pending deliveries ran %d times back to back (rolled back), %.2fs each under this load",
		n, runs, each.Seconds())}
	w.derived = append(w.derived, row{Scenario: fmt.Sprintf("campaign fan-out: %d enqueued", n), Kind: kindScenario,
		Goal: "≤5s", GoalMet: enqueued <= 5*time.Second,
		Result: result{Requests: int64(n), Duration: enqueued, Rate: float64(n) / enqueued.Seconds(),
			Notes: []string{fmt.Sprintf("every delivery planned after %.1fs, all done after %.1fs", enqueued.Seconds(), finished.Seconds())}}})
	return res, nil
}

// pingDuringBarePlan measures /ping while planAtOnce runs back to back,
// and answers how many times it ran and how long each took on average.
func (w *world) pingDuringBarePlan(ctx context.Context, tagID string) (result, int, time.Duration, error) {
	stop := make(chan struct{})
	done := make(chan struct{})
	var runs int
	var total time.Duration
	var planErr error
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			d, err := w.planAtOnce(ctx, tagID)
			if err != nil {
				planErr = err
				return
			}
			runs++
			total += d
		}
	}()
	res, err := w.siyuLoad(ctx, sendPing, statusIs(200))
	close(stop)
	<-done
	if err == nil {
		err = planErr
	}
	if runs == 0 {
		return res, 0, 0, errors.Join(err, errors.New("the bare plan never finished during the measurement"))
	}
	return res, runs, total / time.Duration(runs), err
}

// planAtOnce times writing one pending delivery per member of the tag in a
// single statement, then rolls it back.
func (w *world) planAtOnce(ctx context.Context, tagID string) (time.Duration, error) {
	tx, err := w.e.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	start := time.Now()
	_, err = tx.ExecContext(ctx, `INSERT INTO campaign_deliveries (run_id, channel, member_id, state, updated_at)
		SELECT 'bench-plan', 'subscribe', member_id, 'pending', now() FROM member_tags WHERE tag_id = ?`, tagID)
	return time.Since(start), err
}
