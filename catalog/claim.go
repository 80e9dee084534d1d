package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/outbox"
)

// ClaimRequest is a buyer asking for units of a flash sale.
type ClaimRequest struct {
	FlashSaleID string
	MemberID    string
	Quantity    int
	// RequestKey, when set, makes the request idempotent: the same member
	// and key win at most once, and a retry gets the first claim back.
	RequestKey string
	// Attached is carried with the claim through the journal, opaque to
	// the catalog (payments attaches the delivery address).
	Attached string
}

// Claim is a won claim: Quantity units of a flash sale held by a member.
// Its ID is also the ID of the order it becomes.
type Claim struct {
	ID          string    `json:"id"`
	FlashSaleID string    `json:"sale"`
	MemberID    string    `json:"member"`
	Quantity    int       `json:"qty"`
	At          time.Time `json:"at"`
	Attached    string    `json:"attached,omitempty"`
	// Repeated is set when the request key had already won this claim.
	Repeated bool `json:"-"`
	// entry is the claim's journal entry, when this process wrote it.
	entry string
}

// RejectedError says why a claim lost, with the sentinel it wraps
// (ErrSoldOut, ErrLimitReached, ErrNotEnoughLeft, ErrNotStarted, ErrEnded).
type RejectedError struct {
	Err error
	// Held is how many units the member already holds (ErrLimitReached).
	Held int
	// Left is how many units are left (ErrNotEnoughLeft).
	Left int
	// At is when the sale starts or ended (ErrNotStarted, ErrEnded).
	At time.Time
}

func (e *RejectedError) Error() string { return e.Err.Error() }
func (e *RejectedError) Unwrap() error { return e.Err }

// RetryAfter tells a buyer too early when the sale starts.
func (e *RejectedError) RetryAfter() time.Duration {
	if e.Err == ErrNotStarted {
		return time.Until(e.At)
	}
	return 0
}

type claimRow struct {
	bun.BaseModel `bun:"table:flash_sale_claims"`

	ID          string     `bun:"id,pk"`
	FlashSaleID string     `bun:"flash_sale_id,notnull"`
	MemberID    string     `bun:"member_id,notnull"`
	Quantity    int        `bun:"quantity,notnull"`
	CreatedAt   time.Time  `bun:"created_at,notnull"`
	ReleasedAt  *time.Time `bun:"released_at"`
}

// soldOutFor is how long this process believes a sale is sold out without
// asking Redis again; released units reappear after at most this long.
const soldOutFor = time.Second

// soldOut remembers sold-out sales in this process, so that the crowd
// arriving after the last unit is answered without a round trip.
type soldOut struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func (s *soldOut) is(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Before(s.until[id])
}

func (s *soldOut) mark(id string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.until == nil {
		s.until = map[string]time.Time{}
	}
	s.until[id] = now.Add(soldOutFor)
}

// SoldOut reports whether this process saw the sale sell out less than a
// second ago: a request without a request key may then be refused before
// anything else is done for it, as Claim would refuse it.
func (s *Service) SoldOut(saleID string) bool {
	return s.soldOut.is(saleID, s.now())
}

// Claim runs the claim script for req, together with the claims other
// requests make meanwhile. It returns the won claim, or a *RejectedError
// wrapping the reason it lost, or ErrFlashSaleNotFound. The claim is in
// the sale's journal when Claim returns, which makes the win durable: a
// running Journal persists it within moments, and should this process
// die first, the journal's drain persists it.
func (s *Service) Claim(ctx context.Context, req ClaimRequest) (Claim, error) {
	now := s.now()
	if req.Quantity <= 0 {
		return Claim{}, fmt.Errorf("%w: the quantity must be positive", ErrInvalidFlashSale)
	}
	if s.soldOut.is(req.FlashSaleID, now) && req.RequestKey == "" {
		return Claim{}, &RejectedError{Err: ErrSoldOut}
	}
	c := Claim{ID: newID(), FlashSaleID: req.FlashSaleID, MemberID: req.MemberID, Quantity: req.Quantity, At: now, Attached: req.Attached}
	dedupe := ""
	if req.RequestKey != "" {
		dedupe = req.MemberID + ":" + req.RequestKey
	}
	args := claimArgs{member: req.MemberID, qty: req.Quantity, id: c.ID, dedupe: dedupe, now: now.UnixMilli(), record: c.record()}
	for attempt := 0; ; attempt++ {
		out, err := s.batch.claim(ctx, req.FlashSaleID, args)
		if err != nil {
			return Claim{}, err
		}
		switch out.result {
		case "ok":
			c.entry = out.entry
			if f := s.feed.Load(); f != nil {
				f.add(c)
			}
			return c, nil
		case "dup":
			return s.priorClaim(ctx, req.FlashSaleID, out.detail)
		case "sold_out":
			s.soldOut.mark(req.FlashSaleID, now)
			return Claim{}, &RejectedError{Err: ErrSoldOut}
		case "limit":
			held, _ := strconv.Atoi(out.detail)
			return Claim{}, &RejectedError{Err: ErrLimitReached, Held: held}
		case "not_enough":
			left, _ := strconv.Atoi(out.detail)
			return Claim{}, &RejectedError{Err: ErrNotEnoughLeft, Left: left}
		case "not_started":
			ms, _ := strconv.ParseInt(out.detail, 10, 64)
			return Claim{}, &RejectedError{Err: ErrNotStarted, At: time.UnixMilli(ms).UTC()}
		case "ended":
			ms, _ := strconv.ParseInt(out.detail, 10, 64)
			return Claim{}, &RejectedError{Err: ErrEnded, At: time.UnixMilli(ms).UTC()}
		case "not_armed":
			// Only a sale Redis does not know reaches the database here:
			// unknown ids, finished sales, or a Redis that lost its data.
			if attempt > 0 {
				return Claim{}, ErrNotArmed
			}
			if err := s.armFromDB(ctx, req.FlashSaleID); err != nil {
				return Claim{}, err
			}
		default:
			return Claim{}, fmt.Errorf("flash-sale claim script answered %q", out.result)
		}
	}
}

