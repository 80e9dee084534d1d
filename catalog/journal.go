package catalog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"
)

// ClaimSink turns won claims into orders. PersistClaims must be idempotent
// claim by claim: the same claim may arrive from the Journal that runs in
// the process that won it, the drain and the reconciliation, in any order
// and at the same time.
type ClaimSink interface {
	PersistClaims(ctx context.Context, claims []Claim) error
}

// Journal persists won claims to the database through a sink: the claims
// this process wins, in batches, as they come (Run), and the claims a
// process that died left in the journals (Drain). It also reconciles Redis
// with the database and finishes ended sales.
type Journal struct {
	s    *Service
	sink ClaimSink
}

// NewJournal returns a Journal writing through sink.
func NewJournal(s *Service, sink ClaimSink) *Journal {
	return &Journal{s: s, sink: sink}
}

// orphanAfter is the age at which a journal entry is taken to be an
// orphan, left by a process that died before persisting its claim, rather
// than a claim its process is persisting right now. The drain and the
// reconciliation leave younger entries to Run.
const orphanAfter = 15 * time.Second

// persistBatch bounds the claims persisted in one transaction.
const persistBatch = 200

// maxFeed bounds the claims waiting in memory for Run; beyond it claims
// wait in the journal for the drain instead.
const maxFeed = 100_000

// wonFeed holds the claims this process won until Run persists them.
type wonFeed struct {
	mu     sync.Mutex
	claims []Claim
	wake   chan struct{}
}

func (f *wonFeed) add(c Claim) {
	f.mu.Lock()
	if len(f.claims) < maxFeed {
		f.claims = append(f.claims, c)
	}
	f.mu.Unlock()
	f.poke()
}

// poke wakes a lane waiting for claims.
func (f *wonFeed) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// waiting counts the claims not taken yet.
func (f *wonFeed) waiting() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.claims)
}

// take removes up to n claims, oldest first.
func (f *wonFeed) take(n int) []Claim {
	f.mu.Lock()
	defer f.mu.Unlock()
	n = min(n, len(f.claims))
	out := make([]Claim, n)
	copy(out, f.claims)
	rest := copy(f.claims, f.claims[n:])
	clear(f.claims[rest:])
	f.claims = f.claims[:rest]
	return out
}

// persistLanes is how many batches Run writes at once: while one is in
// the database, the next is being built.
const persistLanes = 2

// Run persists the claims this process wins, in batches of whatever
// arrived while the previous ones were written, and removes their journal
// entries once committed; it returns when ctx is done, after persisting
// what is left. Every process that serves claims runs one. A batch that
// fails is tried claim by claim, so one bad claim holds no other back; a
// claim that still fails stays in its journal for the drain.
func (j *Journal) Run(ctx context.Context) {
	f := &wonFeed{wake: make(chan struct{}, 1)}
	if !j.s.feed.CompareAndSwap(nil, f) {
		j.s.log.Error("a flash-sale journal is already running in this process")
		return
	}
	var lanes sync.WaitGroup
	for range persistLanes {
		lanes.Go(func() { j.write(ctx, f) })
	}
	lanes.Wait()
	// Claims won from now on wait in the journal for the drain.
	j.s.feed.Store(nil)
	flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for batch := f.take(persistBatch); len(batch) > 0 && flush.Err() == nil; batch = f.take(persistBatch) {
		j.persist(flush, batch)
	}
}

// write is one lane of Run: it persists batches until ctx is done.
func (j *Journal) write(ctx context.Context, f *wonFeed) {
	// A batch under way is finished even when ctx ends meanwhile.
	work := context.WithoutCancel(ctx)
	for {
		batch := f.take(persistBatch)
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-f.wake:
				continue
			}
		}
		if f.waiting() > 0 {
			// The other lane takes the next batch meanwhile.
			f.poke()
		}
		j.persist(work, batch)
	}
}

// persist writes a batch of claims and acknowledges those written.
func (j *Journal) persist(ctx context.Context, batch []Claim) {
	done := batch
	if err := j.sink.PersistClaims(ctx, batch); err != nil {
		done = nil
		if len(batch) > 1 && ctx.Err() == nil {
			for _, c := range batch {
				if err := j.sink.PersistClaims(ctx, []Claim{c}); err != nil {
					j.s.log.Error("persist flash-sale claim; the drain will retry", "claim_id", c.ID, "err", err)
					continue
				}
				done = append(done, c)
			}
		} else {
			j.s.log.Error("persist flash-sale claims; the drain will retry", "claims", len(batch), "err", err)
		}
	}
	if err := j.s.Acknowledge(ctx, done...); err != nil {
		// The drain will find the entries and persist them again, harmlessly.
		j.s.log.Warn("acknowledge flash-sale claims", "claims", len(done), "err", err)
	}
}

// journalEntry is one won claim waiting in a sale's journal.
type journalEntry struct {
	id    string
	claim Claim
	err   error
}

