package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/payments"
)

// calls records which service method a task reached, with what.
type calls []string

func (c *calls) add(s string) error { *c = append(*c, s); return nil }

type fakePayments struct{ c *calls }

func (f fakePayments) CloseExpired(_ context.Context, id string) error { return f.c.add("close " + id) }
func (f fakePayments) AccrueCommissions(_ context.Context, id string) error {
	return f.c.add("accrue " + id)
}
func (f fakePayments) SubmitRefund(_ context.Context, id string) error {
	return f.c.add("submit " + id)
}
func (f fakePayments) ReverseCommissions(_ context.Context, id string) error {
	return f.c.add("reverse " + id)
}
func (f fakePayments) UploadShipping(_ context.Context, id string) error {
	return f.c.add("upload " + id)
}
func (f fakePayments) CloseExpiredOrders(context.Context, int) (int, error) {
	return 0, f.c.add("sweep")
}
func (f fakePayments) ReconcileOrders(context.Context, int) (int, error) {
	return 0, f.c.add("reconcile orders")
}
func (f fakePayments) ReconcileRefunds(context.Context, int) (int, error) {
	return 0, f.c.add("reconcile refunds")
}
func (f fakePayments) SettleCommissions(context.Context) (int, error) { return 0, f.c.add("settle") }

type fakeJournal struct{ c *calls }

func (f fakeJournal) ReleaseClaimStock(_ context.Context, id string) error {
	return f.c.add("release " + id)
}
func (f fakeJournal) DrainAll(context.Context) (int, error) { return 0, f.c.add("drain") }
func (f fakeJournal) ReconcileAll(context.Context) (catalog.Repair, error) {
	return catalog.Repair{}, f.c.add("reconcile sales")
}
func (f fakeJournal) Finish(_ context.Context, id string) error { return f.c.add("finish " + id) }

func TestCommerceTasks(t *testing.T) {
	var c calls
	mux := asynq.NewServeMux()
	HandlePayments(mux, fakePayments{&c})
	HandleCatalog(mux, fakeJournal{&c}, fakeJournal{&c})
	for _, tc := range []struct {
		task    string
		payload string
		want    string
		skip    bool
	}{
		{payments.TaskCloseOrder, `{"order_id":"o1"}`, "close o1", false},
		{payments.TaskCloseOrders, `{"order_ids":["o1"]}`, "close o1", false},
		{payments.TaskAccrueCommissions, `{"order_id":"o1"}`, "accrue o1", false},
		{payments.TaskUploadShipping, `{"order_id":"o1"}`, "upload o1", false},
		{payments.TaskSubmitRefund, `{"refund_id":"r1"}`, "submit r1", false},
		{payments.TaskReverseCommission, `{"refund_id":"r1"}`, "reverse r1", false},
		{payments.TaskSweepExpired, ``, "sweep", false},
		{payments.TaskReconcileOrders, ``, "reconcile orders", false},
		{payments.TaskReconcileRefunds, ``, "reconcile refunds", false},
		{payments.TaskSettleCommissions, ``, "settle", false},
		{catalog.TaskReleaseClaim, `{"claim_id":"c1"}`, "release c1", false},
		{catalog.TaskFinishFlashSale, `{"flash_sale_id":"f1"}`, "finish f1", false},
		{catalog.TaskDrainJournals, ``, "drain", false},
		{catalog.TaskReconcileFlashSales, ``, "reconcile sales", false},
		{payments.TaskCloseOrder, `{"order_id":""}`, "", true},
		{payments.TaskCloseOrders, `{"order_ids":[]}`, "", true},
		{payments.TaskSubmitRefund, `not json`, "", true},
		{catalog.TaskReleaseClaim, `{}`, "", true},
	} {
		t.Run(tc.task+" "+tc.payload, func(t *testing.T) {
			c = nil
			err := mux.ProcessTask(context.Background(), asynq.NewTask(tc.task, []byte(tc.payload)))
			if tc.skip {
				if !errors.Is(err, asynq.SkipRetry) || len(c) != 0 {
					t.Fatalf("err %v, calls %v: want a skipped task", err, c)
				}
				return
			}
			if err != nil || len(c) != 1 || c[0] != tc.want {
				t.Fatalf("err %v, calls %v, want %q", err, c, tc.want)
			}
		})
	}
	for _, p := range append(PaymentSchedules(), CatalogSchedules()...) {
		if p.Every <= 0 || p.Cronspec == "" || Queues[p.Queue] == 0 {
			t.Errorf("schedule %+v", p)
		}
	}
	// The scheduler parses every cron spec when they are registered.
	s := asynq.NewScheduler(asynq.RedisClientOpt{Addr: "127.0.0.1:1"}, nil)
	if err := RegisterSchedules(s, append(PaymentSchedules(), CatalogSchedules()...)); err != nil {
		t.Fatal(err)
	}
	if err := RegisterSchedules(s, []Periodic{{Cronspec: "every now and then", TaskType: "x", Queue: "low", Every: time.Second}}); err == nil {
		t.Fatal("a bad cron spec was accepted")
	}
}
