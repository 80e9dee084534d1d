package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// errReplay marks a notification whose id was already handled.
var errReplay = errors.New("notification already handled")

// ErrMismatch is a payment result that does not match its order: another
// appid or merchant, another amount, or an order Siyu does not have.
var ErrMismatch = errors.New("payment result does not match the order")

type notificationRow struct {
	bun.BaseModel `bun:"table:payment_notifications"`

	ID         string    `bun:"id,pk"`
	EventType  string    `bun:"event_type,notnull"`
	Reference  string    `bun:"reference,notnull"`
	ReceivedAt time.Time `bun:"received_at,notnull"`
}

// remember stores a notification id through tx and returns errReplay when
// it was already there. It is called first in the transaction of the
// change, so concurrent deliveries of one notification serialize on its
// key and only the first changes anything.
func (s *Service) remember(ctx context.Context, tx bun.IDB, id, eventType, reference string) error {
	if id == "" {
		return nil
	}
	res, err := tx.NewInsert().Model(&notificationRow{ID: id, EventType: eventType, Reference: reference, ReceivedAt: s.now()}).
		On("CONFLICT (id) DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("remember notification %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errReplay
	}
	return nil
}

// applyTransaction brings an order in line with what WeChat Pay says of
// its transaction (a notification with its id, or a query with none). A
// paid transaction makes a pending order paid, once. It reports whether
// the order changed.
func (s *Service) applyTransaction(ctx context.Context, t Transaction, notificationID string) (bool, error) {
	changed := false
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.remember(ctx, tx, notificationID, "TRANSACTION."+t.TradeState, t.OutTradeNo); err != nil {
			return err
		}
		o, err := lockOrder(ctx, tx, "out_trade_no = ?", t.OutTradeNo)
		if errors.Is(err, ErrOrderNotFound) {
			return fmt.Errorf("%w: no order %s", ErrMismatch, t.OutTradeNo)
		}
		if err != nil {
			return err
		}
		switch {
		case t.AppID != s.pay.AppID():
			return fmt.Errorf("%w: appid %s, not %s", ErrMismatch, t.AppID, s.pay.AppID())
		case t.MchID != s.pay.MchID():
			return fmt.Errorf("%w: mchid %s, not %s", ErrMismatch, t.MchID, s.pay.MchID())
		case t.Total != o.Total:
			return fmt.Errorf("%w: amount %d, the order's is %d", ErrMismatch, t.Total, o.Total)
		}
		if !t.Paid() {
			return nil
		}
		switch o.Status {
		case StatusPending:
		case StatusClosed:
			// Orders are closed locally only after WeChat Pay closed them,
			// so this is an anomaly; the money is real, so is the payment.
			s.log.Error("payment for a closed order: its stock was released; refund or fulfil it by hand", "order_id", o.ID, "transaction_id", t.TransactionID)
		default:
			return nil
		}
		paidAt := t.SuccessTime
		if paidAt.IsZero() {
			paidAt = s.now()
		}
		if _, err := tx.NewUpdate().Model((*orderRow)(nil)).
			Set("status = ?", StatusPaid).Set("paid_at = ?", paidAt).Set("transaction_id = ?", t.TransactionID).
			Set("updated_at = ?", s.now()).Where("id = ?", o.ID).Exec(ctx); err != nil {
			return fmt.Errorf("mark order paid: %w", err)
		}
		if o.CouponID != "" && s.cfg.Coupons != nil {
			if err := s.cfg.Coupons.Redeem(ctx, tx, o.MemberID, o.CouponID, o.ID); err != nil {
				return err
			}
		}
		changed = true
		// The ledger is written with the payment: no refund can precede
		// it, and no paid order is ever without its accruals.
		return s.accrue(ctx, tx, o, paidAt)
	})
	return changed, err
}
