package outbox_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/jobs"
	"github.com/siyu-live/siyu/outbox"
	"github.com/siyu-live/siyu/testsupport"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// recorder is an Enqueuer that remembers what it was given and can fail.
type recorder struct {
	mu   sync.Mutex
	got  []outbox.Row
	fail error
	// failID, when set, fails only the message with this id.
	failID string
}

func (r *recorder) Enqueue(_ context.Context, row outbox.Row) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil && (r.failID == "" || r.failID == row.ID) {
		return r.fail
	}
	r.got = append(r.got, row)
	return nil
}

func TestCommitAndRollback(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return outbox.Add(ctx, tx, outbox.Message{TaskType: "test:kept", Payload: map[string]string{"id": "1"}})
		})
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := outbox.Add(ctx, tx, outbox.Message{TaskType: "test:dropped"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("rollback: %v", err)
		}
		rec := &recorder{}
		relay := outbox.NewRelay(db, rec, quiet, time.Hour, nil)
		if _, err := relay.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if len(rec.got) != 1 || rec.got[0].TaskType != "test:kept" || rec.got[0].Payload != `{"id":"1"}` {
			t.Fatalf("relayed %+v, want only the committed message", rec.got)
		}
		// Sent messages are not relayed again.
		if _, err := relay.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if len(rec.got) != 1 {
			t.Fatalf("relayed %d times", len(rec.got))
		}
		if n, _, err := outbox.Backlog(ctx, db); err != nil || n != 0 {
			t.Fatalf("backlog %d %v", n, err)
		}
	})
}

func TestFailedEnqueueIsRetried(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		if err := outbox.Add(ctx, db, outbox.Message{ID: "stable-1", TaskType: "test:retry"}); err != nil {
			t.Fatal(err)
		}
		// Adding the same stable ID again keeps one message.
		if err := outbox.Add(ctx, db, outbox.Message{ID: "stable-1", TaskType: "test:retry"}); err != nil {
			t.Fatal(err)
		}
		rec := &recorder{fail: errors.New("redis down")}
		relay := outbox.NewRelay(db, rec, quiet, time.Hour, nil)
		if _, err := relay.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		var row outbox.Row
		if err := db.NewSelect().Model(&row).Where("id = ?", "stable-1").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if row.SentAt != nil || row.Attempts != 1 || row.LastError != "redis down" {
			t.Fatalf("after a failed enqueue: %+v", row)
		}
		rec.fail = nil
		if _, err := relay.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if len(rec.got) != 1 {
			t.Fatalf("relayed %d, want 1", len(rec.got))
		}
	})
}

// A pass stamps every message it enqueued and leaves the one that failed
// for the next pass, with its attempt recorded.
func TestPassWithOneFailure(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		for _, id := range []string{"m1", "m2", "m3", "m4"} {
			if err := outbox.Add(ctx, db, outbox.Message{ID: id, TaskType: "test:batch"}); err != nil {
				t.Fatal(err)
			}
		}
		rec := &recorder{fail: errors.New("redis down"), failID: "m3"}
		relay := outbox.NewRelay(db, rec, quiet, time.Hour, nil)
		if n, err := relay.Flush(ctx); err != nil || n != 4 {
			t.Fatalf("flush claimed %d, %v; want 4", n, err)
		}
		var rows []outbox.Row
		if err := db.NewSelect().Model(&rows).OrderExpr("id").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			failed := row.ID == "m3"
			if (row.SentAt == nil) != failed || (row.Attempts == 1) != failed {
				t.Errorf("%s: sent_at %v, attempts %d", row.ID, row.SentAt, row.Attempts)
			}
		}
		if n, _, err := outbox.Backlog(ctx, db); err != nil || n != 1 {
			t.Fatalf("backlog %d %v, want the failed message", n, err)
		}
		rec.fail = nil
		if _, err := relay.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if len(rec.got) != 4 || rec.got[3].ID != "m3" {
			t.Fatalf("relayed %+v, want the failed message last", rec.got)
		}
	})
}

func TestMarkProcessed(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		first, err := outbox.MarkProcessed(ctx, db, "test", "k1")
		if err != nil || !first {
			t.Fatalf("first: %v %v", first, err)
		}
		again, err := outbox.MarkProcessed(ctx, db, "test", "k1")
		if err != nil || again {
			t.Fatalf("again: %v %v", again, err)
		}
	})
}

// TestRelayToAsynq runs the relay against a real asynq worker: a committed
// message reaches its handler exactly once even when relayed twice.
func TestRelayToAsynq(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		opt, err := asynq.ParseRedisURI(testsupport.Redis(t))
		if err != nil {
			t.Fatal(err)
		}
		client := asynq.NewClient(opt)
		defer client.Close()
		srv, mux := jobs.NewServer(opt, jobs.ServerConfig{Concurrency: 2, ShutdownTimeout: time.Second, Logger: quiet})
		got := make(chan string, 10)
		mux.HandleFunc("test:hello", func(ctx context.Context, task *asynq.Task) error {
			got <- string(task.Payload())
			return nil
		})
		if err := srv.Start(mux); err != nil {
			t.Fatal(err)
		}
		defer srv.Shutdown()
		if err := outbox.Add(ctx, db, outbox.Message{ID: "hello-1", TaskType: "test:hello", Payload: map[string]int{"n": 7}}); err != nil {
			t.Fatal(err)
		}
		enq := jobs.NewEnqueuer(client)
		relay := outbox.NewRelay(db, enq, quiet, 20*time.Millisecond, nil)
		go relay.Run(ctx)
		select {
		case p := <-got:
			if p != `{"n":7}` {
				t.Fatalf("payload %s", p)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the task never ran")
		}
		// The same row enqueued again while the task is retained is a no-op.
		var row outbox.Row
		if err := db.NewSelect().Model(&row).Where("id = ?", "hello-1").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if row.SentAt == nil {
			t.Fatal("row not marked sent")
		}
	})
}

func TestRelayRunPokedRelaysOnlyWhenPoked(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return outbox.Add(ctx, tx, outbox.Message{TaskType: "test:poked"})
		})
		if err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		relay := outbox.NewRelay(db, rec, quiet, time.Millisecond, nil)
		done := make(chan struct{})
		go func() {
			defer close(done)
			relay.RunPoked(ctx)
		}()
		relayed := func() int {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			return len(rec.got)
		}
		// Passes at the interval are the workers' (Run), not RunPoked's.
		time.Sleep(50 * time.Millisecond)
		if n := relayed(); n != 0 {
			t.Fatalf("relayed %d messages without a poke", n)
		}
		relay.Poke()
		deadline := time.Now().Add(5 * time.Second)
		for relayed() == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := relayed(); n != 1 {
			t.Fatalf("relayed %d messages after a poke, want 1", n)
		}
		cancel()
		<-done
	})
}
