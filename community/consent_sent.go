package community

import (
	"context"
	"sync"
)

// sentRecords is the group commit of the sent messages' records: the
// senders that finish a message while another's record is being written
// wait, and the first of them then writes all of theirs in one statement.
// A campaign's senders finish together (the pace hands them messages a
// few at a time), so a statement and its commit, which PostgreSQL flushes
// to disk, serve several messages instead of one. Each caller still
// returns only once its own record has committed.
type sentRecords struct {
	mu      sync.Mutex
	waiting []*sentRecord
	leading bool // a caller is writing records
}

type sentRecord struct {
	key  string
	err  error
	lead bool // the record's caller writes the next statement
	done chan struct{}
}

// record writes key's record with write, with those of the callers
// waiting meanwhile.
func (q *sentRecords) record(ctx context.Context, key string, write func(ctx context.Context, keys []string) error) error {
	me := &sentRecord{key: key, done: make(chan struct{})}
	q.mu.Lock()
	q.waiting = append(q.waiting, me)
	lead := !q.leading
	q.leading = true
	q.mu.Unlock()
	if !lead {
		<-me.done
		if !me.lead {
			return me.err
		}
	}
	q.mu.Lock()
	batch := q.waiting
	q.waiting = nil
	q.mu.Unlock()
	keys := make([]string, len(batch))
	for i, r := range batch {
		keys[i] = r.key
	}
	// The messages are sent: their records are written whatever becomes
	// of the caller that happens to write them.
	err := write(context.WithoutCancel(ctx), keys)
	for _, r := range batch {
		if r != me {
			r.err = err
			close(r.done)
		}
	}
	q.mu.Lock()
	if len(q.waiting) > 0 {
		// Those who came meanwhile go next, written by the first of them.
		next := q.waiting[0]
		next.lead = true
		close(next.done)
	} else {
		q.leading = false
	}
	q.mu.Unlock()
	return err
}
