package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/outbox"
)

// Payer is what an order needs of its buyer.
type Payer struct {
	// OpenID is the member's openid under the mini-program's appid.
	OpenID string
	// InviterID is who first brought the member (first touch), or "".
	InviterID string
}

// Payers is implemented by Members that look many members up at once:
// PersistClaims then asks once per batch of claims instead of twice per
// claim. A member missing from the answer gets an order without openid
// or inviter (logged; paying looks both up again).
type Payers interface {
	Payers(ctx context.Context, memberIDs []string) (map[string]Payer, error)
}

// lateAfter is how late a claim may reach the database and still keep
// the time to pay its win answered; one persisted later (its process died
// and the drain found it) gets the whole time from the moment it is
// persisted.
const lateAfter = time.Minute

// PersistClaims turns won claims into their orders (same ids), each
// exactly once, in one transaction: it implements catalog.ClaimSink for
// the Journal, its drain and the reconciliation, and is safe to call
// concurrently with overlapping claims. The sale, SKU, show and buyers are
// read once per batch.
func (s *Service) PersistClaims(ctx context.Context, claims []catalog.Claim) error {
	claims = uniqueClaims(claims)
	if len(claims) == 0 {
		return nil
	}
	infos := map[string]saleInfo{}
	hosts := map[string]string{}
	var members []string
	seen := map[string]bool{}
	for _, c := range claims {
		if !seen[c.MemberID] {
			seen[c.MemberID] = true
			members = append(members, c.MemberID)
		}
		if _, ok := infos[c.FlashSaleID]; ok {
			continue
		}
		info, err := s.sales.get(ctx, c.FlashSaleID)
		if err != nil {
			return err
		}
		infos[c.FlashSaleID] = info
		hosts[c.FlashSaleID] = s.hostOf(ctx, info.sale)
	}
	payers, err := s.payers(ctx, members)
	if err != nil {
		return err
	}
	now := s.now()
	orders := make([]orderRow, 0, len(claims))
	items := make([]itemRow, 0, len(claims))
	for _, c := range claims {
		start := c.At
		if now.Sub(c.At) > lateAfter {
			start = now
		}
		o, it := s.claimOrder(c, infos[c.FlashSaleID], start)
		o.HostID = hosts[c.FlashSaleID]
		payer, ok := payers[c.MemberID]
		if !ok {
			// Stored anyway, so the win is not lost: paying asks for the
			// openid and the inviter again.
			s.log.Error("flash-sale buyer not found; the order is stored without openid or inviter", "claim_id", c.ID, "member_id", c.MemberID)
		}
		o.InviterID = payer.InviterID
		o.PayerOpenID = payer.OpenID
		o.Address = c.Attached
		if o.Address == "" || !json.Valid([]byte(o.Address)) {
			s.log.Error("flash-sale claim with an unreadable address", "claim_id", c.ID)
			o.Address = marshal(Address{})
		}
		orders = append(orders, o)
		items = append(items, it)
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		fresh, err := s.cat.RecordClaims(ctx, tx, claims)
		if err != nil || len(fresh) == 0 {
			return err
		}
		newOrders := make([]orderRow, 0, len(fresh))
		newItems := make([]itemRow, 0, len(fresh))
		ids := make([]string, 0, len(fresh))
		var closeAt time.Time
		for i := range orders {
			if fresh[orders[i].ID] {
				newOrders = append(newOrders, orders[i])
				newItems = append(newItems, items[i])
				ids = append(ids, orders[i].ID)
				if orders[i].ExpiresAt.After(closeAt) {
					closeAt = orders[i].ExpiresAt
				}
			}
		}
		// Only the columns a new order sets: the others keep their defaults,
		// and the statement PostgreSQL parses is half as long.
		if _, err := tx.NewInsert().Model(&newOrders).Column("id", "member_id", "out_trade_no", "status", "items_total", "total",
			"show_id", "host_id", "inviter_id", "flash_sale_id", "address", "description", "payer_openid", "expires_at",
			"created_at", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("insert %d flash-sale orders: %w", len(newOrders), err)
		}
		if _, err := tx.NewInsert().Model(&newItems).Exec(ctx); err != nil {
			return fmt.Errorf("insert %d flash-sale order lines: %w", len(newItems), err)
		}
		// One close task for the batch: their times to pay end within
		// moments of each other.
		return outbox.Add(ctx, tx, outbox.Message{
			TaskType:  TaskCloseOrders,
			Payload:   OrdersTask{OrderIDs: ids},
			Queue:     "critical",
			ProcessAt: closeAt,
		})
	})
}

