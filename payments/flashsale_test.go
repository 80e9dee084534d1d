package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/testsupport"
)

// flashSale creates a sale of quantity units, limit per member, running now.
func (h *harness) flashSale(t *testing.T, quantity, limit int) catalog.FlashSale {
	t.Helper()
	ctx := context.Background()
	sku := h.product(t, 19900, quantity)
	if _, err := h.cat.SetLineup(ctx, "staff-1", "show-1", []catalog.LineupEntry{{SKUID: sku.ID, LivePrice: 15900}}); err != nil {
		t.Fatal(err)
	}
	f, err := h.cat.CreateFlashSale(ctx, "staff-1", catalog.FlashSaleInput{ShowID: "show-1", SKUID: sku.ID, Price: 9900, Quantity: quantity,
		PerMemberLimit: limit, StartsAt: h.clk.Now().Add(-time.Second), EndsAt: h.clk.Now().Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFlashSaleCrowd: 10,000 concurrent buyers from 600 members for 1,000
// units with a limit of 2 each sell exactly 1,000 units, no member over
// the limit, and every winner has an order in the database.
func TestFlashSaleCrowd(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		const buyers, members, quantity, limit = 10000, 600, 1000, 2
		f := h.flashSale(t, quantity, limit)

		start := time.Now()
		var wins, soldOut, limited atomic.Int64
		won := make([]string, buyers)
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range buyers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				member := fmt.Sprintf("m%03d", i%members)
				o, err := h.svc.ClaimFlashSale(ctx, member, f.ID, "", FlashSaleOrderRequest{Quantity: 1 + i%2, Address: addr})
				switch {
				case err == nil:
					wins.Add(1)
					won[i] = o.ID
				case errors.Is(err, catalog.ErrSoldOut), errors.Is(err, catalog.ErrNotEnoughLeft):
					soldOut.Add(1)
				case errors.Is(err, catalog.ErrLimitReached):
					limited.Add(1)
				default:
					t.Errorf("buyer %d: %v", i, err)
				}
			}()
		}
		close(gate)
		wg.Wait()
		t.Logf("%d buyers in %s: %d won, %d sold out, %d over the limit", buyers, time.Since(start), wins.Load(), soldOut.Load(), limited.Load())

		// Database: exactly the quantity sold, nobody over the limit.
		var perMember []struct {
			MemberID string `bun:"member_id"`
			Units    int    `bun:"units"`
		}
		if err := db.NewSelect().Table("order_items").Join("JOIN orders ON orders.id = order_items.order_id").
			ColumnExpr("orders.member_id AS member_id, SUM(order_items.quantity) AS units").
			Where("orders.flash_sale_id = ?", f.ID).GroupExpr("orders.member_id").Scan(ctx, &perMember); err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, m := range perMember {
			total += m.Units
			if m.Units > limit {
				t.Errorf("member %s holds %d units", m.MemberID, m.Units)
			}
		}
		if total != quantity {
			t.Fatalf("sold %d units, want %d", total, quantity)
		}
		// Every winner has its order; every claim is an order.
		for _, id := range won {
			if id == "" {
				continue
			}
			if o := h.status(t, id); o.FlashSaleID != f.ID || o.Status != StatusPending || o.Total != 9900*int64(o.Items[0].Quantity) {
				t.Fatalf("winner's order %+v", o)
			}
		}
		claims, _ := db.NewSelect().Table("flash_sale_claims").Where("flash_sale_id = ?", f.ID).Count(ctx)
		orders, _ := db.NewSelect().Table("orders").Where("flash_sale_id = ?", f.ID).Count(ctx)
		if int64(claims) != wins.Load() || orders != claims {
			t.Fatalf("%d winners, %d claims, %d orders", wins.Load(), claims, orders)
		}
		// Redis agrees, and reconciliation finds no gap.
		sale, err := h.cat.FlashSale(ctx, f.ID)
		if err != nil || sale.Remaining != 0 {
			t.Fatalf("remaining %d %v", sale.Remaining, err)
		}
		rep, err := catalog.NewJournal(h.cat, h.svc).Reconcile(ctx, f.ID)
		if err != nil || rep.Gaps() || rep.Drained != 0 {
			t.Fatalf("reconcile %+v %v", rep, err)
		}
		if d := time.Since(start); d > 45*time.Second {
			t.Errorf("the crowd took %s", d)
		}
	})
}

