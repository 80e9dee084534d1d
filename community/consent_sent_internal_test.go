package community

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestSentRecordsWriteTogetherWhatCameMeanwhile(t *testing.T) {
	const n = 8
	var q sentRecords
	var (
		mu     sync.Mutex
		writes [][]string
	)
	release := make(chan struct{})
	failed := errors.New("disk full")
	write := func(_ context.Context, keys []string) error {
		mu.Lock()
		writes = append(writes, slices.Clone(keys))
		first := len(writes) == 1
		mu.Unlock()
		if first {
			// The first write lasts until everyone else is waiting.
			<-release
			return nil
		}
		return failed
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = q.record(context.Background(), "k0", write) })
	waitUntil(t, "k0 is being written", q.isWriting)
	for i := 1; i < n; i++ {
		wg.Go(func() { errs[i] = q.record(context.Background(), fmt.Sprintf("k%d", i), write) })
	}
	waitUntil(t, "the others wait", func() bool { return q.isWaiting(n - 1) })
	close(release)
	wg.Wait()
	if len(writes) != 2 || !slices.Equal(writes[0], []string{"k0"}) || len(writes[1]) != n-1 {
		t.Fatalf("writes = %v, want [k0] then the other %d together", writes, n-1)
	}
	if errs[0] != nil {
		t.Fatalf("k0: %v", errs[0])
	}
	for i := 1; i < n; i++ {
		if !errors.Is(errs[i], failed) {
			t.Fatalf("k%d: %v, want the failure of the write that held it", i, errs[i])
		}
	}
	if q.leading || len(q.waiting) != 0 {
		t.Fatalf("left leading=%v with %d waiting", q.leading, len(q.waiting))
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s until %s", what)
		}
	}
}

// isWriting says whether a write is under way with nobody waiting.
func (q *sentRecords) isWriting() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.leading && len(q.waiting) == 0
}

// isWaiting says whether n callers wait for the next write.
func (q *sentRecords) isWaiting(n int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting) == n
}
