package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/catalog"
)

// FlashSaleOrderRequest is a buyer's request in a flash sale.
type FlashSaleOrderRequest struct {
	Quantity int     `json:"quantity"`
	Address  Address `json:"address"`
}

// ClaimFlashSale wins units of a flash sale for the member and persists
// the order they become, without asking WeChat Pay (BuyFlashSale does).
// A loser gets a *catalog.RejectedError (catalog.ErrSoldOut, …). key, when
// set, makes the request idempotent. If persisting fails after the win,
// the claim stays in the sale's journal and the drainer persists it.
func (s *Service) ClaimFlashSale(ctx context.Context, memberID, saleID, key string, req FlashSaleOrderRequest) (Order, error) {
	if req.Quantity <= 0 || req.Quantity > 999 {
		return Order{}, fmt.Errorf("%w: quantity must be 1 to 999", ErrInvalidOrder)
	}
	if err := req.Address.validate(); err != nil {
		return Order{}, err
	}
	c, err := s.cat.Claim(ctx, catalog.ClaimRequest{FlashSaleID: saleID, MemberID: memberID, Quantity: req.Quantity,
		RequestKey: key, Attached: marshal(req.Address)})
	if err != nil {
		return Order{}, err
	}
	if err := s.PersistClaim(ctx, c); err != nil {
		return Order{}, err
	}
	if err := s.cat.Acknowledge(ctx, c); err != nil {
		// The drainer will find the entry and persist it again, harmlessly.
		s.log.Warn("acknowledge flash-sale claim", "claim_id", c.ID, "err", err)
	}
	return s.Order(ctx, c.ID)
}

// BuyFlashSale is ClaimFlashSale followed by the WeChat Pay prepay.
func (s *Service) BuyFlashSale(ctx context.Context, memberID, saleID, key string, req FlashSaleOrderRequest) (Receipt, error) {
	o, err := s.ClaimFlashSale(ctx, memberID, saleID, key, req)
	if err != nil {
		return Receipt{}, err
	}
	if o.Status != StatusPending {
		// A repeated request for an order paid or closed meanwhile.
		return Receipt{Order: o}, nil
	}
	return s.receipt(ctx, memberID, o.ID)
}

// PersistClaim turns a won claim into its order (same id), exactly once:
// it implements catalog.ClaimSink for the journal drainer and the
// reconciliation, and is safe to call concurrently for the same claim.
func (s *Service) PersistClaim(ctx context.Context, c catalog.Claim) error {
	sale, err := s.cat.FlashSaleOf(ctx, s.db, c.FlashSaleID)
	if err != nil {
		return err
	}
	line, err := s.cat.Describe(ctx, s.db, sale.SKUID)
	if err != nil {
		return err
	}
	var addr Address
	if c.Attached != "" {
		if err := json.Unmarshal([]byte(c.Attached), &addr); err != nil {
			s.log.Error("flash-sale claim with an unreadable address", "claim_id", c.ID, "err", err)
		}
	}
	openID, err := s.cfg.Members.OpenID(ctx, c.MemberID)
	if err != nil {
		return fmt.Errorf("openid of %s: %w", c.MemberID, err)
	}
	inviter, err := s.cfg.Members.Inviter(ctx, c.MemberID)
	if err != nil {
		return fmt.Errorf("inviter of %s: %w", c.MemberID, err)
	}
	hostID := ""
	if s.cfg.Shows != nil && sale.ShowID != "" {
		// The host is attribution, not a condition of the win: a show that
		// cannot be read leaves it empty rather than losing the winner.
		if st, err := s.cfg.Shows.ShowStatus(ctx, sale.ShowID); err == nil {
			hostID = st.HostID
		} else if !errors.Is(err, ErrShowNotFound) {
			s.log.Warn("show of a flash sale", "flash_sale_id", sale.ID, "err", err)
		}
	}
	now := s.now()
	// A claim persisted late (after a crash) still gets the whole time to pay.
	start := c.At
	if now.After(start) {
		start = now
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		fresh, err := s.cat.RecordClaim(ctx, tx, c)
		if err != nil || !fresh {
			return err
		}
		total := sale.Price * int64(c.Quantity)
		o := orderRow{ID: c.ID, MemberID: c.MemberID, OutTradeNo: outTradeNo(c.ID), Status: StatusPending,
			ItemsTotal: total, Total: total, ShowID: sale.ShowID, HostID: hostID, InviterID: inviter, FlashSaleID: sale.ID,
			Address: marshal(addr), PayerOpenID: openID, ExpiresAt: start.Add(s.cfg.OrderTTL).Truncate(time.Second),
			CreatedAt: now, UpdatedAt: now}
		items := []itemRow{{OrderID: c.ID, Line: 1, SKUID: line.SKUID, ProductID: line.ProductID, Title: line.Title,
			SKUTitle: line.SKUTitle, Quantity: c.Quantity, UnitPrice: sale.Price, Total: total}}
		o.Description = describe(items)
		return s.insertOrder(ctx, tx, o, items)
	})
}
