package live_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/testsupport"
)

// failingPipelines makes a Redis client's pipelines fail while on, as
// when Redis is unreachable.
type failingPipelines struct{ on atomic.Bool }

var errRedisDown = errors.New("redis is down")

func (f *failingPipelines) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f *failingPipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (f *failingPipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if f.on.Load() {
			for _, c := range cmds {
				c.SetErr(errRedisDown)
			}
			return errRedisDown
		}
		return next(ctx, cmds)
	}
}

var _ redis.Hook = (*failingPipelines)(nil)

// TestLikes checks the in-process like counters: likes taken at once from
// many goroutines reach Redis exactly, a failed flush keeps them, a
// stopped flusher flushes what it holds, the likes of a show that ended
// reach its stored total, and who may not like is refused.
func TestLikes(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		// The flusher never ticks by itself: each case flushes when it
		// means to.
		h := newHarness(t, db, options{mutate: func(c *live.Config) { c.LikeFlush = time.Hour }})
		fail := &failingPipelines{}
		h.redis.AddHook(fail)
		ctx := context.Background()
		redisTotal := func(t *testing.T, showID string) int64 {
			t.Helper()
			n, err := h.redis.Get(ctx, "live:{show:"+showID+"}:likes:total").Int64()
			if err != nil && !errors.Is(err, redis.Nil) {
				t.Fatal(err)
			}
			return n
		}
		waiting := func(t *testing.T, showID string) int64 {
			t.Helper()
			n, err := h.redis.Get(ctx, "live:{show:"+showID+"}:likes").Int64()
			if err != nil && !errors.Is(err, redis.Nil) {
				t.Fatal(err)
			}
			return n
		}
		listed := func(t *testing.T, showID string) bool {
			t.Helper()
			ok, err := h.redis.SIsMember(ctx, "live:chat:rooms", showID).Result()
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		like := func(t *testing.T, showID, member string, n int) int64 {
			t.Helper()
			total, err := h.svc.Like(ctx, showID, member, n)
			if err != nil {
				t.Fatalf("like %d: %v", n, err)
			}
			return total
		}

		cases := []struct {
			name string
			run  func(t *testing.T, show *live.Show)
		}{
			{"concurrent likes sum exactly", func(t *testing.T, show *live.Show) {
				const workers, each = 32, 200
				stop := make(chan struct{})
				flushed := make(chan error, 1)
				// Flushes run all along, as the flusher's ticks would.
				go func() {
					var err error
					for {
						select {
						case <-stop:
							flushed <- err
							return
						default:
						}
						err = errors.Join(err, h.svc.FlushLikes(ctx))
						time.Sleep(time.Millisecond)
					}
				}()
				var sent atomic.Int64
				var wg sync.WaitGroup
				for w := range workers {
					wg.Go(func() {
						member := fmt.Sprintf("m-like-%02d-%s", w, show.ID[len(show.ID)-6:])
						last := int64(0)
						for i := range each {
							n := (w+i)%5 + 1
							total, err := h.svc.Like(ctx, show.ID, member, n)
							if err != nil {
								t.Errorf("like: %v", err)
								return
							}
							sent.Add(int64(n))
							// One viewer's answers never go down, and
							// count at least their own likes.
							if total < last || total < int64(i+1) {
								t.Errorf("total %d after %d", total, last)
							}
							last = total
						}
					})
				}
				wg.Wait()
				close(stop)
				if err := <-flushed; err != nil {
					t.Fatal(err)
				}
				if err := h.svc.FlushLikes(ctx); err != nil {
					t.Fatal(err)
				}
				if got, want := redisTotal(t, show.ID), sent.Load(); got != want {
					t.Fatalf("Redis total %d, sent %d", got, want)
				}
				if got, want := waiting(t, show.ID), sent.Load(); got != want {
					t.Fatalf("%d likes wait for broadcast, sent %d", got, want)
				}
				if !listed(t, show.ID) {
					t.Fatal("the room is not in the broadcaster's set")
				}
				if got := like(t, show.ID, "m-like-last", 1); got != sent.Load()+1 {
					t.Fatalf("answer %d after %d likes", got, sent.Load()+1)
				}
			}},
			{"a failed flush keeps the likes", func(t *testing.T, show *live.Show) {
				if got := like(t, show.ID, "m-like-a", 5); got != 5 {
					t.Fatalf("answer %d, want 5", got)
				}
				fail.on.Store(true)
				err := h.svc.FlushLikes(ctx)
				fail.on.Store(false)
				if !errors.Is(err, errRedisDown) {
					t.Fatalf("flush with Redis down: %v", err)
				}
				if got := redisTotal(t, show.ID); got != 0 {
					t.Fatalf("Redis total %d after a failed flush", got)
				}
				if got := like(t, show.ID, "m-like-b", 2); got != 7 {
					t.Fatalf("answer %d, want 7", got)
				}
				for range 2 {
					if err := h.svc.FlushLikes(ctx); err != nil {
						t.Fatal(err)
					}
					if got := redisTotal(t, show.ID); got != 7 {
						t.Fatalf("Redis total %d, want 7", got)
					}
				}
				// Another replica's likes show in the next answer.
				if err := h.redis.IncrBy(ctx, "live:{show:"+show.ID+"}:likes:total", 100).Err(); err != nil {
					t.Fatal(err)
				}
				like(t, show.ID, "m-like-c", 1)
				if err := h.svc.FlushLikes(ctx); err != nil {
					t.Fatal(err)
				}
				if got := like(t, show.ID, "m-like-c", 1); got != 109 {
					t.Fatalf("answer %d, want 109", got)
				}
			}},
			{"a total Redis lost starts from the stored one", func(t *testing.T, show *live.Show) {
				if _, err := db.NewUpdate().Table("shows").Set("likes = 40").Where("id = ?", show.ID).Exec(ctx); err != nil {
					t.Fatal(err)
				}
				// The hot cache reads the show again after a second.
				time.Sleep(1100 * time.Millisecond)
				if got := like(t, show.ID, "m-like-d", 3); got != 43 {
					t.Fatalf("answer %d, want 43", got)
				}
				if err := h.svc.FlushLikes(ctx); err != nil {
					t.Fatal(err)
				}
				if got := redisTotal(t, show.ID); got != 43 {
					t.Fatalf("Redis total %d, want 43", got)
				}
			}},
			{"a stopped flusher flushes what it holds", func(t *testing.T, show *live.Show) {
				runCtx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { defer close(done); h.svc.LikeFlusher().Run(runCtx) }()
				like(t, show.ID, "m-like-e", 4)
				like(t, show.ID, "m-like-f", 3)
				if got := redisTotal(t, show.ID); got != 0 {
					t.Fatalf("flushed %d before the hourly tick", got)
				}
				cancel()
				<-done
				if got := redisTotal(t, show.ID); got != 7 {
					t.Fatalf("Redis total %d after stop, want 7", got)
				}
			}},
			{"a stopped flusher retries while Redis is down", func(t *testing.T, show *live.Show) {
				runCtx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				flusher := h.svc.LikeFlusher()
				go func() { defer close(done); flusher.Run(runCtx) }()
				like(t, show.ID, "m-like-g", 6)
				fail.on.Store(true)
				cancel()
				time.Sleep(100 * time.Millisecond)
				fail.on.Store(false)
				<-done
				if got := redisTotal(t, show.ID); got != 6 {
					t.Fatalf("Redis total %d after stop, want 6", got)
				}
			}},
			{"likes of a show that ended reach its stored total", func(t *testing.T, show *live.Show) {
				like(t, show.ID, "m-like-h", 9)
				if err := h.svc.FlushLikes(ctx); err != nil {
					t.Fatal(err)
				}
				like(t, show.ID, "m-like-h", 2)
				if _, err := h.svc.EndShow(ctx, "host-1", show.ID); err != nil {
					t.Fatal(err)
				}
				if err := h.svc.FlushLikes(ctx); err != nil {
					t.Fatal(err)
				}
				if got := h.show(t, show.ID).Likes; got != 11 {
					t.Fatalf("stored likes %d, want 11", got)
				}
				if listed(t, show.ID) || redisTotal(t, show.ID) != 0 {
					t.Fatal("the ended show's likes went back to Redis")
				}
				if _, err := h.svc.Like(ctx, show.ID, "m-like-h", 1); !errors.Is(err, live.ErrShowNotLive) {
					t.Fatalf("like after the end: %v", err)
				}
			}},
			{"who may not like is refused", func(t *testing.T, show *live.Show) {
				sfx := show.ID[len(show.ID)-6:]
				muted, removed := "m-like-muted-"+sfx, "m-like-removed-"+sfx
				for kind, m := range map[string]string{live.ActionMuteViewer: muted, live.ActionRemoveViewer: removed} {
					if _, err := h.svc.PerformAction(ctx, "asst-1", show.ID, live.Action{Type: kind, MemberID: m}); err != nil {
						t.Fatal(err)
					}
				}
				scheduled := h.schedule(t, live.ModeWebRTC)
				refusals := []struct {
					show, member string
					count        int
					want         error
				}{
					{show.ID, muted, 1, live.ErrViewerMuted},
					{show.ID, removed, 1, live.ErrViewerRemoved},
					{scheduled.ID, "m-like-early-" + sfx, 1, live.ErrShowNotLive},
					{"no-such-show", "m-like-lost-" + sfx, 1, live.ErrShowNotFound},
					{show.ID, "m-like-zero-" + sfx, 0, live.ErrInvalid},
					{show.ID, "m-like-many-" + sfx, live.MaxLikesPerCall + 1, live.ErrInvalid},
				}
				for _, r := range refusals {
					if _, err := h.svc.Like(ctx, r.show, r.member, r.count); !errors.Is(err, r.want) {
						t.Fatalf("like by %s (%d): %v, want %v", r.member, r.count, err, r.want)
					}
				}
				if err := h.svc.FlushLikes(ctx); err != nil {
					t.Fatal(err)
				}
				if got := redisTotal(t, show.ID) + redisTotal(t, scheduled.ID); got != 0 {
					t.Fatalf("refused likes counted: %d", got)
				}
			}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { c.run(t, h.goLive(t, live.ModeWebRTC)) })
		}
	})
}
