package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/outbox"
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

// runJournal runs the flash-sale journal of this process, as every Siyu
// process does, until the test ends.
func (h *harness) runJournal(t *testing.T) *catalog.Journal {
	t.Helper()
	j := catalog.NewJournal(h.cat, h.svc)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		j.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return j
}

// countOrders counts a sale's orders in the database.
func countOrders(t *testing.T, db *bun.DB, saleID string) int {
	t.Helper()
	n, err := db.NewSelect().Table("orders").Where("flash_sale_id = ?", saleID).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// TestFlashSaleCrowd: 10,000 concurrent buyers from 600 members for 1,000
// units with a limit of 2 each sell exactly 1,000 units, no member over
// the limit; every winner is answered its order at once, and the running
// journal stores exactly that order for each, within moments.
func TestFlashSaleCrowd(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		const buyers, members, quantity, limit = 10000, 600, 1000, 2
		f := h.flashSale(t, quantity, limit)
		h.shows.m["show-1"] = ShowStatus{Live: true, HostID: "host-1"}
		for i := range members {
			m := fmt.Sprintf("m%03d", i)
			h.member.inviters[m] = "inviter-" + m
		}
		h.runJournal(t)

		start := time.Now()
		var wins, soldOut, limited atomic.Int64
		won := make([]Order, buyers)
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range buyers {
			wg.Go(func() {
				<-gate
				member := fmt.Sprintf("m%03d", i%members)
				o, err := h.svc.ClaimFlashSale(ctx, member, f.ID, "", FlashSaleOrderRequest{Quantity: 1 + i%2, Address: addr})
				switch {
				case err == nil:
					wins.Add(1)
					won[i] = o
				case errors.Is(err, catalog.ErrSoldOut), errors.Is(err, catalog.ErrNotEnoughLeft):
					soldOut.Add(1)
				case errors.Is(err, catalog.ErrLimitReached):
					limited.Add(1)
				default:
					t.Errorf("buyer %d: %v", i, err)
				}
			})
		}
		close(gate)
		wg.Wait()
		answered := time.Since(start)
		eventually(t, 10*time.Second, "every win an order", func() bool { return countOrders(t, db, f.ID) == int(wins.Load()) })
		t.Logf("%d buyers answered in %s, stored after %s: %d won, %d sold out, %d over the limit",
			buyers, answered, time.Since(start), wins.Load(), soldOut.Load(), limited.Load())

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
		// Every winner's answer is the order stored, attribution aside.
		for _, a := range won {
			if a.ID == "" {
				continue
			}
			o := h.status(t, a.ID)
			if a.Status != StatusPending || a.Total != 9900*int64(a.Items[0].Quantity) || a.HostID != "" {
				t.Fatalf("answered %+v", a)
			}
			if o.HostID != "host-1" || o.InviterID != "inviter-"+o.MemberID {
				t.Fatalf("attribution of %+v", o)
			}
			o.HostID, o.InviterID = "", ""
			if aj, oj := marshal(a), marshal(o); aj != oj {
				t.Fatalf("answered %s\nstored   %s", aj, oj)
			}
		}
		claims, _ := db.NewSelect().Table("flash_sale_claims").Where("flash_sale_id = ?", f.ID).Count(ctx)
		if claims != wins.Load() {
			t.Fatalf("%d winners, %d claims", wins.Load(), claims)
		}
		// Redis agrees, the journal is empty, and reconciliation finds no gap.
		sale, err := h.cat.FlashSale(ctx, f.ID)
		if err != nil || sale.Remaining != 0 {
			t.Fatalf("remaining %d %v", sale.Remaining, err)
		}
		h.clk.Add(time.Minute)
		rep, err := catalog.NewJournal(h.cat, h.svc).Reconcile(ctx, f.ID)
		if err != nil || rep.Gaps() || rep.Drained != 0 {
			t.Fatalf("reconcile %+v %v", rep, err)
		}
		if d := time.Since(start); d > 45*time.Second {
			t.Errorf("the crowd took %s", d)
		}
	})
}

