package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/siyu-live/siyu/catalog"
)

// FlashSaleOrderRequest is a buyer's request in a flash sale.
type FlashSaleOrderRequest struct {
	Quantity int     `json:"quantity"`
	Address  Address `json:"address"`
}

// ClaimFlashSale wins units of a flash sale for the member and answers the
// order they become, pending, without waiting for the database or WeChat
// Pay: the win is durable once the claim script has journalled it, the
// catalog's Journal persists the order moments later (PersistClaims), and
// Pay gets the wx.requestPayment parameters. A loser gets a
// *catalog.RejectedError (catalog.ErrSoldOut, …). key, when set, makes the
// request idempotent: a repeated key answers the order as it is now.
func (s *Service) ClaimFlashSale(ctx context.Context, memberID, saleID, key string, req FlashSaleOrderRequest) (Order, error) {
	if req.Quantity <= 0 || req.Quantity > 999 {
		return Order{}, fmt.Errorf("%w: quantity must be 1 to 999", ErrInvalidOrder)
	}
	if len(key) > 200 {
		return Order{}, fmt.Errorf("%w: the Idempotency-Key is longer than 200 characters", ErrInvalidOrder)
	}
	if err := req.Address.validate(); err != nil {
		return Order{}, err
	}
	info, err := s.sales.get(ctx, saleID)
	if err != nil {
		return Order{}, err
	}
	// The address travels with the claim as the JSON the order stores.
	c, err := s.cat.Claim(ctx, catalog.ClaimRequest{FlashSaleID: saleID, MemberID: memberID, Quantity: req.Quantity,
		RequestKey: key, Attached: marshal(req.Address)})
	if err != nil {
		return Order{}, err
	}
	if c.Repeated {
		// The retry of a win: the order as it is now, paid or closed
		// perhaps, which needs it in the database.
		if err := s.PersistClaims(ctx, []catalog.Claim{c}); err != nil {
			return Order{}, err
		}
		return s.Order(ctx, c.ID)
	}
	row, item := s.claimOrder(c, info, c.At)
	o := row.order([]itemRow{item})
	o.Address = req.Address
	return o, nil
}

// claimOrder is the order a claim becomes, as the winning request answers
// it and PersistClaims stores it (which adds the attribution, the payer
// and the address). Its time to pay runs from start.
func (s *Service) claimOrder(c catalog.Claim, info saleInfo, start time.Time) (orderRow, itemRow) {
	total := info.sale.Price * int64(c.Quantity)
	// Microseconds are what PostgreSQL keeps: the answer and the stored
	// order say the same.
	at := c.At.Truncate(time.Microsecond)
	o := orderRow{ID: c.ID, MemberID: c.MemberID, OutTradeNo: outTradeNo(c.ID), Status: StatusPending,
		ItemsTotal: total, Total: total, ShowID: info.sale.ShowID, FlashSaleID: info.sale.ID,
		ExpiresAt: start.Add(s.cfg.OrderTTL).Truncate(time.Second), CreatedAt: at, UpdatedAt: at}
	item := itemRow{OrderID: c.ID, Line: 1, SKUID: info.line.SKUID, ProductID: info.line.ProductID, Title: info.line.Title,
		SKUTitle: info.line.SKUTitle, Quantity: c.Quantity, UnitPrice: info.sale.Price, Total: total}
	o.Description = describe([]itemRow{item})
	return o, item
}

// orderOrClaim reads an order; one that is not in the database yet but
// whose claim Redis holds (its win was answered moments ago) is persisted
// first, so that paying, reading or cancelling it never waits for the
// Journal.
func (s *Service) orderOrClaim(ctx context.Context, orderID string) (orderRow, []itemRow, error) {
	r, items, err := loadOrder(ctx, s.db, orderID)
	if !errors.Is(err, ErrOrderNotFound) {
		return r, items, err
	}
	c, cerr := s.cat.WonClaim(ctx, orderID)
	if errors.Is(cerr, catalog.ErrClaimNotFound) {
		return r, nil, ErrOrderNotFound
	}
	if cerr != nil {
		return r, nil, cerr
	}
	if err := s.PersistClaims(ctx, []catalog.Claim{c}); err != nil {
		return r, nil, err
	}
	return loadOrder(ctx, s.db, orderID)
}
