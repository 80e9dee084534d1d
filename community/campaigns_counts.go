package community

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/uptrace/bun"
)

// A run's progress is read from its counts (campaign_run_counts): its
// deliveries by channel, state and reason, which every statement that
// writes deliveries keeps in its own transaction. Reading them costs a
// few rows however many members a run targets; counting the deliveries
// themselves cost PostgreSQL 60 to 100 ms for 100,000, again after every
// chunk.
//
// Rows still to send (pending or sending, whatever their reason) count
// as state pending with no reason: progress shows them as one number.

type countRow struct {
	bun.BaseModel `bun:"table:campaign_run_counts"`

	RunID   string `bun:"run_id,pk"`
	Channel string `bun:"channel,pk"`
	State   string `bun:"state,pk"`
	Reason  string `bun:"reason,pk"`
	N       int64  `bun:"n,notnull"`
}

// countKey is the bucket a delivery is counted in.
type countKey struct{ channel, state, reason string }

// bucket is where a delivery in state with reason is counted.
func bucket(channel, state, reason string) countKey {
	if state == DeliveryPending || state == DeliverySending {
		return countKey{channel, DeliveryPending, ""}
	}
	return countKey{channel, state, reason}
}

// countDeltas gathers the changes a transaction makes to a run's counts.
type countDeltas map[countKey]int64

// move counts n deliveries leaving from and arriving in to.
func (d countDeltas) move(from, to countKey, n int64) {
	if from == to || n == 0 {
		return
	}
	d[from] -= n
	d[to] += n
}

// addCounts adds deltas to a run's counts, in key order so that two
// transactions adding to the same run never wait on each other in turn.
func addCounts(ctx context.Context, db bun.IDB, runID string, d countDeltas) error {
	rows := make([]countRow, 0, len(d))
	for k, n := range d {
		if n != 0 {
			rows = append(rows, countRow{RunID: runID, Channel: k.channel, State: k.state, Reason: k.reason, N: n})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	slices.SortFunc(rows, func(a, b countRow) int {
		return cmp.Or(cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.State, b.State), cmp.Compare(a.Reason, b.Reason))
	})
	if _, err := db.NewInsert().Model(&rows).On("CONFLICT (run_id, channel, state, reason) DO UPDATE").
		Set("n = ?TableAlias.n + EXCLUDED.n").Exec(ctx); err != nil {
		return fmt.Errorf("count deliveries of run %s: %w", runID, err)
	}
	return nil
}

// recount counts a channel of a run from its deliveries, replacing what
// was counted: planning writes a channel's rows in one statement and then
// counts them once.
func recount(ctx context.Context, db bun.IDB, runID, channel string) error {
	if _, err := db.NewDelete().Model((*countRow)(nil)).Where("run_id = ? AND channel = ?", runID, channel).Exec(ctx); err != nil {
		return fmt.Errorf("recount %s deliveries of run %s: %w", channel, runID, err)
	}
	if _, err := db.NewRaw(`INSERT INTO campaign_run_counts (run_id, channel, state, reason, n)
		SELECT run_id, channel,
		       CASE WHEN state IN (?0, ?1) THEN ?0 ELSE state END,
		       CASE WHEN state IN (?0, ?1) THEN '' ELSE reason END,
		       COUNT(*)
		FROM campaign_deliveries WHERE run_id = ?2 AND channel = ?3
		GROUP BY 1, 2, 3, 4`, DeliveryPending, DeliverySending, runID, channel).Exec(ctx); err != nil {
		return fmt.Errorf("recount %s deliveries of run %s: %w", channel, runID, err)
	}
	return nil
}

// readCounts reads the counts of runs, in one statement however many
// there are (a recurring campaign lists up to a hundred), by run id.
func readCounts(ctx context.Context, db bun.IDB, runIDs ...string) (map[string][]countRow, error) {
	out := make(map[string][]countRow, len(runIDs))
	if len(runIDs) == 0 {
		return out, nil
	}
	var rows []countRow
	if err := db.NewSelect().Model(&rows).Where("run_id IN (?) AND n <> 0", bun.In(runIDs)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read counts of %d runs: %w", len(runIDs), err)
	}
	for _, r := range rows {
		out[r.RunID] = append(out[r.RunID], r)
	}
	return out, nil
}