// TestFlashSaleOrderLifecycle: a winner pays through Pay; another never
// pays and the close returns the unit to the sale, where someone else can
// win it.
func TestFlashSaleOrderLifecycle(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		f := h.flashSale(t, 2, 1)
		h.runJournal(t)
		won, err := h.svc.ClaimFlashSale(ctx, "m1", f.ID, "k1", FlashSaleOrderRequest{Quantity: 1, Address: addr})
		if err != nil || won.Status != StatusPending || won.Total != 9900 {
			t.Fatalf("win %+v %v", won, err)
		}
		again, err := h.svc.ClaimFlashSale(ctx, "m1", f.ID, "k1", FlashSaleOrderRequest{Quantity: 1, Address: addr})
		if err != nil || again.ID != won.ID {
			t.Fatalf("repeated request: %+v %v", again, err)
		}
		unpaid, err := h.svc.ClaimFlashSale(ctx, "m2", f.ID, "", FlashSaleOrderRequest{Quantity: 1, Address: addr})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.ClaimFlashSale(ctx, "m3", f.ID, "", FlashSaleOrderRequest{Quantity: 1, Address: addr}); !errors.Is(err, catalog.ErrSoldOut) {
			t.Fatalf("third buyer: %v", err)
		}
		r, err := h.svc.Pay(ctx, "m1", won.ID)
		if err != nil || r.Order.ID != won.ID || r.Pay.PaySign == "" {
			t.Fatalf("pay %+v %v", r, err)
		}
		if _, err := h.svc.Pay(ctx, "m2", won.ID); !errors.Is(err, ErrOrderNotFound) {
			t.Fatalf("another member paying: %v", err)
		}
		h.payInSandbox(t, r)
		eventually(t, 5*time.Second, "paid", func() bool { return h.status(t, won.ID).Status == StatusPaid })
		if o := h.status(t, won.ID); o.Total != 9900 || o.ShowID != "show-1" {
			t.Fatalf("flash-sale order %+v", o)
		}
		if o, err := h.svc.ClaimFlashSale(ctx, "m1", f.ID, "k1", FlashSaleOrderRequest{Quantity: 1, Address: addr}); err != nil || o.Status != StatusPaid {
			t.Fatalf("repeated request after paying: %+v %v", o, err)
		}

		eventually(t, 5*time.Second, "the unpaid order stored", func() bool { return countOrders(t, db, f.ID) == 2 })
		var task outbox.Row
		if err := db.NewSelect().Model(&task).Where("task_type = ? AND payload LIKE ?", TaskCloseOrders, "%"+unpaid.ID+"%").Scan(ctx); err != nil ||
			!task.ProcessAt.Equal(unpaid.ExpiresAt) {
			t.Fatalf("close task %+v %v, want at %s", task, err, unpaid.ExpiresAt)
		}
		h.clk.Add(16 * time.Minute)
		if err := h.svc.CloseExpired(ctx, unpaid.ID); err != nil {
			t.Fatal(err)
		}
		if s := h.status(t, unpaid.ID).Status; s != StatusClosed {
			t.Fatalf("unpaid flash-sale order is %s", s)
		}
		// The outbox carries the Redis half of the release; run it as the
		// worker would, twice.
		var payload string
		if err := db.NewSelect().Table("outbox").Column("payload").Where("task_type = ?", catalog.TaskReleaseClaim).Scan(ctx, &payload); err != nil ||
			!strings.Contains(payload, unpaid.ID) {
			t.Fatalf("release task %q %v", payload, err)
		}
		for range 2 {
			if err := h.cat.ReleaseClaimStock(ctx, unpaid.ID); err != nil {
				t.Fatal(err)
			}
		}
		if sale, _ := h.cat.FlashSale(ctx, f.ID); sale.Remaining != 1 {
			t.Fatalf("remaining %d after the release, want 1", sale.Remaining)
		}
		time.Sleep(1100 * time.Millisecond) // the sold-out belief of this process lapses
		h.clk.Add(-16 * time.Minute)
		if _, err := h.svc.ClaimFlashSale(ctx, "m3", f.ID, "", FlashSaleOrderRequest{Quantity: 1, Address: addr}); err != nil {
			t.Fatalf("buying the released unit: %v", err)
		}
	})
}

