package payments

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Commission beneficiaries and entry statuses.
const (
	BeneficiaryHost    = "host"
	BeneficiaryInviter = "inviter"

	CommissionPending = "pending" // inside the refund window
	CommissionSettled = "settled" // payable
)

// CommissionEntry is one line of the commission ledger: an accrual for a
// paid order (positive), or a reversal for a refund (negative).
type CommissionEntry struct {
	ID              string     `json:"id"`
	OrderID         string     `json:"order_id"`
	RefundID        string     `json:"refund_id,omitempty"`
	BeneficiaryKind string     `json:"beneficiary_kind"`
	BeneficiaryID   string     `json:"beneficiary_id"`
	ShowID          string     `json:"show_id,omitempty"`
	Basis           int64      `json:"basis"`
	Amount          int64      `json:"amount"`
	Status          string     `json:"status"`
	AvailableAt     time.Time  `json:"available_at"`
	CreatedAt       time.Time  `json:"created_at"`
	SettledAt       *time.Time `json:"settled_at,omitempty"`
}

type commissionRow struct {
	bun.BaseModel `bun:"table:commission_entries"`

	ID              string     `bun:"id,pk"`
	OrderID         string     `bun:"order_id,notnull"`
	RefundID        string     `bun:"refund_id,notnull"`
	BeneficiaryKind string     `bun:"beneficiary_kind,notnull"`
	BeneficiaryID   string     `bun:"beneficiary_id,notnull"`
	ShowID          string     `bun:"show_id,notnull"`
	Basis           int64      `bun:"basis,notnull"`
	Amount          int64      `bun:"amount,notnull"`
	Status          string     `bun:"status,notnull"`
	AvailableAt     time.Time  `bun:"available_at,notnull"`
	CreatedAt       time.Time  `bun:"created_at,notnull"`
	SettledAt       *time.Time `bun:"settled_at"`
}

func (r commissionRow) entry() CommissionEntry {
	return CommissionEntry{ID: r.ID, OrderID: r.OrderID, RefundID: r.RefundID, BeneficiaryKind: r.BeneficiaryKind,
		BeneficiaryID: r.BeneficiaryID, ShowID: r.ShowID, Basis: r.Basis, Amount: r.Amount, Status: r.Status,
		AvailableAt: r.AvailableAt.UTC(), CreatedAt: r.CreatedAt.UTC(), SettledAt: utc(r.SettledAt)}
}

// accrue writes, through db, the accruals of order r paid at paidAt: the
// show's host and the member's inviter, each at their rate of the amount
// paid, pending until the refund window ends. The ledger's unique key
// makes a repeated write change nothing.
func (s *Service) accrue(ctx context.Context, db bun.IDB, r orderRow, paidAt time.Time) error {
	now := s.now()
	var rows []commissionRow
	for _, b := range []struct {
		kind, id string
		rate     int64
	}{{BeneficiaryHost, r.HostID, s.cfg.HostRate}, {BeneficiaryInviter, r.InviterID, s.cfg.InviterRate}} {
		amount := r.Total * b.rate / 10000
		if b.id == "" || amount <= 0 {
			continue
		}
		rows = append(rows, commissionRow{ID: newID(), OrderID: r.ID, BeneficiaryKind: b.kind, BeneficiaryID: b.id,
			ShowID: r.ShowID, Basis: r.Total, Amount: amount, Status: CommissionPending,
			AvailableAt: paidAt.Add(s.cfg.RefundWindow), CreatedAt: now})
	}
	if len(rows) == 0 {
		return nil
	}
	if _, err := db.NewInsert().Model(&rows).On("CONFLICT (order_id, refund_id, beneficiary_kind) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("accrue commissions: %w", err)
	}
	return nil
}

