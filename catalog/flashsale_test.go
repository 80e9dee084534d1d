package catalog

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/testsupport"
)

func TestClaimOutcomes(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		clk := newClock()
		s := newTestService(t, db, clk)
		ctx := context.Background()
		f, sku := seedSale(t, s, clk, 10, 5, 2)
		if k, _ := s.SKU(ctx, sku.ID); k.Stock != 5 {
			t.Fatalf("the sale allots its quantity: SKU stock %d, want 5", k.Stock)
		}
		claim := func(member string, qty int, key string) error {
			_, err := s.Claim(ctx, ClaimRequest{FlashSaleID: f.ID, MemberID: member, Quantity: qty, RequestKey: key})
			return err
		}
		for _, tc := range []struct {
			name   string
			member string
			qty    int
			key    string
			want   error
		}{
			{"first unit", "m1", 1, "k1", nil},
			{"same key again wins nothing more", "m1", 1, "k1", nil},
			{"second unit", "m1", 1, "", nil},
			{"over the limit", "m1", 1, "", ErrLimitReached},
			{"two at once over the limit", "m2", 3, "", ErrLimitReached},
			{"two", "m2", 2, "", nil},
			{"more than left", "m3", 2, "", ErrNotEnoughLeft},
			{"last unit", "m3", 1, "", nil},
			{"sold out", "m4", 1, "", ErrSoldOut},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := claim(tc.member, tc.qty, tc.key); !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			})
		}
		got, err := s.FlashSale(ctx, f.ID)
		if err != nil || got.Remaining != 0 {
			t.Fatalf("remaining %d %v", got.Remaining, err)
		}
		if _, err := s.Claim(ctx, ClaimRequest{FlashSaleID: "nope", MemberID: "m1", Quantity: 1}); !errors.Is(err, ErrFlashSaleNotFound) {
			t.Fatalf("unknown sale: %v", err)
		}

		later, err := s.CreateFlashSale(ctx, "staff-1", FlashSaleInput{ShowID: "show-1", SKUID: sku.ID, Price: 1, Quantity: 1, PerMemberLimit: 1,
			StartsAt: clk.Now().Add(time.Hour), EndsAt: clk.Now().Add(2 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var rej *RejectedError
		if err := claim2(s, later.ID); !errors.As(err, &rej) || !errors.Is(err, ErrNotStarted) || rej.RetryAfter() <= 0 {
			t.Fatalf("before the start: %v", err)
		}
		clk.Add(3 * time.Hour)
		if err := claim2(s, later.ID); !errors.Is(err, ErrEnded) {
			t.Fatalf("after the end: %v", err)
		}
		if _, err := s.CreateFlashSale(ctx, "staff-1", FlashSaleInput{ShowID: "show-1", SKUID: sku.ID, Price: 1, Quantity: 99, PerMemberLimit: 1,
			StartsAt: clk.Now(), EndsAt: clk.Now().Add(time.Hour)}); !errors.Is(err, ErrOutOfStock) {
			t.Fatalf("allotting more than the stock: %v", err)
		}
	})
}

func claim2(s *Service, saleID string) error {
	_, err := s.Claim(context.Background(), ClaimRequest{FlashSaleID: saleID, MemberID: "m9", Quantity: 1})
	return err
}