// priorClaim returns the claim a repeated request key already won.
func (s *Service) priorClaim(ctx context.Context, saleID, claimID string) (Claim, error) {
	rec, err := s.redis.HGet(ctx, keysOf(saleID).claims, claimID).Result()
	if err == nil {
		c, perr := parseRecord(rec)
		if perr != nil {
			return Claim{}, perr
		}
		c.Repeated = true
		return c, nil
	}
	// Released claims leave Redis; the database still has them.
	var r claimRow
	if derr := s.db.NewSelect().Model(&r).Where("id = ?", claimID).Scan(ctx); derr != nil {
		return Claim{}, notFound(derr, ErrClaimNotFound)
	}
	return Claim{ID: r.ID, FlashSaleID: r.FlashSaleID, MemberID: r.MemberID, Quantity: r.Quantity, At: r.CreatedAt.UTC(), Repeated: true}, nil
}

// record is the claim as the journal and the claims hash keep it.
func (c Claim) record() string {
	b, _ := json.Marshal(c)
	return string(b)
}

func parseRecord(s string) (Claim, error) {
	var c Claim
	if err := json.Unmarshal([]byte(s), &c); err != nil || c.ID == "" || c.FlashSaleID == "" || c.MemberID == "" || c.Quantity <= 0 {
		return Claim{}, fmt.Errorf("bad flash-sale claim record %q: %v", s, err)
	}
	c.At = c.At.UTC()
	return c, nil
}

