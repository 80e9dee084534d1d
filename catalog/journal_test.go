package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/testsupport"
)

// TestClaimBatchDecisions: claims decided by one run of the script see
// each other in order, as if each had run alone.
func TestClaimBatchDecisions(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		clk := newClock()
		s := newTestService(t, db, clk)
		ctx := context.Background()
		f, _ := seedSale(t, s, clk, 20, 5, 2)
		now := clk.Now().UnixMilli()
		claim := func(member string, qty int, id, dedupe string, at int64) claimArgs {
			rec := Claim{ID: id, FlashSaleID: f.ID, MemberID: member, Quantity: qty, At: time.UnixMilli(at).UTC()}.record()
			return claimArgs{member: member, qty: qty, id: id, dedupe: dedupe, now: at, record: rec}
		}
		cases := []struct {
			name   string
			args   claimArgs
			result string
			detail string
		}{
			{"first unit", claim("m1", 1, "c1", "m1:k1", now), "ok", "4"},
			{"the same key again", claim("m1", 1, "c2", "m1:k1", now), "dup", "c1"},
			{"over the limit with the first unit", claim("m1", 2, "c3", "", now), "limit", "1"},
			{"too early", claim("m5", 1, "c4", "", f.StartsAt.UnixMilli()-1), "not_started", fmt.Sprint(f.StartsAt.UnixMilli())},
			{"two", claim("m2", 2, "c5", "", now), "ok", "2"},
			{"too late", claim("m6", 1, "c6", "", f.EndsAt.UnixMilli()), "ended", fmt.Sprint(f.EndsAt.UnixMilli())},
			{"more than left", claim("m3", 3, "c7", "", now), "limit", "0"},
			{"the last two", claim("m3", 2, "c8", "", now), "ok", "0"},
			{"after the last", claim("m4", 1, "c9", "", now), "sold_out", "0"},
		}
		g := &saleClaims{saleID: f.ID}
		for _, tc := range cases {
			g.claims = append(g.claims, tc.args)
		}
		s.engine.runClaims(ctx, []*saleClaims{g, {saleID: "unknown"}})
		if g.err != nil {
			t.Fatal(g.err)
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got := g.out[i]
				if got.result != tc.result || got.detail != tc.detail || (got.entry != "") != (tc.result == "ok") {
					t.Fatalf("got %+v, want %s %s", got, tc.result, tc.detail)
				}
			})
		}
		k := keysOf(f.ID)
		if n, _ := s.redis.XLen(ctx, k.journal).Result(); n != 3 {
			t.Fatalf("journal holds %d claims, want 3", n)
		}
		if left, _, _ := s.engine.remaining(ctx, f.ID); left != 0 {
			t.Fatalf("stock %d, want 0", left)
		}
		if n, _ := s.redis.Exists(ctx, k.soldout).Result(); n != 1 {
			t.Fatal("the sold-out flag is not set")
		}
		bought, _ := s.redis.HGetAll(ctx, k.bought).Result()
		if bought["m1"] != "1" || bought["m2"] != "2" || bought["m3"] != "2" || len(bought) != 3 {
			t.Fatalf("bought %v", bought)
		}
	})
}

// TestClaimCrowdInBatches: thousands of concurrent claims on two sales,
// grouped by the batcher, never oversell, never pass the limit, and a
// repeated request key wins once.
func TestClaimCrowdInBatches(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		clk := newClock()
		s := newTestService(t, db, clk)
		ctx := context.Background()
		const buyers, members, quantity, limit = 3000, 400, 500, 2
		a, _ := seedSale(t, s, clk, quantity, quantity, limit)
		b, _ := seedSale(t, s, clk, quantity, quantity, limit)
		var mu sync.Mutex
		units := map[string]map[string]int{a.ID: {}, b.ID: {}}
		byKey := map[string]string{}
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range buyers {
			wg.Go(func() {
				<-gate
				sale := a.ID
				if i%2 == 1 {
					sale = b.ID
				}
				member := fmt.Sprintf("m%03d", (i/2)%members)
				key := ""
				if i%3 == 0 {
					// Every third request is a retry of another's key.
					key = fmt.Sprintf("k%d", i%(members*6))
				}
				c, err := s.Claim(ctx, ClaimRequest{FlashSaleID: sale, MemberID: member, Quantity: 1 + i%2, RequestKey: key})
				var rej *RejectedError
				switch {
				case err == nil:
					mu.Lock()
					defer mu.Unlock()
					if key != "" {
						k := sale + member + key
						if prior, ok := byKey[k]; ok && prior != c.ID {
							t.Errorf("key %s won %s and %s", k, prior, c.ID)
						}
						byKey[k] = c.ID
					}
					if !c.Repeated {
						units[sale][member] += c.Quantity
					}
				case errors.As(err, &rej):
				default:
					t.Errorf("buyer %d: %v", i, err)
				}
			})
		}
		close(gate)
		wg.Wait()
		for _, f := range []FlashSale{a, b} {
			total := 0
			for m, n := range units[f.ID] {
				total += n
				if n > limit {
					t.Errorf("member %s holds %d of sale %s", m, n, f.ID)
				}
			}
			left, _, _ := s.engine.remaining(ctx, f.ID)
			n, _ := s.redis.XLen(ctx, keysOf(f.ID).journal).Result()
			claims, _ := s.journalClaims(ctx, f.ID)
			journalled := 0
			for _, c := range claims {
				journalled += c.Quantity
			}
			if total != quantity || left != 0 || journalled != quantity || int(n) != len(claims) {
				t.Fatalf("sale %s: won %d units, %d left, %d entries for %d units; quantity %d", f.ID, total, left, n, journalled, quantity)
			}
		}
	})
}