// TestFlashSaleOrderBeforeTheJournal: a winner whose order is not in the
// database yet (no Journal has run) can read it, pay it or cancel it at
// once: each persists it first. The drain that comes later, and a process
// that died with the claim only in its journal, persist each order once.
func TestFlashSaleOrderBeforeTheJournal(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		f := h.flashSale(t, 5, 1)
		h.shows.m["show-1"] = ShowStatus{Live: true, HostID: "host-1"}
		h.member.inviters["m1"] = "inviter-1"
		claim := func(member string) Order {
			t.Helper()
			o, err := h.svc.ClaimFlashSale(ctx, member, f.ID, "tap", FlashSaleOrderRequest{Quantity: 1, Address: addr})
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		toPay, toRead, toCancel, orphan := claim("m1"), claim("m2"), claim("m3"), claim("m4")
		if n := countOrders(t, db, f.ID); n != 0 {
			t.Fatalf("%d orders stored with no journal running", n)
		}

		r, err := h.svc.Pay(ctx, "m1", toPay.ID)
		if err != nil || r.Pay.PaySign == "" || !r.Order.ExpiresAt.Equal(toPay.ExpiresAt) || r.Order.InviterID != "inviter-1" || r.Order.HostID != "host-1" {
			t.Fatalf("pay before the journal: %+v %v", r, err)
		}
		h.payInSandbox(t, r)
		eventually(t, 5*time.Second, "paid", func() bool { return h.status(t, toPay.ID).Status == StatusPaid })
		if _, err := h.svc.MemberOrder(ctx, "m1", toRead.ID); !errors.Is(err, ErrOrderNotFound) {
			t.Fatalf("another member reading: %v", err)
		}
		if o, err := h.svc.MemberOrder(ctx, "m2", toRead.ID); err != nil || o.Status != StatusPending || o.Address != addr {
			t.Fatalf("read before the journal: %+v %v", o, err)
		}
		if o, err := h.svc.Cancel(ctx, "m3", toCancel.ID); err != nil || o.Status != StatusClosed {
			t.Fatalf("cancel before the journal: %+v %v", o, err)
		}
		if _, err := h.svc.MemberOrder(ctx, "m1", "0190aaaa-0000-7000-8000-000000000000"); !errors.Is(err, ErrOrderNotFound) {
			t.Fatalf("an order nobody won: %v", err)
		}
		if n := countOrders(t, db, f.ID); n != 3 {
			t.Fatalf("%d orders stored, want 3", n)
		}

		// The process died: orphan's claim is only in the journal. The
		// drain leaves it alone while it may be in flight, then persists
		// it with the rest of the journal, once.
		j := catalog.NewJournal(h.cat, h.svc)
		if n, err := j.DrainAll(ctx); err != nil || n != 0 {
			t.Fatalf("drained %d %v while the claims may be in flight", n, err)
		}
		h.clk.Add(20 * time.Second)
		if n, err := j.DrainAll(ctx); err != nil || n != 4 {
			t.Fatalf("drained %d %v, want the 4 journal entries", n, err)
		}
		o, err := h.svc.MemberOrder(ctx, "m4", orphan.ID)
		if err != nil || o.Status != StatusPending || !o.ExpiresAt.Equal(orphan.ExpiresAt) || o.Total != 9900 {
			t.Fatalf("drained order %+v %v, answered %+v", o, err, orphan)
		}
		if n, err := j.DrainAll(ctx); err != nil || n != 0 {
			t.Fatalf("second drain %d: %v", n, err)
		}
		// The shopper retries the tap: the same order, as it is now.
		if again := claim("m1"); again.ID != toPay.ID || again.Status != StatusPaid {
			t.Fatalf("retry: %+v", again)
		}
		// The worker gives the cancelled order's unit back to the sale.
		if err := h.cat.ReleaseClaimStock(ctx, toCancel.ID); err != nil {
			t.Fatal(err)
		}
		if rep, err := j.ReconcileAll(ctx); err != nil || rep.Gaps() {
			t.Fatalf("reconcile %+v %v", rep, err)
		}
		if n := countOrders(t, db, f.ID); n != 4 {
			t.Fatalf("%d orders", n)
		}
		// A claim persisted long after its win (its process died and no
		// drain ran for a while) gets the whole time to pay from then.
		late := claim("m5")
		h.clk.Add(5 * time.Minute)
		if o, err := h.svc.MemberOrder(ctx, "m5", late.ID); err != nil || !o.ExpiresAt.After(late.ExpiresAt.Add(4*time.Minute)) {
			t.Fatalf("late order %+v %v, answered expiry %s", o, err, late.ExpiresAt)
		}
	})
}

// payers is a member directory that answers many members at once, and
// counts how often it is asked.
type payers struct {
	members
	asked atomic.Int64
}

func (p *payers) Payers(_ context.Context, ids []string) (map[string]Payer, error) {
	p.asked.Add(1)
	out := map[string]Payer{}
	for _, id := range ids {
		out[id] = Payer{OpenID: "o_" + id, InviterID: p.inviters[id]}
	}
	return out, nil
}

