package payments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/outbox"
)

// Refund statuses.
const (
	RefundRequested  = "requested"  // asked for by the shopper, waiting for staff
	RefundRejected   = "rejected"   // refused by staff
	RefundProcessing = "processing" // approved, at WeChat Pay
	RefundSucceeded  = "succeeded"  // the money is back with the shopper
	RefundAbnormal   = "abnormal"   // WeChat Pay could not pay it back; staff act
	RefundClosed     = "closed"     // WeChat Pay closed it; nothing was refunded
)

// Refund is an after-sales refund of (part of) an order.
type Refund struct {
	ID          string     `json:"id"`
	OrderID     string     `json:"order_id"`
	MemberID    string     `json:"member_id"`
	OutRefundNo string     `json:"out_refund_no"`
	Amount      int64      `json:"amount"`
	Reason      string     `json:"reason"`
	Status      string     `json:"status"`
	RequestedBy string     `json:"requested_by"`
	DecidedBy   string     `json:"decided_by,omitempty"`
	Note        string     `json:"note,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
	SettledAt   *time.Time `json:"settled_at,omitempty"`
}

type refundRow struct {
	bun.BaseModel `bun:"table:refunds"`

	ID             string     `bun:"id,pk"`
	OrderID        string     `bun:"order_id,notnull"`
	MemberID       string     `bun:"member_id,notnull"`
	OutRefundNo    string     `bun:"out_refund_no,notnull"`
	Amount         int64      `bun:"amount,notnull"`
	Reason         string     `bun:"reason,notnull"`
	Status         string     `bun:"status,notnull"`
	RequestedBy    string     `bun:"requested_by,notnull"`
	DecidedBy      string     `bun:"decided_by,notnull"`
	DecisionNote   string     `bun:"decision_note,notnull"`
	WeChatRefundID string     `bun:"wechat_refund_id,notnull"`
	CreatedAt      time.Time  `bun:"created_at,notnull"`
	DecidedAt      *time.Time `bun:"decided_at"`
	SettledAt      *time.Time `bun:"settled_at"`
	UpdatedAt      time.Time  `bun:"updated_at,notnull"`
}

func (r refundRow) refund() Refund {
	return Refund{ID: r.ID, OrderID: r.OrderID, MemberID: r.MemberID, OutRefundNo: r.OutRefundNo, Amount: r.Amount,
		Reason: r.Reason, Status: r.Status, RequestedBy: r.RequestedBy, DecidedBy: r.DecidedBy, Note: r.DecisionNote,
		CreatedAt: r.CreatedAt.UTC(), DecidedAt: utc(r.DecidedAt), SettledAt: utc(r.SettledAt)}
}

// holding lists the refund statuses whose amount is (or may be) paid back.
var holding = []string{RefundRequested, RefundProcessing, RefundAbnormal, RefundSucceeded}

// open lists the refund statuses still being handled.
var open = []string{RefundRequested, RefundProcessing, RefundAbnormal}

// refundable returns what is left to refund of an order: its total less
// every refund that holds money. The caller holds the order's lock.
func refundable(ctx context.Context, tx bun.IDB, o orderRow, except string) (int64, error) {
	var held int64
	if err := tx.NewSelect().Model((*refundRow)(nil)).ColumnExpr("COALESCE(SUM(amount), 0)").
		Where("order_id = ? AND status IN (?) AND id <> ?", o.ID, bun.In(holding), except).Scan(ctx, &held); err != nil {
		return 0, fmt.Errorf("sum refunds: %w", err)
	}
	return o.Total - held, nil
}

func validReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		return "", fmt.Errorf("%w: a reason is required", ErrInvalidRefund)
	case n > 200:
		return "", fmt.Errorf("%w: the reason is longer than 200 characters", ErrInvalidRefund)
	}
	return reason, nil
}

// RequestRefund records a shopper's refund request for amount fen of one
// of their paid orders (0: all that is left). One request at a time: a
// second while one is open is ErrRefundOpen.
func (s *Service) RequestRefund(ctx context.Context, memberID, orderID, reason string, amount int64) (Refund, error) {
	reason, err := validReason(reason)
	if err != nil {
		return Refund{}, err
	}
	var out refundRow
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		o, err := lockOrder(ctx, tx, "id = ?", orderID)
		if err != nil {
			return err
		}
		if o.MemberID != memberID {
			return ErrOrderNotFound
		}
		out, err = s.newRefund(ctx, tx, o, amount, reason, "member:"+memberID, RefundRequested)
		return err
	})
	return out.refund(), err
}

// newRefund checks and inserts a refund of o. The caller holds o's lock.
func (s *Service) newRefund(ctx context.Context, tx bun.IDB, o orderRow, amount int64, reason, by, status string) (refundRow, error) {
	if o.Status != StatusPaid && o.Status != StatusShipped {
		return refundRow{}, fmt.Errorf("%w: it is %s", ErrNotRefundable, o.Status)
	}
	n, err := tx.NewSelect().Model((*refundRow)(nil)).Where("order_id = ? AND status IN (?)", o.ID, bun.In(open)).Count(ctx)
	if err != nil {
		return refundRow{}, fmt.Errorf("count open refunds: %w", err)
	}
	if n > 0 {
		return refundRow{}, ErrRefundOpen
	}
	left, err := refundable(ctx, tx, o, "")
	if err != nil {
		return refundRow{}, err
	}
	if left <= 0 {
		return refundRow{}, ErrNotRefundable
	}
	if amount == 0 {
		amount = left
	}
	if amount < 0 || amount > left {
		return refundRow{}, fmt.Errorf("%w: %d fen asked, %d left", ErrRefundTooLarge, amount, left)
	}
	now := s.now()
	id := newID()
	r := refundRow{ID: id, OrderID: o.ID, MemberID: o.MemberID, OutRefundNo: outTradeNo(id), Amount: amount, Reason: reason,
		Status: status, RequestedBy: by, CreatedAt: now, UpdatedAt: now}
	if _, err := tx.NewInsert().Model(&r).Exec(ctx); err != nil {
		return refundRow{}, fmt.Errorf("insert refund: %w", err)
	}
	return r, nil
}

// submit schedules the refund's submission to WeChat Pay after commit.
func submit(ctx context.Context, tx bun.IDB, refundID string) error {
	return outbox.Add(ctx, tx, outbox.Message{
		ID:       "submit-refund:" + refundID,
		TaskType: TaskSubmitRefund,
		Payload:  RefundTask{RefundID: refundID},
		Queue:    "critical",
	})
}

// lockRefund locks a refund and its order (order first, as everywhere).
func lockRefund(ctx context.Context, tx bun.IDB, refundID string) (refundRow, orderRow, error) {
	var r refundRow
	if err := tx.NewSelect().Model(&r).Where("id = ?", refundID).Scan(ctx); err != nil {
		return r, orderRow{}, notFound(err, ErrRefundNotFound)
	}
	o, err := lockOrder(ctx, tx, "id = ?", r.OrderID)
	if err != nil {
		return r, o, err
	}
	if err := database.ForUpdate(tx.NewSelect().Model(&r).Where("id = ?", refundID)).Scan(ctx); err != nil {
		return r, o, notFound(err, ErrRefundNotFound)
	}
	return r, o, nil
}

// ApproveRefund approves a requested refund, optionally lowering its
// amount (amount 0 keeps it), and submits it to WeChat Pay.
func (s *Service) ApproveRefund(ctx context.Context, staffID, refundID string, amount int64) (Refund, error) {
	var out refundRow
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		r, o, err := lockRefund(ctx, tx, refundID)
		if err != nil {
			return err
		}
		if r.Status != RefundRequested {
			return fmt.Errorf("%w: it is %s", ErrRefundDecided, r.Status)
		}
		if amount != 0 {
			left, err := refundable(ctx, tx, o, r.ID)
			if err != nil {
				return err
			}
			if amount < 0 || amount > left {
				return fmt.Errorf("%w: %d fen asked, %d left", ErrRefundTooLarge, amount, left)
			}
			r.Amount = amount
		}
		now := s.now()
		r.Status, r.DecidedBy, r.DecidedAt, r.UpdatedAt = RefundProcessing, staffID, &now, now
		if _, err := tx.NewUpdate().Model(&r).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("approve refund: %w", err)
		}
		out = r
		if err := audit(ctx, tx, staffID, "refund.approve", "refund", r.ID, map[string]int64{"amount": r.Amount}); err != nil {
			return err
		}
		return submit(ctx, tx, r.ID)
	})
	return out.refund(), err
}

// RejectRefund refuses a requested refund with a note for the shopper.
func (s *Service) RejectRefund(ctx context.Context, staffID, refundID, note string) (Refund, error) {
	var out refundRow
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		r, _, err := lockRefund(ctx, tx, refundID)
		if err != nil {
			return err
		}
		if r.Status != RefundRequested {
			return fmt.Errorf("%w: it is %s", ErrRefundDecided, r.Status)
		}
		now := s.now()
		r.Status, r.DecidedBy, r.DecisionNote, r.DecidedAt, r.UpdatedAt = RefundRejected, staffID, strings.TrimSpace(note), &now, now
		if _, err := tx.NewUpdate().Model(&r).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("reject refund: %w", err)
		}
		out = r
		return audit(ctx, tx, staffID, "refund.reject", "refund", r.ID, map[string]string{"note": r.DecisionNote})
	})
	return out.refund(), err
}

// IssueRefund is staff refunding amount fen of an order on their own
// (0: all that is left), approved at once.
func (s *Service) IssueRefund(ctx context.Context, staffID, orderID, reason string, amount int64) (Refund, error) {
	reason, err := validReason(reason)
	if err != nil {
		return Refund{}, err
	}
	var out refundRow
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		o, err := lockOrder(ctx, tx, "id = ?", orderID)
		if err != nil {
			return err
		}
		r, err := s.newRefund(ctx, tx, o, amount, reason, "staff:"+staffID, RefundProcessing)
		if err != nil {
			return err
		}
		now := s.now()
		r.DecidedBy, r.DecidedAt = staffID, &now
		if _, err := tx.NewUpdate().Model(&r).Column("decided_by", "decided_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("approve refund: %w", err)
		}
		out = r
		if err := audit(ctx, tx, staffID, "order.refund", "order", o.ID, map[string]any{"refund_id": r.ID, "amount": r.Amount, "reason": r.Reason}); err != nil {
			return err
		}
		return submit(ctx, tx, r.ID)
	})
	return out.refund(), err
}

// SubmitRefund sends an approved refund to WeChat Pay (the task approval
// asks for). Its out_refund_no never changes, so however often this runs,
// WeChat Pay refunds once.
func (s *Service) SubmitRefund(ctx context.Context, refundID string) error {
	var r refundRow
	if err := s.db.NewSelect().Model(&r).Where("id = ?", refundID).Scan(ctx); err != nil {
		return notFound(err, ErrRefundNotFound)
	}
	if r.Status != RefundProcessing {
		return nil
	}
	o, err := readOrder(ctx, s.db, r.OrderID)
	if err != nil {
		return err
	}
	res, err := s.pay.Refund(ctx, RefundRequest{OutTradeNo: o.OutTradeNo, OutRefundNo: r.OutRefundNo, Reason: r.Reason,
		Amount: r.Amount, Total: o.Total})
	if err != nil {
		return err
	}
	if _, err := s.db.NewUpdate().Model((*refundRow)(nil)).Set("wechat_refund_id = ?", res.RefundID).
		Where("id = ?", r.ID).Exec(ctx); err != nil {
		return fmt.Errorf("store refund id: %w", err)
	}
	_, err = s.applyRefund(ctx, res, "")
	return err
}

// applyRefund brings a refund in line with WeChat Pay's word on it (a
// notification with its id, or a query or creation with none), once.
func (s *Service) applyRefund(ctx context.Context, res RefundResult, notificationID string) (bool, error) {
	changed := false
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.remember(ctx, tx, notificationID, "REFUND."+res.Status, res.OutRefundNo); err != nil {
			return err
		}
		var found refundRow
		if err := tx.NewSelect().Model(&found).Where("out_refund_no = ?", res.OutRefundNo).Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: no refund %s", ErrMismatch, res.OutRefundNo)
			}
			return notFound(err, ErrRefundNotFound)
		}
		r, o, err := lockRefund(ctx, tx, found.ID)
		if err != nil {
			return err
		}
		if res.Amount != r.Amount || (res.OutTradeNo != "" && res.OutTradeNo != o.OutTradeNo) {
			return fmt.Errorf("%w: refund %s of %d fen for %s, ours is %d fen for %s", ErrMismatch, res.OutRefundNo, res.Amount, res.OutTradeNo, r.Amount, o.OutTradeNo)
		}
		if r.Status != RefundProcessing && r.Status != RefundAbnormal {
			return nil
		}
		now := s.now()
		switch res.Status {
		case "SUCCESS":
			r.Status, r.SettledAt = RefundSucceeded, &now
			o.Refunded += r.Amount
			if o.Refunded > o.Total {
				return fmt.Errorf("refund %s would take %d fen of an order of %d", r.ID, o.Refunded, o.Total)
			}
			q := tx.NewUpdate().Model((*orderRow)(nil)).Set("refunded = ?", o.Refunded).Set("updated_at = ?", now)
			if o.Refunded == o.Total {
				q = q.Set("status = ?", StatusRefunded)
			}
			if _, err := q.Where("id = ?", o.ID).Exec(ctx); err != nil {
				return fmt.Errorf("record refund on order: %w", err)
			}
			if o.Refunded == o.Total && o.CouponID != "" && s.cfg.Coupons != nil {
				// A fully refunded order gives its coupon back.
				if err := s.cfg.Coupons.Release(ctx, tx, o.MemberID, o.CouponID, o.ID); err != nil {
					return err
				}
			}
			if err := outbox.Add(ctx, tx, outbox.Message{
				ID:       "reverse-commissions:" + r.ID,
				TaskType: TaskReverseCommission,
				Payload:  RefundTask{RefundID: r.ID},
			}); err != nil {
				return err
			}
		case "CLOSED":
			r.Status, r.SettledAt = RefundClosed, &now
		case "ABNORMAL":
			if r.Status == RefundAbnormal {
				return nil
			}
			r.Status = RefundAbnormal
			s.log.Error("refund abnormal: the shopper's account could not receive it; act in the merchant platform", "refund_id", r.ID)
		default:
			return nil
		}
		r.UpdatedAt = now
		if _, err := tx.NewUpdate().Model(&r).Column("status", "settled_at", "updated_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("update refund: %w", err)
		}
		changed = true
		return nil
	})
	return changed, err
}

// ReconcileRefunds asks WeChat Pay about up to limit refunds processing for
// longer than PendingAfter, and settles them as it answers.
func (s *Service) ReconcileRefunds(ctx context.Context, limit int) (int, error) {
	var rows []refundRow
	if err := s.db.NewSelect().Model(&rows).Where("status IN (?) AND updated_at <= ?",
		bun.In([]string{RefundProcessing, RefundAbnormal}), s.now().Add(-s.cfg.PendingAfter)).
		OrderExpr("updated_at").Limit(int64(limit)).Scan(ctx); err != nil {
		return 0, fmt.Errorf("find processing refunds: %w", err)
	}
	changed := 0
	var errs []error
	for _, r := range rows {
		res, err := s.pay.QueryRefund(ctx, r.OutRefundNo)
		if errors.Is(err, ErrWeChatOrderNotFound) {
			// The submission never arrived: submit again.
			err = s.SubmitRefund(ctx, r.ID)
			if err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ok, err := s.applyRefund(ctx, res, "")
		if err != nil {
			errs = append(errs, err)
		} else if ok {
			changed++
		}
	}
	return changed, errors.Join(errs...)
}

// Refunds lists refunds, newest first: of an order, or by status.
func (s *Service) Refunds(ctx context.Context, orderID, status string, limit int) ([]Refund, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var rows []refundRow
	q := s.db.NewSelect().Model(&rows).OrderExpr("id DESC").Limit(int64(limit))
	if orderID != "" {
		q = q.Where("order_id = ?", orderID)
	}
	if status != "" {
		q = q.Where("status = ?", status)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list refunds: %w", err)
	}
	out := make([]Refund, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.refund())
	}
	return out, nil
}

// MemberRefunds lists the refunds of one of the member's orders.
func (s *Service) MemberRefunds(ctx context.Context, memberID, orderID string) ([]Refund, error) {
	if _, err := s.MemberOrder(ctx, memberID, orderID); err != nil {
		return nil, err
	}
	return s.Refunds(ctx, orderID, "", 200)
}

// RefundByID returns one refund.
func (s *Service) RefundByID(ctx context.Context, id string) (Refund, error) {
	var r refundRow
	if err := s.db.NewSelect().Model(&r).Where("id = ?", id).Scan(ctx); err != nil {
		return Refund{}, notFound(err, ErrRefundNotFound)
	}
	return r.refund(), nil
}
