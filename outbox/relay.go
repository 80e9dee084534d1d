package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// Enqueuer hands a stored message to the job queue. It returns nil when the
// message is already queued.
type Enqueuer interface {
	Enqueue(ctx context.Context, r Row) error
}

// Relay moves committed messages from the outbox to the job queue.
type Relay struct {
	db       *bun.DB
	enq      Enqueuer
	log      *slog.Logger
	batch    int
	interval time.Duration
	poke     chan struct{}
	pending  prometheus.Gauge
	lag      prometheus.Gauge
	relayed  prometheus.Counter
	failed   prometheus.Counter
}

// NewRelay returns a relay that polls every interval. reg may be nil.
func NewRelay(db *bun.DB, enq Enqueuer, log *slog.Logger, interval time.Duration, reg prometheus.Registerer) *Relay {
	r := &Relay{
		db: db, enq: enq, log: log, batch: 200, interval: interval,
		poke:    make(chan struct{}, 1),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "siyu_outbox_pending", Help: "Outbox messages not yet enqueued."}),
		lag:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "siyu_outbox_lag_seconds", Help: "Age of the oldest outbox message not yet enqueued."}),
		relayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "siyu_outbox_relayed_total", Help: "Outbox messages enqueued."}),
		failed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "siyu_outbox_enqueue_failures_total", Help: "Failed attempts to enqueue an outbox message."}),
	}
	if reg != nil {
		reg.MustRegister(r.pending, r.lag, r.relayed, r.failed)
	}
	return r
}

// Poke asks the relay to run a pass now rather than at the next tick.
func (r *Relay) Poke() {
	select {
	case r.poke <- struct{}{}:
	default:
	}
}

// Run relays until ctx is done.
func (r *Relay) Run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		r.drain(ctx)
		r.observe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.poke:
		}
	}
}

// RunPoked relays only when poked, until ctx is done. It is the relay of a
// process that serves requests and leaves the regular passes to the
// workers: a message its requests add for now (a campaign started from
// the console) is relayed at once instead of at a worker's next pass, up
// to a second later.
func (r *Relay) RunPoked(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.poke:
		}
		r.drain(ctx)
	}
}

// drain runs passes until one claims less than a full batch.
func (r *Relay) drain(ctx context.Context) {
	for {
		n, err := r.Flush(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Error("outbox relay", "err", err)
		}
		// A full batch means more are waiting: go again at once.
		if err != nil || n < r.batch {
			return
		}
	}
}

// Flush runs one pass: it claims up to a batch of unsent messages, enqueues
// them and stamps those enqueued as sent. It returns how many it claimed.
// On PostgreSQL, replicas claim disjoint rows (SKIP LOCKED); on SQLite the
// write transaction already excludes other writers.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	var claimed int
	err := r.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var rows []Row
		q := tx.NewSelect().Model(&rows).Where("sent_at IS NULL").OrderExpr("created_at ASC").Limit(int64(r.batch))
		if database.IsPostgres(tx) {
			q = q.For("UPDATE SKIP LOCKED")
		}
		if err := q.Scan(ctx); err != nil {
			return fmt.Errorf("claim outbox rows: %w", err)
		}
		claimed = len(rows)
		sent := make([]string, 0, len(rows))
		for i := range rows {
			row := &rows[i]
			if err := r.enq.Enqueue(ctx, *row); err != nil {
				r.failed.Inc()
				row.Attempts++
				row.LastError = err.Error()
				if _, uerr := tx.NewUpdate().Model(row).Column("attempts", "last_error").WherePK().Exec(ctx); uerr != nil {
					return fmt.Errorf("record outbox failure: %w", uerr)
				}
				continue
			}
			sent = append(sent, row.ID)
		}
		if len(sent) == 0 {
			return nil
		}
		// One statement stamps the pass's enqueued rows: a full pass
		// relays a batch of hundreds at once.
		if _, err := tx.NewUpdate().Model((*Row)(nil)).Set("sent_at = ?", time.Now().UTC()).
			Where("id IN (?)", bun.In(sent)).Exec(ctx); err != nil {
			return fmt.Errorf("mark outbox rows sent: %w", err)
		}
		r.relayed.Add(float64(len(sent)))
		return nil
	})
	return claimed, err
}

// observe refreshes the pending and lag gauges.
func (r *Relay) observe(ctx context.Context) {
	n, oldest, err := Backlog(ctx, r.db)
	if err != nil {
		return
	}
	r.pending.Set(float64(n))
	if n == 0 {
		r.lag.Set(0)
		return
	}
	r.lag.Set(time.Since(oldest).Seconds())
}

// Backlog returns how many messages wait and when the oldest was added.
func Backlog(ctx context.Context, db bun.IDB) (int, time.Time, error) {
	var oldest Row
	n, err := db.NewSelect().Model((*Row)(nil)).Where("sent_at IS NULL").Count(ctx)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count outbox backlog: %w", err)
	}
	if n == 0 {
		return 0, time.Time{}, nil
	}
	if err := db.NewSelect().Model(&oldest).Where("sent_at IS NULL").OrderExpr("created_at ASC").Limit(1).Scan(ctx); err != nil {
		return 0, time.Time{}, fmt.Errorf("oldest outbox message: %w", err)
	}
	return int(n), oldest.CreatedAt, nil
}