// AccrueCommissions writes the accruals of a paid order. A payment writes
// its accruals in its own transaction; this is the task that payments
// queued before they did, still in the outbox or the queue during an
// upgrade, so it must keep working.
func (s *Service) AccrueCommissions(ctx context.Context, orderID string) error {
	r, err := readOrder(ctx, s.db, orderID)
	if err != nil {
		return err
	}
	if r.PaidAt == nil {
		return nil
	}
	if err := s.accrue(ctx, s.db, r, *r.PaidAt); err != nil {
		return err
	}
	// Refunds that succeeded before this accrual found nothing to reverse.
	var refunds []string
	if err := s.db.NewSelect().Model((*refundRow)(nil)).Column("id").Where("order_id = ? AND status = ?", r.ID, RefundSucceeded).
		OrderExpr("id").Scan(ctx, &refunds); err != nil {
		return fmt.Errorf("read refunds: %w", err)
	}
	for _, id := range refunds {
		if err := s.ReverseCommissions(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// ReverseCommissions writes, for a succeeded refund, a reversal of each
// accrual of its order in proportion to the amount refunded; the refund
// that completes a full refund reverses whatever remains. Repeated runs
// change nothing.
func (s *Service) ReverseCommissions(ctx context.Context, refundID string) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var rf refundRow
		if err := tx.NewSelect().Model(&rf).Where("id = ?", refundID).Scan(ctx); err != nil {
			return notFound(err, ErrRefundNotFound)
		}
		if rf.Status != RefundSucceeded {
			return nil
		}
		// The order's lock orders reversals of concurrent refunds.
		o, err := lockOrder(ctx, tx, "id = ?", rf.OrderID)
		if err != nil {
			return err
		}
		var entries []commissionRow
		if err := tx.NewSelect().Model(&entries).Where("order_id = ?", o.ID).Scan(ctx); err != nil {
			return fmt.Errorf("read commissions: %w", err)
		}
		accrued, reversed := map[string]commissionRow{}, map[string]int64{}
		for _, e := range entries {
			switch {
			case e.RefundID == "":
				accrued[e.BeneficiaryKind] = e
			case e.RefundID == refundID:
				return nil
			default:
				reversed[e.BeneficiaryKind] += e.Amount
			}
		}
		now := s.now()
		var rows []commissionRow
		for kind, a := range accrued {
			amount := -(a.Amount * rf.Amount / a.Basis)
			if o.Refunded >= o.Total {
				amount = -(a.Amount + reversed[kind])
			}
			if amount == 0 {
				continue
			}
			rows = append(rows, commissionRow{ID: newID(), OrderID: o.ID, RefundID: refundID, BeneficiaryKind: kind,
				BeneficiaryID: a.BeneficiaryID, ShowID: a.ShowID, Basis: rf.Amount, Amount: amount,
				Status: CommissionPending, AvailableAt: now, CreatedAt: now})
		}
		if len(rows) == 0 {
			return nil
		}
		if _, err := tx.NewInsert().Model(&rows).On("CONFLICT (order_id, refund_id, beneficiary_kind) DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("reverse commissions: %w", err)
		}
		return nil
	})
}

// SettleCommissions settles the entries whose refund window is over and
// returns how many.
func (s *Service) SettleCommissions(ctx context.Context) (int, error) {
	now := s.now()
	res, err := s.db.NewUpdate().Model((*commissionRow)(nil)).Set("status = ?", CommissionSettled).Set("settled_at = ?", now).
		Where("status = ? AND available_at <= ?", CommissionPending, now).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("settle commissions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// CommissionLine is one beneficiary's line of the commission report.
type CommissionLine struct {
	BeneficiaryKind string `json:"beneficiary_kind"`
	BeneficiaryID   string `json:"beneficiary_id"`
	Orders          int    `json:"orders"`
	Accrued         int64  `json:"accrued"`
	Reversed        int64  `json:"reversed"`
	Pending         int64  `json:"pending"`
	Settled         int64  `json:"settled"`
	Net             int64  `json:"net"`
}

// CommissionReport sums the ledger entries created in [from, to) by
// beneficiary (zero times leave that end open), optionally for one show.
func (s *Service) CommissionReport(ctx context.Context, from, to time.Time, showID string) ([]CommissionLine, error) {
	var out []CommissionLine
	q := s.db.NewSelect().Model((*commissionRow)(nil)).
		ColumnExpr("beneficiary_kind, beneficiary_id").
		ColumnExpr("COUNT(DISTINCT CASE WHEN amount > 0 THEN order_id END) AS orders").
		ColumnExpr("COALESCE(SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END), 0) AS accrued").
		ColumnExpr("COALESCE(SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END), 0) AS reversed").
		ColumnExpr("COALESCE(SUM(CASE WHEN status = ? THEN amount ELSE 0 END), 0) AS pending", CommissionPending).
		ColumnExpr("COALESCE(SUM(CASE WHEN status = ? THEN amount ELSE 0 END), 0) AS settled", CommissionSettled).
		ColumnExpr("COALESCE(SUM(amount), 0) AS net").
		GroupExpr("beneficiary_kind, beneficiary_id").OrderExpr("net DESC, beneficiary_id")
	if !from.IsZero() {
		q = q.Where("created_at >= ?", from.UTC())
	}
	if !to.IsZero() {
		q = q.Where("created_at < ?", to.UTC())
	}
	if showID != "" {
		q = q.Where("show_id = ?", showID)
	}
	if err := q.Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("commission report: %w", err)
	}
	if out == nil {
		out = []CommissionLine{}
	}
	return out, nil
}

// CommissionEntries lists the ledger entries of an order, or of a
// beneficiary, oldest first.
func (s *Service) CommissionEntries(ctx context.Context, orderID, beneficiaryID string) ([]CommissionEntry, error) {
	var rows []commissionRow
	q := s.db.NewSelect().Model(&rows).OrderExpr("created_at, id").Limit(int64(500))
	if orderID != "" {
		q = q.Where("order_id = ?", orderID)
	}
	if beneficiaryID != "" {
		q = q.Where("beneficiary_id = ?", beneficiaryID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list commissions: %w", err)
	}
	out := make([]CommissionEntry, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.entry())
	}
	return out, nil
}