// journalClaims reads a sale's whole journal.
func (s *Service) journalClaims(ctx context.Context, saleID string) ([]Claim, error) {
	entries, err := s.journal(ctx, saleID, "+", 0)
	if err != nil {
		return nil, err
	}
	out := make([]Claim, 0, len(entries))
	for _, e := range entries {
		if e.err == nil {
			out = append(out, e.claim)
		}
	}
	return out, nil
}

// journal reads up to limit entries (all when 0) of a sale's journal, up
// to the entry id until ("+" for the end).
func (s *Service) journal(ctx context.Context, saleID, until string, limit int64) ([]journalEntry, error) {
	var msgs []redis.XMessage
	var err error
	if limit > 0 {
		msgs, err = s.redis.XRangeN(ctx, keysOf(saleID).journal, "-", until, limit).Result()
	} else {
		msgs, err = s.redis.XRange(ctx, keysOf(saleID).journal, "-", until).Result()
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read journal of %s: %w", saleID, err)
	}
	out := make([]journalEntry, 0, len(msgs))
	for _, m := range msgs {
		rec, _ := m.Values["claim"].(string)
		c, err := parseRecord(rec)
		c.entry = m.ID
		out = append(out, journalEntry{id: m.ID, claim: c, err: err})
	}
	return out, nil
}

// Drain persists the claims left in a sale's journal for longer than
// orphanAfter (younger ones are being persisted by the process that won
// them) and removes each entry once persisted. It returns how many it
// persisted. A failure leaves the entries for the next drain.
func (j *Journal) Drain(ctx context.Context, saleID string) (int, error) {
	// Entry ids are Redis's clock in milliseconds; an id of milliseconds
	// alone ends the range after every entry of that millisecond.
	until := strconv.FormatInt(j.s.now().Add(-orphanAfter).UnixMilli(), 10)
	done := 0
	for {
		entries, err := j.s.journal(ctx, saleID, until, persistBatch)
		if err != nil {
			return done, err
		}
		if len(entries) == 0 {
			return done, nil
		}
		claims := make([]Claim, 0, len(entries))
		ids := make([]string, 0, len(entries))
		for _, e := range entries {
			ids = append(ids, e.id)
			if e.err != nil {
				// A record that cannot be read never will be: keep it out
				// of the way, loudly; reconciliation still sees the claim
				// in the claims hash.
				j.s.log.Error("unreadable flash-sale journal entry", "flash_sale_id", saleID, "entry", e.id, "err", e.err)
				continue
			}
			claims = append(claims, e.claim)
		}
		if len(claims) > 0 {
			if err := j.sink.PersistClaims(ctx, claims); err != nil {
				return done, fmt.Errorf("persist %d claims of %s: %w", len(claims), saleID, err)
			}
		}
		done += len(claims)
		if err := j.s.redis.XDel(ctx, keysOf(saleID).journal, ids...).Err(); err != nil {
			return done, fmt.Errorf("trim journal of %s: %w", saleID, err)
		}
		if len(entries) < persistBatch {
			return done, nil
		}
	}
}

// openSales lists the sales not finished yet.
func (s *Service) openSales(ctx context.Context) ([]FlashSale, error) {
	var rows []flashSaleRow
	if err := s.db.NewSelect().Model(&rows).Where("finished_at IS NULL").OrderExpr("starts_at").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list open flash sales: %w", err)
	}
	out := make([]FlashSale, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.sale())
	}
	return out, nil
}