// uniqueClaims returns the claims once each, in id order: writers of
// overlapping batches then take their row locks in the same order and
// never deadlock.
func uniqueClaims(claims []catalog.Claim) []catalog.Claim {
	out := slices.Clone(claims)
	slices.SortFunc(out, func(a, b catalog.Claim) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return slices.CompactFunc(out, func(a, b catalog.Claim) bool { return a.ID == b.ID })
}

// hostOf is the host of a sale's show. The host is attribution, not a
// condition of the win: a show that cannot be read leaves it empty rather
// than losing the winner.
func (s *Service) hostOf(ctx context.Context, sale catalog.FlashSale) string {
	if s.cfg.Shows == nil || sale.ShowID == "" {
		return ""
	}
	st, err := s.cfg.Shows.ShowStatus(ctx, sale.ShowID)
	if err != nil {
		if !errors.Is(err, ErrShowNotFound) {
			s.log.Warn("show of a flash sale", "flash_sale_id", sale.ID, "err", err)
		}
		return ""
	}
	return st.HostID
}

// payers looks the buyers up, at once when Members can.
func (s *Service) payers(ctx context.Context, ids []string) (map[string]Payer, error) {
	if p, ok := s.cfg.Members.(Payers); ok {
		out, err := p.Payers(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("payers of %d members: %w", len(ids), err)
		}
		return out, nil
	}
	out := make(map[string]Payer, len(ids))
	for _, id := range ids {
		openID, err := s.cfg.Members.OpenID(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("openid of %s: %w", id, err)
		}
		inviter, err := s.cfg.Members.Inviter(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("inviter of %s: %w", id, err)
		}
		out[id] = Payer{OpenID: openID, InviterID: inviter}
	}
	return out, nil
}

// saleInfo is what the orders of a flash sale need of it: the sale (which
// never changes once created) and its SKU as sold.
type saleInfo struct {
	sale catalog.FlashSale
	line catalog.QuotedLine
}

// saleInfoTTL is how long this process keeps a sale's saleInfo: a product
// retitled meanwhile shows its new title on orders after at most this.
const saleInfoTTL = 10 * time.Second

// saleCache keeps the saleInfo of recent sales, so that winning a flash
// sale reads nothing from the database.
type saleCache struct {
	cat *catalog.Service
	db  bun.IDB
	mu  sync.Mutex
	m   map[string]cachedSale
	// fill lets one request at a time read the database, so the crowd at
	// a sale's start waits for one read instead of making one each.
	fill sync.Mutex
}

type cachedSale struct {
	info  saleInfo
	until time.Time
}

// get returns a sale's saleInfo, or catalog.ErrFlashSaleNotFound.
func (c *saleCache) get(ctx context.Context, saleID string) (saleInfo, error) {
	if info, ok := c.cached(saleID); ok {
		return info, nil
	}
	c.fill.Lock()
	defer c.fill.Unlock()
	if info, ok := c.cached(saleID); ok {
		return info, nil
	}
	sale, err := c.cat.FlashSaleOf(ctx, c.db, saleID)
	if err != nil {
		return saleInfo{}, err
	}
	line, err := c.cat.Describe(ctx, c.db, sale.SKUID)
	if err != nil {
		return saleInfo{}, err
	}
	info := saleInfo{sale: sale, line: line}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= 1024 {
		c.m = map[string]cachedSale{}
	}
	c.m[saleID] = cachedSale{info: info, until: time.Now().Add(saleInfoTTL)}
	return info, nil
}

func (c *saleCache) cached(saleID string) (saleInfo, bool) {
	c.mu.Lock()
	e, ok := c.m[saleID]
	c.mu.Unlock()
	if !ok || !time.Now().Before(e.until) {
		return saleInfo{}, false
	}
	return e.info, true
}