// TestFlashSaleOrderLifecycle: a winner pays; another never pays and the
// close returns the unit to the sale, where someone else can win it.
func TestFlashSaleOrderLifecycle(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		f := h.flashSale(t, 2, 1)
		paid, err := h.svc.BuyFlashSale(ctx, "m1", f.ID, "k1", FlashSaleOrderRequest{Quantity: 1, Address: addr})
		if err != nil {
			t.Fatal(err)
		}
		again, err := h.svc.BuyFlashSale(ctx, "m1", f.ID, "k1", FlashSaleOrderRequest{Quantity: 1, Address: addr})
		if err != nil || again.Order.ID != paid.Order.ID {
			t.Fatalf("repeated request: %+v %v", again.Order, err)
		}
		unpaid, err := h.svc.BuyFlashSale(ctx, "m2", f.ID, "", FlashSaleOrderRequest{Quantity: 1, Address: addr})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.BuyFlashSale(ctx, "m3", f.ID, "", FlashSaleOrderRequest{Quantity: 1, Address: addr}); !errors.Is(err, catalog.ErrSoldOut) {
			t.Fatalf("third buyer: %v", err)
		}
		h.payInSandbox(t, paid)
		eventually(t, 5*time.Second, "paid", func() bool { return h.status(t, paid.Order.ID).Status == StatusPaid })
		if o := h.status(t, paid.Order.ID); o.Total != 9900 || o.ShowID != "show-1" {
			t.Fatalf("flash-sale order %+v", o)
		}
		h.clk.Add(16 * time.Minute)
		if err := h.svc.CloseExpired(ctx, unpaid.Order.ID); err != nil {
			t.Fatal(err)
		}
		if s := h.status(t, unpaid.Order.ID).Status; s != StatusClosed {
			t.Fatalf("unpaid flash-sale order is %s", s)
		}
		// The outbox carries the Redis half of the release; run it as the
		// worker would, twice.
		var payload string
		if err := db.NewSelect().Table("outbox").Column("payload").Where("task_type = ?", catalog.TaskReleaseClaim).Scan(ctx, &payload); err != nil ||
			!strings.Contains(payload, unpaid.Order.ID) {
			t.Fatalf("release task %q %v", payload, err)
		}
		for range 2 {
			if err := h.cat.ReleaseClaimStock(ctx, unpaid.Order.ID); err != nil {
				t.Fatal(err)
			}
		}
		if sale, _ := h.cat.FlashSale(ctx, f.ID); sale.Remaining != 1 {
			t.Fatalf("remaining %d after the release, want 1", sale.Remaining)
		}
		time.Sleep(1100 * time.Millisecond) // the sold-out belief of this process lapses
		h.clk.Add(-16 * time.Minute)
		if _, err := h.svc.BuyFlashSale(ctx, "m3", f.ID, "", FlashSaleOrderRequest{Quantity: 1, Address: addr}); err != nil {
			t.Fatalf("buying the released unit: %v", err)
		}
	})
}

// TestFlashSaleWinnerSurvivesCrash: a process that dies right after the
// script (the claim is in Redis, nothing in the database) loses no
// winner: the drainer persists the order, and a drainer or request
// running again changes nothing.
func TestFlashSaleWinnerSurvivesCrash(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		f := h.flashSale(t, 3, 1)
		won, err := h.cat.Claim(ctx, catalog.ClaimRequest{FlashSaleID: f.ID, MemberID: "m1", Quantity: 1, RequestKey: "tap",
			Attached: marshal(addr)})
		if err != nil {
			t.Fatal(err)
		}
		// The process died here. The shopper sees nothing yet.
		if _, err := h.svc.MemberOrder(ctx, "m1", won.ID); !errors.Is(err, ErrOrderNotFound) {
			t.Fatalf("before the drain: %v", err)
		}
		j := catalog.NewJournal(h.cat, h.svc)
		if n, err := j.DrainAll(ctx); err != nil || n != 1 {
			t.Fatalf("drained %d: %v", n, err)
		}
		o, err := h.svc.MemberOrder(ctx, "m1", won.ID)
		if err != nil || o.Status != StatusPending || o.Total != 9900 || o.Address != addr || o.FlashSaleID != f.ID {
			t.Fatalf("drained order %+v %v", o, err)
		}
		// The shopper retries the tap: the same order, paid normally.
		r, err := h.svc.BuyFlashSale(ctx, "m1", f.ID, "tap", FlashSaleOrderRequest{Quantity: 1, Address: addr})
		if err != nil || r.Order.ID != won.ID {
			t.Fatalf("retry: %+v %v", r.Order, err)
		}
		h.payInSandbox(t, r)
		eventually(t, 5*time.Second, "paid", func() bool { return h.status(t, won.ID).Status == StatusPaid })
		if n, err := j.DrainAll(ctx); err != nil || n != 0 {
			t.Fatalf("second drain %d: %v", n, err)
		}
		if rep, err := j.ReconcileAll(ctx); err != nil || rep.Gaps() {
			t.Fatalf("reconcile %+v %v", rep, err)
		}
		orders, _ := db.NewSelect().Table("orders").Where("flash_sale_id = ?", f.ID).Count(ctx)
		if orders != 1 {
			t.Fatalf("%d orders", orders)
		}
	})
}