// Acknowledge removes the journal entries of claims the sink persisted,
// so the drain does not persist them again. Failing is harmless: the
// sink's persist is idempotent.
func (s *Service) Acknowledge(ctx context.Context, claims ...Claim) error {
	bySale := map[string][]string{}
	for _, c := range claims {
		if c.entry != "" {
			bySale[c.FlashSaleID] = append(bySale[c.FlashSaleID], c.entry)
		}
	}
	if len(bySale) == 0 {
		return nil
	}
	pipe := s.redis.Pipeline()
	for sale, ids := range bySale {
		pipe.XDel(ctx, keysOf(sale).journal, ids...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("acknowledge %d claims: %w", len(claims), err)
	}
	return nil
}

// RecordClaims stores won claims through db, the transaction that creates
// their orders, and returns the ids of those that were new.
func (s *Service) RecordClaims(ctx context.Context, db bun.IDB, claims []Claim) (map[string]bool, error) {
	fresh := make(map[string]bool, len(claims))
	if len(claims) == 0 {
		return fresh, nil
	}
	rows := make([]claimRow, 0, len(claims))
	for _, c := range claims {
		rows = append(rows, claimRow{ID: c.ID, FlashSaleID: c.FlashSaleID, MemberID: c.MemberID, Quantity: c.Quantity, CreatedAt: c.At})
	}
	var ids []string
	if _, err := db.NewInsert().Model(&rows).On("CONFLICT (id) DO NOTHING").Returning("id").Exec(ctx, &ids); err != nil {
		return nil, fmt.Errorf("record %d claims: %w", len(claims), err)
	}
	for _, id := range ids {
		fresh[id] = true
	}
	return fresh, nil
}

// WonClaim finds a won claim by its id in Redis, among the sales not
// finished: the claim of an order not yet in the database. It answers
// ErrClaimNotFound for any other id.
func (s *Service) WonClaim(ctx context.Context, claimID string) (Claim, error) {
	sales, err := s.openSales(ctx)
	if err != nil {
		return Claim{}, err
	}
	if len(sales) == 0 {
		return Claim{}, ErrClaimNotFound
	}
	pipe := s.redis.Pipeline()
	cmds := make([]*redis.StringCmd, len(sales))
	for i, f := range sales {
		cmds[i] = pipe.HGet(ctx, keysOf(f.ID).claims, claimID)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Claim{}, fmt.Errorf("find claim %s: %w", claimID, err)
	}
	for _, cmd := range cmds {
		if rec, err := cmd.Result(); err == nil {
			return parseRecord(rec)
		}
	}
	return Claim{}, ErrClaimNotFound
}

// FlashSaleOf returns the sale a claim was won in, as it was (no Redis).
func (s *Service) FlashSaleOf(ctx context.Context, db bun.IDB, saleID string) (FlashSale, error) {
	var r flashSaleRow
	if err := db.NewSelect().Model(&r).Where("id = ?", saleID).Scan(ctx); err != nil {
		return FlashSale{}, notFound(err, ErrFlashSaleNotFound)
	}
	return r.sale(), nil
}

// ReleaseClaim gives a claim's units back, through db, the transaction
// that closes its order: to the SKU when the sale is finished, otherwise
// to the sale in Redis, by a task the outbox runs after the commit.
// Releasing twice changes nothing.
func (s *Service) ReleaseClaim(ctx context.Context, db bun.IDB, claimID string) error {
	var c claimRow
	if err := db.NewSelect().Model(&c).Where("id = ?", claimID).Scan(ctx); err != nil {
		return notFound(err, ErrClaimNotFound)
	}
	if c.ReleasedAt != nil {
		return nil
	}
	// The sale's row lock orders this release against Finish, which
	// counts released claims as unsold.
	sale, err := lockSale(ctx, db, c.FlashSaleID)
	if err != nil {
		return err
	}
	now := s.now()
	res, err := db.NewUpdate().Model((*claimRow)(nil)).Set("released_at = ?", now).
		Where("id = ? AND released_at IS NULL", claimID).Exec(ctx)
	if err := affected(res, err, ErrClaimNotFound); err != nil {
		return err
	}
	if sale.FinishedAt != nil {
		return s.Release(ctx, db, []Line{{SKUID: sale.SKUID, Quantity: c.Quantity}})
	}
	return outbox.Add(ctx, db, outbox.Message{
		ID:       "release-claim:" + claimID,
		TaskType: TaskReleaseClaim,
		Payload:  ClaimTask{ClaimID: claimID},
		Queue:    "critical",
	})
}

// ReleaseClaimStock gives a released claim's units back to its sale in
// Redis (the task ReleaseClaim asks for). It is idempotent.
func (s *Service) ReleaseClaimStock(ctx context.Context, claimID string) error {
	var c claimRow
	if err := s.db.NewSelect().Model(&c).Where("id = ?", claimID).Scan(ctx); err != nil {
		return notFound(err, ErrClaimNotFound)
	}
	if c.ReleasedAt == nil {
		return fmt.Errorf("claim %s is not released", claimID)
	}
	if _, err := s.engine.runRelease(ctx, c.FlashSaleID, c.ID, c.MemberID, c.Quantity); err != nil {
		return err
	}
	return nil
}

// armFromDB arms a sale Redis does not hold, from the database: its stock
// is what the claims not released leave of its quantity. A finished or
// unknown sale is not armed.
func (s *Service) armFromDB(ctx context.Context, saleID string) error {
	var r flashSaleRow
	if err := s.db.NewSelect().Model(&r).Where("id = ?", saleID).Scan(ctx); err != nil {
		return notFound(err, ErrFlashSaleNotFound)
	}
	f := r.sale()
	if f.FinishedAt != nil {
		return &RejectedError{Err: ErrEnded, At: f.EndsAt}
	}
	var claims []claimRow
	if err := s.db.NewSelect().Model(&claims).Where("flash_sale_id = ?", saleID).Scan(ctx); err != nil {
		return fmt.Errorf("read claims of %s: %w", saleID, err)
	}
	// Claims still waiting in the journal hold units too.
	pending, err := s.journalClaims(ctx, saleID)
	if err != nil {
		return err
	}
	stock := f.Quantity
	ac := make([]armClaim, 0, len(claims)+len(pending))
	known := map[string]bool{}
	for _, c := range claims {
		known[c.ID] = true
		if c.ReleasedAt != nil {
			continue
		}
		stock -= c.Quantity
		rec := Claim{ID: c.ID, FlashSaleID: c.FlashSaleID, MemberID: c.MemberID, Quantity: c.Quantity, At: c.CreatedAt.UTC()}.record()
		ac = append(ac, armClaim{id: c.ID, member: c.MemberID, qty: c.Quantity, record: rec})
	}
	for _, c := range pending {
		if known[c.ID] {
			continue
		}
		known[c.ID] = true
		stock -= c.Quantity
		ac = append(ac, armClaim{id: c.ID, member: c.MemberID, qty: c.Quantity, record: c.record()})
	}
	armed, err := s.engine.runArm(ctx, f, stock, ac)
	if err != nil {
		return err
	}
	if armed {
		s.log.Warn("flash sale armed from the database", "flash_sale_id", saleID, "stock", stock, "claims", len(ac))
	}
	return nil
}