// failingSink persists claims through the catalog, except those of the
// member bad while it is set, which fail.
type failingSink struct {
	recordingSink
	bad atomic.Value
}

func (f *failingSink) PersistClaims(ctx context.Context, claims []Claim) error {
	for _, c := range claims {
		if c.MemberID == f.bad.Load() {
			return errors.New("this claim cannot be persisted")
		}
	}
	return f.recordingSink.PersistClaims(ctx, claims)
}

// TestJournalRun: the claims a process wins are persisted in batches by
// its running Journal and leave the journal; one that cannot be persisted
// holds back no other and stays for the drain; claims won with no Journal
// running (a process that died) wait for the drain, which persists them
// once.
func TestJournalRun(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		clk := newClock()
		s := newTestService(t, db, clk)
		ctx := context.Background()
		f, _ := seedSale(t, s, clk, 300, 300, 300)
		sink := &failingSink{recordingSink: recordingSink{s: s}}
		sink.bad.Store("m7")
		j := NewJournal(s, sink)

		// No Journal runs: the claims wait in the journal.
		var orphans []Claim
		for i := range 3 {
			c, err := s.Claim(ctx, ClaimRequest{FlashSaleID: f.ID, MemberID: fmt.Sprintf("o%d", i), Quantity: 1})
			if err != nil {
				t.Fatal(err)
			}
			orphans = append(orphans, c)
		}

		runCtx, stop := context.WithCancel(ctx)
		ran := make(chan struct{})
		go func() {
			defer close(ran)
			j.Run(runCtx)
		}()
		eventually(t, func() bool { return s.feed.Load() != nil })
		var won []Claim
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Go(func() {
				c, err := s.Claim(ctx, ClaimRequest{FlashSaleID: f.ID, MemberID: fmt.Sprintf("m%d", i), Quantity: 1})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				won = append(won, c)
			})
		}
		wg.Wait()
		bad := ""
		for _, c := range won {
			if c.MemberID == "m7" {
				bad = c.ID
			}
		}
		eventually(t, func() bool {
			n, _ := db.NewSelect().Table("flash_sale_claims").Where("flash_sale_id = ?", f.ID).Count(ctx)
			return int(n) == len(won)-1
		})
		stop()
		<-ran
		if s.feed.Load() != nil {
			t.Fatal("the feed outlives Run")
		}
		entries, err := s.journal(ctx, f.ID, "+", 0)
		if err != nil {
			t.Fatal(err)
		}
		left := map[string]bool{}
		for _, e := range entries {
			left[e.claim.ID] = true
		}
		if len(left) != 4 || !left[bad] || !left[orphans[0].ID] || !left[orphans[2].ID] {
			t.Fatalf("the journal holds %v, want the bad claim and the 3 orphans", left)
		}

		// The drain leaves young entries to their process, then takes the
		// orphans; the bad claim, persistable now, too. Twice changes nothing.
		sink.bad.Store("")
		if n, err := j.DrainAll(ctx); err != nil || n != 0 {
			t.Fatalf("drained %d %v before orphanAfter", n, err)
		}
		clk.Add(orphanAfter + time.Second)
		if n, err := j.DrainAll(ctx); err != nil || n != 4 {
			t.Fatalf("drained %d %v, want 4", n, err)
		}
		if n, err := j.DrainAll(ctx); err != nil || n != 0 {
			t.Fatalf("second drain %d %v", n, err)
		}
		for _, c := range append(won, orphans...) {
			if sink.seen[c.ID] == 0 {
				t.Fatalf("claim %s never persisted", c.ID)
			}
		}
		if n, _ := db.NewSelect().Table("flash_sale_claims").Where("flash_sale_id = ?", f.ID).Count(ctx); int(n) != len(won)+len(orphans) {
			t.Fatalf("%d claims in the database, want %d", n, len(won)+len(orphans))
		}
		if rep, err := j.Reconcile(ctx, f.ID); err != nil || rep.Gaps() {
			t.Fatalf("reconcile %+v %v", rep, err)
		}
	})
}

// TestRecordClaimsOverlapping: batches that overlap, written at the same
// time, record each claim once, and each claim is new to exactly one.
func TestRecordClaimsOverlapping(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		clk := newClock()
		s := newTestService(t, db, clk)
		ctx := context.Background()
		var all []Claim
		for i := range 300 {
			all = append(all, Claim{ID: fmt.Sprintf("c%04d", i), FlashSaleID: "f1", MemberID: fmt.Sprintf("m%d", i), Quantity: 1, At: clk.Now()})
		}
		var mu sync.Mutex
		fresh := map[string]int{}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				part := all[w*40 : min(w*40+100, len(all))]
				err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					got, err := s.RecordClaims(ctx, tx, part)
					if err != nil {
						return err
					}
					mu.Lock()
					defer mu.Unlock()
					for id := range got {
						fresh[id]++
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if len(fresh) != 300 {
			t.Fatalf("%d claims new to some batch, want 300", len(fresh))
		}
		for id, n := range fresh {
			if n != 1 {
				t.Fatalf("claim %s new to %d batches", id, n)
			}
		}
		var ids []string
		if err := db.NewSelect().Table("flash_sale_claims").Column("id").Where("flash_sale_id = ?", "f1").Scan(ctx, &ids); err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		if len(ids) != 300 || ids[0] != "c0000" || ids[299] != "c0299" {
			t.Fatalf("%d rows", len(ids))
		}
	})
}

// eventually polls cond for up to ten seconds.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
