package payments

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/catalog"
)

// Cancel closes one of the member's unpaid orders. If WeChat Pay says it
// was paid meanwhile, it becomes paid and Cancel answers ErrNotCancellable.
func (s *Service) Cancel(ctx context.Context, memberID, orderID string) (Order, error) {
	r, _, err := s.orderOrClaim(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	if r.MemberID != memberID {
		return Order{}, ErrOrderNotFound
	}
	switch r.Status {
	case StatusClosed:
		return s.Order(ctx, orderID)
	case StatusPending:
	default:
		return Order{}, fmt.Errorf("%w: it is %s", ErrNotCancellable, r.Status)
	}
	if err := s.close(ctx, r); err != nil {
		return Order{}, err
	}
	o, err := s.Order(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	if o.Status != StatusClosed {
		return o, fmt.Errorf("%w: it is %s", ErrNotCancellable, o.Status)
	}
	return o, nil
}

// CloseExpired closes an order whose time to pay is over (the delayed
// task each order schedules). An order paid, closed, or not yet expired is
// left alone.
func (s *Service) CloseExpired(ctx context.Context, orderID string) error {
	r, err := readOrder(ctx, s.db, orderID)
	if errors.Is(err, ErrOrderNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.Status != StatusPending || s.now().Before(r.ExpiresAt) {
		return nil
	}
	return s.close(ctx, r)
}

// CloseExpiredOrders is the sweeper behind the delayed tasks: it closes up
// to limit pending orders past their expiry and returns how many it
// handled.
func (s *Service) CloseExpiredOrders(ctx context.Context, limit int) (int, error) {
	var ids []string
	if err := s.db.NewSelect().Model((*orderRow)(nil)).Column("id").
		Where("status = ? AND expires_at <= ?", StatusPending, s.now()).OrderExpr("expires_at").Limit(int64(limit)).
		Scan(ctx, &ids); err != nil {
		return 0, fmt.Errorf("find expired orders: %w", err)
	}
	var errs []error
	for _, id := range ids {
		if err := s.CloseExpired(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", id, err))
		}
	}
	return len(ids), errors.Join(errs...)
}

// close closes an order at WeChat Pay first, then locally; an order
// WeChat Pay says was paid becomes paid instead.
func (s *Service) close(ctx context.Context, r orderRow) error {
	err := s.pay.CloseOrder(ctx, r.OutTradeNo)
	switch {
	case err == nil, errors.Is(err, ErrWeChatOrderNotFound):
		// Closed there, or never reached WeChat Pay: nobody can pay it now.
	case errors.Is(err, ErrWeChatOrderPaid):
		t, err := s.pay.QueryOrder(ctx, r.OutTradeNo)
		if err != nil {
			return err
		}
		_, err = s.applyTransaction(ctx, t, "")
		return err
	default:
		return fmt.Errorf("%w: %w", ErrPaymentUnavailable, err)
	}
	return s.closeLocally(ctx, r.ID)
}

// closeLocally marks a pending order closed and gives its stock back, in
// one transaction under the order's lock.
func (s *Service) closeLocally(ctx context.Context, orderID string) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		o, err := lockOrder(ctx, tx, "id = ?", orderID)
		if err != nil {
			return err
		}
		if o.Status != StatusPending {
			return nil
		}
		now := s.now()
		if _, err := tx.NewUpdate().Model((*orderRow)(nil)).Set("status = ?", StatusClosed).Set("closed_at = ?", now).
			Set("updated_at = ?", now).Where("id = ?", o.ID).Exec(ctx); err != nil {
			return fmt.Errorf("close order: %w", err)
		}
		if o.CouponID != "" && s.cfg.Coupons != nil {
			if err := s.cfg.Coupons.Release(ctx, tx, o.MemberID, o.CouponID, o.ID); err != nil {
				return err
			}
		}
		if o.FlashSaleID != "" {
			return s.cat.ReleaseClaim(ctx, tx, o.ID)
		}
		items, err := loadItems(ctx, tx, o.ID)
		if err != nil {
			return err
		}
		lines := make([]catalog.Line, 0, len(items))
		for _, it := range items {
			lines = append(lines, catalog.Line{SKUID: it.SKUID, Quantity: it.Quantity})
		}
		return s.cat.Release(ctx, tx, lines)
	})
}

// ReconcileOrders asks WeChat Pay about up to limit orders pending longer
// than PendingAfter and settles them as it answers: paid orders become
// paid, orders WeChat Pay closed are closed. A lost notification so loses
// nothing. It returns how many orders changed.
func (s *Service) ReconcileOrders(ctx context.Context, limit int) (int, error) {
	var rows []orderRow
	if err := s.db.NewSelect().Model(&rows).
		Where("status = ? AND created_at <= ?", StatusPending, s.now().Add(-s.cfg.PendingAfter)).
		OrderExpr("created_at").Limit(int64(limit)).Scan(ctx); err != nil {
		return 0, fmt.Errorf("find pending orders: %w", err)
	}
	changed := 0
	var errs []error
	for _, r := range rows {
		t, err := s.pay.QueryOrder(ctx, r.OutTradeNo)
		switch {
		case errors.Is(err, ErrWeChatOrderNotFound):
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		}
		switch {
		case t.Paid():
			ok, err := s.applyTransaction(ctx, t, "")
			if err != nil {
				errs = append(errs, fmt.Errorf("settle %s: %w", r.ID, err))
			} else if ok {
				changed++
			}
		case t.TradeState == "CLOSED" || t.TradeState == "REVOKED":
			if err := s.closeLocally(ctx, r.ID); err != nil {
				errs = append(errs, err)
			} else {
				changed++
			}
		}
	}
	return changed, errors.Join(errs...)
}
