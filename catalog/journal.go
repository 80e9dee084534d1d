package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"
)

// ClaimSink turns won claims into orders. PersistClaim must be idempotent:
// the same claim may arrive from the request that won it, the drainer and
// the reconciliation, in any order and at the same time.
type ClaimSink interface {
	PersistClaim(ctx context.Context, c Claim) error
}

// Journal drains the flash-sale journals to the database through a sink,
// reconciles Redis with the database, and finishes ended sales.
type Journal struct {
	s    *Service
	sink ClaimSink
}

// NewJournal returns a Journal writing through sink.
func NewJournal(s *Service, sink ClaimSink) *Journal {
	return &Journal{s: s, sink: sink}
}

// journalEntry is one won claim waiting in a sale's journal.
type journalEntry struct {
	id    string
	claim Claim
	err   error
}

// journalClaims reads a sale's journal.
func (s *Service) journalClaims(ctx context.Context, saleID string) ([]Claim, error) {
	entries, err := s.journal(ctx, saleID, 0)
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

func (s *Service) journal(ctx context.Context, saleID string, limit int64) ([]journalEntry, error) {
	var msgs []redis.XMessage
	var err error
	if limit > 0 {
		msgs, err = s.redis.XRangeN(ctx, keysOf(saleID).journal, "-", "+", limit).Result()
	} else {
		msgs, err = s.redis.XRange(ctx, keysOf(saleID).journal, "-", "+").Result()
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read journal of %s: %w", saleID, err)
	}
	out := make([]journalEntry, 0, len(msgs))
	for _, m := range msgs {
		rec, _ := m.Values["claim"].(string)
		c, err := parseRecord(rec)
		out = append(out, journalEntry{id: m.ID, claim: c, err: err})
	}
	return out, nil
}

// Drain persists every claim in a sale's journal and removes each entry
// once persisted. It returns how many it persisted. A failure leaves the
// entry for the next drain.
func (j *Journal) Drain(ctx context.Context, saleID string) (int, error) {
	done := 0
	for {
		entries, err := j.s.journal(ctx, saleID, 500)
		if err != nil {
			return done, err
		}
		if len(entries) == 0 {
			return done, nil
		}
		for _, e := range entries {
			if e.err != nil {
				// A record that cannot be read never will be: keep it out
				// of the way, loudly; reconciliation still sees the claim
				// in the claims hash.
				j.s.log.Error("unreadable flash-sale journal entry", "flash_sale_id", saleID, "entry", e.id, "err", e.err)
			} else if err := j.sink.PersistClaim(ctx, e.claim); err != nil {
				return done, fmt.Errorf("persist claim %s: %w", e.claim.ID, err)
			} else {
				done++
			}
			if err := j.s.redis.XDel(ctx, keysOf(saleID).journal, e.id).Err(); err != nil {
				return done, fmt.Errorf("trim journal of %s: %w", saleID, err)
			}
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

// DrainAll drains the journal of every sale not finished yet.
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
// and repairs both ways. Redis is read before the database: claims are
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
	for id, rec := range snap.claims {
		r, ok := inDB[id]
		switch {
		case !ok:
			c, err := parseRecord(rec)
			if err != nil {
				j.s.log.Error("unreadable flash-sale claim record", "flash_sale_id", saleID, "claim_id", id, "err", err)
				continue
			}
			if err := j.sink.PersistClaim(ctx, c); err != nil {
				return rep, fmt.Errorf("persist claim %s: %w", id, err)
			}
			rep.Persisted++
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
