package live

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// MaxLikesPerCall caps the likes one call may add (a client batches its
// taps).
const MaxLikesPerCall = 100

// Like adds a viewer's likes to a live show and returns the show's like
// total as this replica knows it: the Redis total at its last flush plus
// the likes taken here since, never less than the show's stored total.
//
// Likes are counted in process, not in Redis: a crowd taps by the tens of
// thousands a second, and a Redis round trip per tap was most of the
// cost. Each show has one atomic counter here; the LikeFlusher adds every
// show's new likes to Redis in one pipeline every LikeFlush (50ms), where
// the broadcaster takes them for the next chat batch and the show's total
// grows. The trade-off: a replica that crashes loses the taps of at most
// one flush interval. A stopped replica flushes what it holds first.
func (s *Service) Like(ctx context.Context, showID, memberID string, count int) (int64, error) {
	if count < 1 || count > MaxLikesPerCall {
		return 0, invalid("count", fmt.Sprintf("must be between 1 and %d", MaxLikesPerCall))
	}
	show, err := s.mayTakePart(ctx, showID, memberID)
	if err != nil {
		return 0, err
	}
	c, added := s.likes.add(showID, int64(count))
	total := show.likes + added
	if f := c.last.Load(); f != nil {
		total = f.total + added - f.flushed
	}
	return max(total, show.likes), nil
}

// sealed marks a counter the flusher retired: likes added to it are taken
// again on a new counter. No counter comes near 2^62 likes.
const sealed = int64(1) << 62

// likeIdle is how long a show's counter stays after its last like.
const likeIdle = time.Minute

// likeCounter counts one show's likes on this replica.
type likeCounter struct {
	// added is every like taken here (plus sealed once retired).
	added atomic.Int64
	// last is what the last successful flush saw.
	last atomic.Pointer[likeFlush]

	// flushed (likes added to Redis) and idleSince are the flusher's,
	// under likeBook.flushMu.
	flushed   int64
	idleSince time.Time
}

// likeFlush is the outcome of a flush: the show's Redis total after it,
// and the likes of this replica it included.
type likeFlush struct {
	total   int64
	flushed int64
}

// likeBook holds the counters of the shows this replica takes likes for.
// A like touches no lock: the map is read without one and the counter is
// an atomic add.
type likeBook struct {
	shows   sync.Map // show id → *likeCounter
	flushMu sync.Mutex
}

// add counts n likes of a show and returns the show's counter and its
// likes taken here so far.
func (b *likeBook) add(showID string, n int64) (*likeCounter, int64) {
	for {
		v, ok := b.shows.Load(showID)
		if !ok {
			// The id may point into a request buffer the HTTP server
			// reuses: the map keeps a copy.
			v, _ = b.shows.LoadOrStore(strings.Clone(showID), &likeCounter{})
		}
		c := v.(*likeCounter)
		if a := c.added.Add(n); a&sealed == 0 {
			return c, a
		}
		// Retired between the load and the add: the flusher no longer
		// reads this counter, so the likes go to a new one.
		b.shows.CompareAndDelete(showID, c)
	}
}

// addLikes adds a replica's new likes to a live show's Redis counters in
// one step: those waiting for broadcast and the show's total, which, when
// Redis lost it, starts again from the stored one. KEYS: likes, like
// total. ARGV: new likes, stored total. Answers the total.
var addLikes = redis.NewScript(`
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'NX')
return redis.call('INCRBY', KEYS[2], ARGV[1])
`)

// pendingLikes are one show's likes not yet flushed.
type pendingLikes struct {
	showID string
	c      *likeCounter
	n      int64
	add    *redis.Cmd
}

