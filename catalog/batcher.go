package catalog

import (
	"context"
	"sync"
	"time"
)

// Group commit of claims. A crowd of buyers must not cost one Redis round
// trip each: the claims that arrive while a batch is at Redis wait and go
// together in the next one, one script run per sale. A lone claim goes at
// once, so a quiet sale waits for nothing. Each claim still gets its own
// outcome, decided exactly as if it had run alone in arrival order.

// maxClaimBatch bounds the claims sent in one round trip, which bounds how
// long Redis runs one script (about a microsecond or two a claim).
const maxClaimBatch = 256

// claimTimeout bounds one batch's round trip; it is the batch's, not any
// one request's, since a batch serves many.
const claimTimeout = 5 * time.Second

// batcherIdle is how long a lane waits for work before it ends; the next
// claim starts one again.
const batcherIdle = 2 * time.Second

// claimLanes bounds the batches at Redis at once. Under load one lane
// is best: the claims that arrive while its batch is at Redis make the
// next batch, and every lane more means smaller batches, so more round
// trips (each a write and a read, here and in Redis) for the same claims.
const claimLanes = 1

// claimCall is one claim waiting for its outcome.
type claimCall struct {
	ctx    context.Context
	saleID string
	args   claimArgs
	out    outcome
	err    error
	done   chan struct{}
}

// batcher sends waiting claims to Redis in batches from up to claimLanes
// goroutines, which run while there is work.
type batcher struct {
	e       *engine
	mu      sync.Mutex
	waiting []*claimCall
	running int // lanes running
	idle    int // lanes waiting for work
	wake    chan struct{}
}

func newBatcher(e *engine) *batcher {
	return &batcher{e: e, wake: make(chan struct{}, 1)}
}

// claim decides one claim with whatever other claims are waiting.
func (b *batcher) claim(ctx context.Context, saleID string, args claimArgs) (outcome, error) {
	call := &claimCall{ctx: ctx, saleID: saleID, args: args, done: make(chan struct{})}
	b.mu.Lock()
	b.waiting = append(b.waiting, call)
	switch {
	case b.idle > 0:
		select {
		case b.wake <- struct{}{}:
		default:
		}
	case b.running < claimLanes:
		b.running++
		go b.lane()
	}
	b.mu.Unlock()
	// Once queued the claim may win, so its outcome is awaited even if
	// the request gives up: a win must not be reported as an error.
	<-call.done
	return call.out, call.err
}

// lane sends batches until there has been nothing to send for batcherIdle.
func (b *batcher) lane() {
	idle := time.NewTimer(batcherIdle)
	defer idle.Stop()
	var batch []*claimCall
	for {
		b.mu.Lock()
		if len(b.waiting) == 0 {
			b.idle++
			b.mu.Unlock()
			idle.Reset(batcherIdle)
			timedOut := false
			select {
			case <-b.wake:
			case <-idle.C:
				timedOut = true
			}
			b.mu.Lock()
			b.idle--
			if timedOut && len(b.waiting) == 0 {
				b.running--
				b.mu.Unlock()
				return
			}
			b.mu.Unlock()
			continue
		}
		n := min(len(b.waiting), maxClaimBatch)
		batch = append(batch[:0], b.waiting[:n]...)
		rest := copy(b.waiting, b.waiting[n:])
		clear(b.waiting[rest:])
		b.waiting = b.waiting[:rest]
		b.mu.Unlock()
		b.send(batch)
		clear(batch)
	}
}

// send decides a batch: one group per sale, in arrival order within each.
func (b *batcher) send(batch []*claimCall) {
	groups := make([]*saleClaims, 0, 1)
	members := make([][]*claimCall, 0, 1)
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			// Gone before it was sent: it cannot have won.
			c.err = err
			close(c.done)
			continue
		}
		i := 0
		for i < len(groups) && groups[i].saleID != c.saleID {
			i++
		}
		if i == len(groups) {
			groups = append(groups, &saleClaims{saleID: c.saleID})
			members = append(members, nil)
		}
		groups[i].claims = append(groups[i].claims, c.args)
		members[i] = append(members[i], c)
	}
	if len(groups) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), claimTimeout)
	defer cancel()
	b.e.runClaims(ctx, groups)
	for i, g := range groups {
		for j, c := range members[i] {
			if g.err != nil {
				c.err = g.err
			} else {
				c.out = g.out[j]
			}
			close(c.done)
		}
	}
}