// TestJournalRepairs simulates the failures the journal exists for: a
// process dying between the script and the database, Redis losing its
// data, and a release whose Redis half never ran.
func TestJournalRepairs(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		clk := newClock()
		s := newTestService(t, db, clk)
		ctx := context.Background()
		f, sku := seedSale(t, s, clk, 20, 10, 3)
		sink := &recordingSink{s: s}
		j := NewJournal(s, sink)

		// Three winners whose requests died right after the script.
		var lost []Claim
		for _, m := range []string{"a", "b", "c"} {
			c, err := s.Claim(ctx, ClaimRequest{FlashSaleID: f.ID, MemberID: m, Quantity: 2})
			if err != nil {
				t.Fatal(err)
			}
			lost = append(lost, c)
		}
		// One winner persisted and acknowledged by its request.
		won, err := s.Claim(ctx, ClaimRequest{FlashSaleID: f.ID, MemberID: "d", Quantity: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := sink.PersistClaims(ctx, []Claim{won}); err != nil {
			t.Fatal(err)
		}
		if err := s.Acknowledge(ctx, won); err != nil {
			t.Fatal(err)
		}
		// Entries younger than orphanAfter belong to their process.
		if n, err := j.Drain(ctx, f.ID); err != nil || n != 0 {
			t.Fatalf("drained %d %v before the claims were orphans", n, err)
		}
		clk.Add(orphanAfter + time.Second)
		n, err := j.Drain(ctx, f.ID)
		if err != nil || n != 3 {
			t.Fatalf("drained %d %v, want the 3 lost claims", n, err)
		}
		for _, c := range lost {
			if sink.seen[c.ID] != 1 {
				t.Fatalf("claim %s persisted %d times", c.ID, sink.seen[c.ID])
			}
		}
		if n, _ := j.Drain(ctx, f.ID); n != 0 {
			t.Fatalf("a second drain persisted %d", n)
		}
		if sold, _ := soldUnits(ctx, db, f.ID); sold != 7 {
			t.Fatalf("sold %d, want 7", sold)
		}

		// A journal entry lost too (say, trimmed by hand): the claims hash
		// still names the winner, and reconciliation persists it.
		ghost, err := s.Claim(ctx, ClaimRequest{FlashSaleID: f.ID, MemberID: "e", Quantity: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.redis.Del(ctx, keysOf(f.ID).journal).Err(); err != nil {
			t.Fatal(err)
		}
		if rep, err := j.Reconcile(ctx, f.ID); err != nil || rep.Gaps() {
			t.Fatalf("a claim just won is in flight, not a gap: %+v %v", rep, err)
		}
		clk.Add(orphanAfter + time.Second)
		rep, err := j.Reconcile(ctx, f.ID)
		if err != nil || rep.Persisted != 1 || sink.seen[ghost.ID] != 1 {
			t.Fatalf("reconcile %+v %v", rep, err)
		}

		// Released in the database, never in Redis.
		if err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return s.ReleaseClaim(ctx, tx, lost[0].ID)
		}); err != nil {
			t.Fatal(err)
		}
		rep, err = j.Reconcile(ctx, f.ID)
		if err != nil || rep.Released != 1 {
			t.Fatalf("reconcile after release %+v %v", rep, err)
		}
		if left, _, _ := s.engine.remaining(ctx, f.ID); left != 4 {
			t.Fatalf("remaining %d, want 4", left)
		}
		// The member can buy again what was released.
		if _, err := s.Claim(ctx, ClaimRequest{FlashSaleID: f.ID, MemberID: "a", Quantity: 3}); err != nil {
			t.Fatalf("claim after release: %v", err)
		}

		// Redis forgets everything: the next claim arms the sale again from
		// the database and the limit and stock still hold.
		if err := s.redis.FlushDB(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		sink.fail = errors.New("not now")
		_, err = s.Claim(ctx, ClaimRequest{FlashSaleID: f.ID, MemberID: "b", Quantity: 2})
		if !errors.Is(err, ErrLimitReached) {
			t.Fatalf("after losing Redis, b holds 2 of 3: %v", err)
		}
		sink.fail = nil
		if _, err := j.Drain(ctx, f.ID); err != nil {
			t.Fatal(err)
		}
		left, _, _ := s.engine.remaining(ctx, f.ID)
		sold, _ := soldUnits(ctx, db, f.ID)
		if left+sold != f.Quantity {
			t.Fatalf("remaining %d + sold %d != quantity %d", left, sold, f.Quantity)
		}

		// Finishing returns the unsold units to the SKU, once.
		if err := j.Finish(ctx, f.ID); !errors.Is(err, ErrSaleRunning) {
			t.Fatalf("finish before the end: %v", err)
		}
		clk.Add(20 * time.Minute)
		before, _ := s.SKU(ctx, sku.ID)
		for range 2 {
			if err := j.Finish(ctx, f.ID); err != nil {
				t.Fatal(err)
			}
		}
		after, _ := s.SKU(ctx, sku.ID)
		if after.Stock-before.Stock != left {
			t.Fatalf("finish returned %d units, want %d", after.Stock-before.Stock, left)
		}
		// A claim released after the finish goes back to the SKU directly.
		if err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return s.ReleaseClaim(ctx, tx, lost[1].ID)
		}); err != nil {
			t.Fatal(err)
		}
		final, _ := s.SKU(ctx, sku.ID)
		if final.Stock != after.Stock+2 {
			t.Fatalf("late release: stock %d, want %d", final.Stock, after.Stock+2)
		}
	})
}