// TestPersistClaimsOverlapping: batches of claims that overlap, persisted
// at the same time, make each order once, with one close task each, and
// look each batch's buyers up once.
func TestPersistClaimsOverlapping(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		f := h.flashSale(t, 300, 1)
		dir := &payers{members: members{inviters: map[string]string{"m0001": "inviter-1"}}}
		svc := h.withMembers(t, dir)
		var claims []catalog.Claim
		for i := range 300 {
			c, err := h.cat.Claim(ctx, catalog.ClaimRequest{FlashSaleID: f.ID, MemberID: fmt.Sprintf("m%04d", i), Quantity: 1, Attached: marshal(addr)})
			if err != nil {
				t.Fatal(err)
			}
			claims = append(claims, c)
		}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				part := append([]catalog.Claim(nil), claims[w*40:min(w*40+100, len(claims))]...)
				// Repeated and out of order within a batch too.
				part = append(part, part[0])
				part[0], part[len(part)-2] = part[len(part)-2], part[0]
				if err := svc.PersistClaims(ctx, part); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := countOrders(t, db, f.ID); n != 300 {
			t.Fatalf("%d orders, want 300", n)
		}
		if n, _ := db.NewSelect().Table("order_items").Join("JOIN orders ON orders.id = order_items.order_id").
			Where("orders.flash_sale_id = ?", f.ID).Count(ctx); n != 300 {
			t.Fatalf("%d order lines, want 300", n)
		}
		var tasks []outbox.Row
		if err := db.NewSelect().Model(&tasks).Where("task_type = ?", TaskCloseOrders).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		closing := map[string]int{}
		for _, task := range tasks {
			var p OrdersTask
			if err := json.Unmarshal([]byte(task.Payload), &p); err != nil {
				t.Fatal(err)
			}
			for _, id := range p.OrderIDs {
				closing[id]++
			}
		}
		for _, c := range claims {
			if closing[c.ID] != 1 {
				t.Fatalf("order %s has %d close tasks", c.ID, closing[c.ID])
			}
		}
		if dir.asked.Load() != 6 {
			t.Fatalf("buyers looked up %d times for 6 batches", dir.asked.Load())
		}
		o := h.status(t, claims[1].ID)
		var openID string
		if err := db.NewSelect().Table("orders").Column("payer_openid").Where("id = ?", o.ID).Scan(ctx, &openID); err != nil {
			t.Fatal(err)
		}
		if openID != "o_m0001" || o.InviterID != "inviter-1" || o.Address != addr || o.Description != "云南普洱 357g 2019 生茶" {
			t.Fatalf("order %+v, payer %q", o, openID)
		}
	})
}

// forgetful is a directory whose batch lookup misses one member, as when
// the member row is read from a replica that lags.
type forgetful struct {
	payers
	missing string
}

func (f *forgetful) Payers(ctx context.Context, ids []string) (map[string]Payer, error) {
	out, err := f.payers.Payers(ctx, ids)
	delete(out, f.missing)
	return out, err
}

// TestFlashSaleWinWithoutOpenIDIsPayable: a win stored without its
// buyer's openid (the batch lookup missed the member) is still paid: the
// pay call asks for the openid and the inviter again and stores them, so
// the inviter's commission is kept.
func TestFlashSaleWinWithoutOpenIDIsPayable(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		f := h.flashSale(t, 5, 1)
		dir := &forgetful{payers: payers{members: members{inviters: map[string]string{"m1": "m9"}}}, missing: "m1"}
		svc := h.withMembers(t, dir)
		c, err := h.cat.Claim(ctx, catalog.ClaimRequest{FlashSaleID: f.ID, MemberID: "m1", Quantity: 1, Attached: marshal(addr)})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.PersistClaims(ctx, []catalog.Claim{c}); err != nil {
			t.Fatal(err)
		}
		payer := func() (openID, inviter string) {
			t.Helper()
			if err := db.NewSelect().Table("orders").Column("payer_openid", "inviter_id").Where("id = ?", c.ID).Scan(ctx, &openID, &inviter); err != nil {
				t.Fatal(err)
			}
			return openID, inviter
		}
		if openID, inviter := payer(); openID != "" || inviter != "" {
			t.Fatalf("stored with openid %q, inviter %q", openID, inviter)
		}
		r, err := svc.Pay(ctx, "m1", c.ID)
		if err != nil || r.Pay.PaySign == "" {
			t.Fatalf("pay: %+v %v", r, err)
		}
		if openID, inviter := payer(); openID != "o_m1" || inviter != "m9" {
			t.Fatalf("after paying, openid %q, inviter %q", openID, inviter)
		}
		h.payInSandbox(t, r)
		eventually(t, 5*time.Second, "paid", func() bool { return h.status(t, c.ID).Status == StatusPaid })
	})
}