// FlushLikes adds the likes taken on this replica since the last flush to
// Redis: one pipeline for all live shows, each show's counters moved in
// one script. A show that failed keeps its likes for the next flush; only
// what Redis counted is taken off. Likes of a show that ended meanwhile
// go to its stored total, as the end moved the rest there.
func (s *Service) FlushLikes(ctx context.Context) error {
	b := &s.likes
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	var due []pendingLikes
	now := time.Now()
	b.shows.Range(func(k, v any) bool {
		c := v.(*likeCounter)
		a := c.added.Load()
		if n := a - c.flushed; n > 0 {
			c.idleSince = time.Time{}
			due = append(due, pendingLikes{showID: k.(string), c: c, n: n})
			return true
		}
		switch {
		case c.idleSince.IsZero():
			c.idleSince = now
		case now.Sub(c.idleSince) > likeIdle && c.added.CompareAndSwap(a, a|sealed):
			b.shows.CompareAndDelete(k, c)
		}
		return true
	})
	if len(due) == 0 {
		return nil
	}
	var errs []error
	pipe := s.redis.Pipeline()
	queued := make([]pendingLikes, 0, len(due))
	for _, p := range due {
		h, err := s.hot(ctx, p.showID)
		switch {
		case errors.Is(err, ErrShowNotFound):
			s.log.Warn("likes of a show that is gone", "show", p.showID, "likes", p.n)
			p.c.flushed += p.n
		case err != nil:
			errs = append(errs, fmt.Errorf("flush likes of %s: %w", p.showID, err))
		case h.status != StatusLive:
			if err := s.addStoredLikes(ctx, p.showID, p.n); err != nil {
				errs = append(errs, err)
				continue
			}
			p.c.flushed += p.n
		default:
			keys := chatKeys(p.showID)
			p.add = addLikes.Eval(ctx, pipe, []string{keys.likes, keys.likeTotal}, p.n, h.likes)
			// Registering the room every flush costs one command and
			// repairs a set Redis lost.
			pipe.SAdd(ctx, chatRooms, p.showID)
			queued = append(queued, p)
		}
	}
	if len(queued) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			errs = append(errs, fmt.Errorf("flush likes: %w", err))
		}
	}
	for _, p := range queued {
		total, err := p.add.Int64()
		if err != nil {
			continue
		}
		p.c.flushed += p.n
		p.c.last.Store(&likeFlush{total: total, flushed: p.c.flushed})
	}
	return errors.Join(errs...)
}

// addStoredLikes adds likes to the stored total of a show that ended.
func (s *Service) addStoredLikes(ctx context.Context, showID string, n int64) error {
	if _, err := s.db.NewUpdate().Model((*Show)(nil)).Set("likes = likes + ?", n).Where("id = ?", showID).Exec(ctx); err != nil {
		return fmt.Errorf("save likes of %s: %w", showID, err)
	}
	return nil
}

// LikeFlusher flushes a replica's likes to Redis every interval. Every
// process that serves the shopper API runs one.
type LikeFlusher struct {
	s     *Service
	every time.Duration
}

// LikeFlusher returns the service's like flusher.
func (s *Service) LikeFlusher() *LikeFlusher {
	return &LikeFlusher{s: s, every: s.cfg.LikeFlush}
}

// likeRetry is the pause between a stopping flusher's tries.
const likeRetry = 100 * time.Millisecond

// likeStopTimeout bounds the last flush when the flusher stops.
const likeStopTimeout = 5 * time.Second

// Run flushes every interval until ctx is done, then flushes what is left,
// trying again for a few seconds if Redis fails. Stop the flusher after
// the HTTP server, so the likes of the last requests are flushed too.
func (f *LikeFlusher) Run(ctx context.Context) {
	t := time.NewTicker(f.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			f.drain(context.WithoutCancel(ctx))
			return
		case <-t.C:
			if err := f.s.FlushLikes(ctx); err != nil && ctx.Err() == nil {
				f.s.log.Warn("flush likes", "err", err)
			}
		}
	}
}

// drain flushes until nothing is pending or likeStopTimeout passes.
func (f *LikeFlusher) drain(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, likeStopTimeout)
	defer cancel()
	for {
		err := f.s.FlushLikes(ctx)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			f.s.log.Error("likes lost at stop: Redis did not take them", "err", err)
			return
		case <-time.After(min(f.every, likeRetry)):
		}
	}
}