// DrainAll drains the journal of every sale not finished yet: the claims
// of processes that died before persisting them.
func (j *Journal) DrainAll(ctx context.Context) (int, error) {
	sales, err := j.s.openSales(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, f := range sales {
		n, err := j.Drain(ctx, f.ID)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// Repair counts what a reconciliation fixed.
type Repair struct {
	// Armed is set when Redis had forgotten the sale and it was armed again.
	Armed bool `json:"armed"`
	// Drained counts journal entries persisted.
	Drained int `json:"drained"`
	// Persisted counts claims Redis held that the database lacked.
	Persisted int `json:"persisted"`
	// Restored counts claims the database held that Redis lacked.
	Restored int `json:"restored"`
	// Released counts claims released in the database but still held in Redis.
	Released int `json:"released"`
}

// Gaps reports whether the reconciliation found anything to repair beyond
// the journal's normal backlog.
func (r Repair) Gaps() bool { return r.Armed || r.Persisted > 0 || r.Restored > 0 || r.Released > 0 }

func (r *Repair) add(o Repair) {
	r.Armed = r.Armed || o.Armed
	r.Drained += o.Drained
	r.Persisted += o.Persisted
	r.Restored += o.Restored
	r.Released += o.Released
}

// Reconcile drains a sale's journal, then compares Redis with the database
// and repairs both ways, leaving alone the claims won in the last
// orphanAfter, which their processes are persisting. Redis is read before the database: claims are
// written to Redis before the database and released in the database before
// Redis, so this order never mistakes a claim in flight for a lost one.
func (j *Journal) Reconcile(ctx context.Context, saleID string) (Repair, error) {
	var rep Repair
	n, err := j.Drain(ctx, saleID)
	rep.Drained = n
	if err != nil {
		return rep, err
	}
	snap, err := j.s.engine.snapshot(ctx, saleID)
	if err != nil {
		return rep, err
	}
	var sale flashSaleRow
	if err := j.s.db.NewSelect().Model(&sale).Where("id = ?", saleID).Scan(ctx); err != nil {
		return rep, notFound(err, ErrFlashSaleNotFound)
	}
	if sale.FinishedAt != nil {
		return rep, nil
	}
	if !snap.armed {
		if err := j.s.armFromDB(ctx, saleID); err != nil {
			return rep, err
		}
		rep.Armed = true
		return rep, nil
	}
	var rows []claimRow
	if err := j.s.db.NewSelect().Model(&rows).Where("flash_sale_id = ?", saleID).Scan(ctx); err != nil {
		return rep, fmt.Errorf("read claims of %s: %w", saleID, err)
	}
	inDB := make(map[string]claimRow, len(rows))
	for _, r := range rows {
		inDB[r.ID] = r
	}
	// Claims won in the last moments are on their way to the database.
	recent := j.s.now().Add(-orphanAfter)
	var lost []Claim
	for id, rec := range snap.claims {
		r, ok := inDB[id]
		switch {
		case !ok:
			c, err := parseRecord(rec)
			if err != nil {
				j.s.log.Error("unreadable flash-sale claim record", "flash_sale_id", saleID, "claim_id", id, "err", err)
				continue
			}
			if c.At.After(recent) {
				continue
			}
			lost = append(lost, c)
		case r.ReleasedAt != nil:
			released, err := j.s.engine.runRelease(ctx, saleID, r.ID, r.MemberID, r.Quantity)
			if err != nil {
				return rep, err
			}
			if released {
				rep.Released++
			}
		}
	}
	for start := 0; start < len(lost); start += persistBatch {
		part := lost[start:min(start+persistBatch, len(lost))]
		if err := j.sink.PersistClaims(ctx, part); err != nil {
			return rep, fmt.Errorf("persist %d claims of %s: %w", len(part), saleID, err)
		}
		rep.Persisted += len(part)
	}
	for _, r := range rows {
		if _, ok := snap.claims[r.ID]; ok || r.ReleasedAt != nil {
			continue
		}
		rec := Claim{ID: r.ID, FlashSaleID: r.FlashSaleID, MemberID: r.MemberID, Quantity: r.Quantity, At: r.CreatedAt.UTC()}.record()
		restored, err := j.s.engine.runRestore(ctx, saleID, r.ID, r.MemberID, r.Quantity, rec)
		if err != nil {
			return rep, err
		}
		if restored {
			rep.Restored++
		}
	}
	if rep.Gaps() {
		j.s.log.Warn("flash sale reconciled", "flash_sale_id", saleID, "persisted", rep.Persisted, "restored", rep.Restored, "released", rep.Released)
	}
	return rep, nil
}

// ReconcileAll reconciles every sale not finished yet.
func (j *Journal) ReconcileAll(ctx context.Context) (Repair, error) {
	var total Repair
	sales, err := j.s.openSales(ctx)
	if err != nil {
		return total, err
	}
	var errs []error
	for _, f := range sales {
		rep, err := j.Reconcile(ctx, f.ID)
		total.add(rep)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// Finish closes an ended sale: it reconciles it one last time, so every
// winner is in the database, then returns the units no claim holds to the
// SKU's stock. It is idempotent, and refuses a sale that has not ended
// (ErrSaleRunning), so an early task is retried.
func (j *Journal) Finish(ctx context.Context, saleID string) error {
	f, err := j.s.FlashSaleOf(ctx, j.s.db, saleID)
	if err != nil {
		return err
	}
	if f.FinishedAt != nil {
		return nil
	}
	if j.s.now().Before(f.EndsAt.Add(finishGrace)) {
		return fmt.Errorf("%w: it ends at %s", ErrSaleRunning, f.EndsAt)
	}
	if _, err := j.Reconcile(ctx, saleID); err != nil {
		return err
	}
	err = j.s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		sale, err := lockSale(ctx, tx, saleID)
		if err != nil {
			return err
		}
		if sale.FinishedAt != nil {
			return nil
		}
		sold, err := soldUnits(ctx, tx, saleID)
		if err != nil {
			return err
		}
		unsold := sale.Quantity - sold
		if unsold < 0 {
			return fmt.Errorf("flash sale %s holds %d claimed units for a quantity of %d", saleID, sold, sale.Quantity)
		}
		now := j.s.now()
		if _, err := tx.NewUpdate().Model((*flashSaleRow)(nil)).Set("finished_at = ?", now).Set("returned = ?", unsold).
			Where("id = ?", saleID).Exec(ctx); err != nil {
			return fmt.Errorf("finish flash sale: %w", err)
		}
		if unsold > 0 {
			return j.s.Release(ctx, tx, []Line{{SKUID: sale.SKUID, Quantity: unsold}})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return j.s.engine.expire(ctx, saleID)
}
