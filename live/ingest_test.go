package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/sandbox/fault"
	"github.com/siyu-live/siyu/testsupport"
)

// tripCounter counts the round trips to Redis that carry comment ingest
// steps (EVALSHA or EVAL), and the comments they carry (a step takes a
// room's comments: its keys are the room's two and one per comment).
type tripCounter struct {
	trips, comments atomic.Int64
}

func (c *tripCounter) count(cmds ...redis.Cmder) {
	var n int64
	for _, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			// A fresh server (miniredis) has not loaded the script yet:
			// the step runs again, counted then.
			continue
		}
		args := cmd.Args()
		if name := cmd.Name(); (name == "evalsha" || name == "eval") && len(args) > 2 {
			if keys, ok := args[2].(int); ok {
				n += int64(keys - 2)
			}
		}
	}
	if n > 0 {
		c.trips.Add(1)
		c.comments.Add(n)
	}
}

func (c *tripCounter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (c *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		c.count(cmd)
		return err
	}
}

func (c *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		c.count(cmds...)
		return err
	}
}

// TestCommentGroupCommit posts many comments at once: each caller gets
// its own answer (accepted, rate limited or busy), and the ingest steps
// share far fewer round trips than there are comments.
func TestCommentGroupCommit(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{mutate: func(c *live.Config) { c.ChatBacklog = 250 }})
		trips := &tripCounter{}
		h.redis.AddHook(trips)
		ctx := context.Background()
		show := h.goLive(t, live.ModeWebRTC)
		sfx := show.ID[len(show.ID)-6:]

		// 200 members comment at the same moment, 40 of them twice.
		type post struct{ member, text string }
		var posts []post
		for i := range 200 {
			m := fmt.Sprintf("m-gc-%03d-%s", i, sfx)
			h.members.add(m)
			posts = append(posts, post{m, fmt.Sprintf("一起来 %d", i)})
			if i < 40 {
				posts = append(posts, post{m, fmt.Sprintf("再来一次 %d", i)})
			}
		}
		outcome := func(posts []post) (ok []string, limited, busy int) {
			// The show is in this replica's cache, as in a busy room.
			if _, err := h.svc.Join(ctx, show.ID, "m-gc-warm-"+sfx); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var wg sync.WaitGroup
			gate := make(chan struct{})
			for _, p := range posts {
				wg.Go(func() {
					<-gate
					c, err := h.svc.PostComment(ctx, show.ID, p.member, p.text)
					mu.Lock()
					defer mu.Unlock()
					var rl *live.RateLimitError
					switch {
					case err == nil && c.Status == live.CommentPending:
						ok = append(ok, c.ID)
					case errors.As(err, &rl) && rl.RetryAfter() > 0:
						limited++
					case errors.Is(err, live.ErrChatBusy):
						busy++
					default:
						t.Errorf("comment of %s: %+v %v", p.member, c, err)
					}
				})
			}
			close(gate)
			wg.Wait()
			return ok, limited, busy
		}
		ok, limited, busy := outcome(posts)
		if len(ok) != 200 || limited != 40 || busy != 0 {
			t.Fatalf("%d accepted, %d rate limited, %d busy; want 200, 40, 0", len(ok), limited, busy)
		}
		if n, carried := trips.trips.Load(), trips.comments.Load(); carried != int64(len(posts)) || n > int64(len(posts))/4 {
			t.Fatalf("%d round trips carried %d comments of %d: not grouped", n, carried, len(posts))
		}
		t.Logf("%d comments in %d round trips", trips.comments.Load(), trips.trips.Load())

		// The backlog holds 250: of 100 more comments, 50 are accepted.
		var more []post
		for i := range 100 {
			m := fmt.Sprintf("m-gc-more-%03d-%s", i, sfx)
			h.members.add(m)
			more = append(more, post{m, "挤一挤"})
		}
		ok2, limited, busy := outcome(more)
		if len(ok2) != 50 || limited != 0 || busy != 50 {
			t.Fatalf("%d accepted, %d rate limited, %d busy; want 50, 0, 50", len(ok2), limited, busy)
		}

		if n := h.moderate(t); n != 250 {
			t.Fatalf("moderated %d comments, want 250", n)
		}
		var stored int
		if err := db.NewSelect().Model((*live.Comment)(nil)).ColumnExpr("count(*)").Where("show_id = ? AND status = ?", show.ID, live.CommentVisible).
			Scan(ctx, &stored); err != nil || stored != 250 {
			t.Fatalf("%d stored visible (%v), want 250", stored, err)
		}
		for _, id := range append(ok, ok2...) {
			if c := h.stored(t, id); c.Status != live.CommentVisible {
				t.Fatalf("comment %s is %s", id, c.Status)
			}
		}
	})
}

// TestModerationRedelivery: a moderator takes comments and dies, having
// stored one of them (it queues and acknowledges at once, so it did
// neither); another takes them over once they have waited
// ModerationClaimAfter, stores each once and queues all of them, the one
// stored before as it was stored.
func TestModerationRedelivery(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{mutate: func(c *live.Config) { c.ModerationClaimAfter = 300 * time.Millisecond }})
		ctx := context.Background()
		show := h.goLive(t, live.ModeWebRTC)
		sfx := show.ID[len(show.ID)-6:]
		var ids []string
		for i := range 5 {
			m := fmt.Sprintf("m-rd-%d-%s", i, sfx)
			h.members.add(m)
			c, err := h.svc.PostComment(ctx, show.ID, m, fmt.Sprintf("第%d条", i))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		// The dead moderator: it took every comment of the room…
		stream, queue := "live:{show:"+show.ID+"}:ingest", "live:{show:"+show.ID+"}:chat"
		if err := h.redis.XGroupCreateMkStream(ctx, stream, "moderators", "0").Err(); err != nil {
			t.Fatal(err)
		}
		res, err := h.redis.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "moderators", Consumer: "dead", Streams: []string{stream, ">"}, Count: 10, Block: -1}).Result()
		if err != nil || len(res) != 1 || len(res[0].Messages) != 5 {
			t.Fatalf("dead moderator's read: %+v %v", res, err)
		}
		// …and stored the first before it died.
		if first, _ := res[0].Messages[0].Values["c"].(string); !strings.HasPrefix(first, ids[0]+"\n") || !strings.HasSuffix(first, "\n第0条") {
			t.Fatalf("first entry: %q", first)
		}
		if _, err := db.NewInsert().Model(&live.Comment{ID: ids[0], ShowID: show.ID, MemberID: "m-rd-0-" + sfx, Nickname: "观众", Text: "第0条",
			Status: live.CommentVisible, CreatedAt: time.Now()}).Exec(ctx); err != nil {
			t.Fatal(err)
		}

		// An entry this code did not write is dropped, not retried.
		if err := h.redis.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"c", "{not a comment"}}).Err(); err != nil {
			t.Fatal(err)
		}
		if n := h.moderate(t); n != 1 {
			t.Fatalf("finished %d entries, want the unreadable one", n)
		}
		// Too early: the others may still be worked on.
		if n := h.moderate(t); n != 0 {
			t.Fatalf("took %d comments another moderator holds", n)
		}
		time.Sleep(400 * time.Millisecond)
		if n := h.moderate(t); n != 5 {
			t.Fatalf("took over %d comments, want 5", n)
		}
		var stored []string
		if err := db.NewSelect().Model((*live.Comment)(nil)).Column("id").Where("show_id = ?", show.ID).OrderExpr("id").Scan(ctx, &stored); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(stored) != fmt.Sprint(ids) {
			t.Fatalf("stored %v, want each of %v once", stored, ids)
		}
		if c := h.stored(t, ids[0]); c.Nickname != "观众" {
			t.Fatalf("the comment stored first was replaced: %+v", c)
		}
		wires, err := h.redis.LRange(ctx, queue, 0, -1).Result()
		if err != nil || len(wires) != 5 {
			t.Fatalf("chat queue = %v %v, want each of the five once", wires, err)
		}
		for i, w := range wires {
			var c live.ChatComment
			if err := json.Unmarshal([]byte(w), &c); err != nil || c.ID != ids[i] || (i == 0 && c.Nickname != "观众") {
				t.Fatalf("queued %d = %s (%v)", i, w, err)
			}
		}
		pending, err := h.redis.XPending(ctx, stream, "moderators").Result()
		if err != nil || pending.Count != 0 || h.redis.XLen(ctx, stream).Val() != 0 {
			t.Fatalf("left in the stream: %+v %v", pending, err)
		}
	})
}

// TestModerationAfterEnd: comments accepted before a show ends are still
// moderated and stored after it, but not broadcast; a minute after the
// end the room's stream is dropped.
func TestModerationAfterEnd(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		clk := &clock{t: time.Now()}
		h := newHarness(t, db, options{mutate: func(c *live.Config) { c.Now = clk.Now }})
		ctx := context.Background()
		show := h.goLive(t, live.ModeWebRTC)
		sfx := show.ID[len(show.ID)-6:]
		var ids []string
		for i := range 2 {
			m := fmt.Sprintf("m-end-%d-%s", i, sfx)
			h.members.add(m)
			c, err := h.svc.PostComment(ctx, show.ID, m, "最后一条")
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		if _, err := h.svc.EndShow(ctx, "host-1", show.ID); err != nil {
			t.Fatal(err)
		}
		if n := h.moderate(t); n != 2 {
			t.Fatalf("moderated %d comments, want 2", n)
		}
		for _, id := range ids {
			if c := h.stored(t, id); c.Status != live.CommentVisible {
				t.Fatalf("comment %s is %s", id, c.Status)
			}
		}
		stream, queue := "live:{show:"+show.ID+"}:ingest", "live:{show:"+show.ID+"}:chat"
		if n := h.redis.LLen(ctx, queue).Val(); n != 0 {
			t.Fatalf("%d comments queued for a closed room", n)
		}
		if !h.redis.SIsMember(ctx, "live:chat:ingest", show.ID).Val() {
			t.Fatal("the room was dropped right at the end")
		}
		clk.Add(2 * time.Minute)
		if n, err := h.svc.ModerationWorker().Pass(ctx); n != 0 || err != nil {
			t.Fatalf("pass: %d %v", n, err)
		}
		if h.redis.SIsMember(ctx, "live:chat:ingest", show.ID).Val() || h.redis.Exists(ctx, stream).Val() != 0 {
			t.Fatal("the room of a show that ended is still read")
		}
	})
}

// TestCommentCheckQuota: a comment whose content check WeChat refuses for
// its quota (errcode 45009 or 45011) is not hidden: it waits, and no
// moderator asks WeChat again before the next calendar minute. Once the
// minute has turned, a moderator takes the waiting comments over and
// checks them.
func TestCommentCheckQuota(t *testing.T) {
	for _, errcode := range []int{45009, 45011} {
		t.Run(fmt.Sprint(errcode), func(t *testing.T) {
			testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
				clk := &clock{t: time.Now()}
				h := newHarness(t, db, options{mutate: func(c *live.Config) {
					c.Now, c.ModerationParallel, c.ModerationClaimAfter = clk.Now, 1, 300*time.Millisecond
				}})
				ctx := context.Background()
				show := h.goLive(t, live.ModeWebRTC)
				sfx := show.ID[len(show.ID)-6:]
				post := func(i int, text string) string {
					t.Helper()
					m := fmt.Sprintf("m-q-%d-%s", i, sfx)
					h.members.add(m)
					c, err := h.svc.PostComment(ctx, show.ID, m, text)
					if err != nil {
						t.Fatal(err)
					}
					return c.ID
				}
				storedCount := func() int64 {
					t.Helper()
					n, err := db.NewSelect().Model((*live.Comment)(nil)).Where("show_id = ?", show.ID).Count(ctx)
					if err != nil {
						t.Fatal(err)
					}
					return n
				}
				platform.Faults().Add(fault.Rule{Path: "msg_sec_check", Errcode: errcode, Errmsg: "reach max api daily quota limit", Times: 1})
				t.Cleanup(platform.Faults().Clear)
				ids := []string{post(0, "主播好"), post(1, "这件有M码吗")}
				if n := h.moderate(t); n != 0 || storedCount() != 0 {
					t.Fatalf("finished %d, stored %d: the comments should wait for the quota", n, storedCount())
				}
				until, err := h.redis.Get(ctx, "live:contentcheck:paused").Int64()
				if want := clk.Now().Truncate(time.Minute).Add(time.Minute).UnixMilli(); err != nil || until != want {
					t.Fatalf("shared pause until %d (%v), want the next minute %d", until, err, want)
				}
				// Within the minute nobody asks WeChat: a check would now
				// fail and hide the comment.
				platform.Faults().Add(fault.Rule{Path: "msg_sec_check", Errcode: -1, Errmsg: "system error"})
				ids = append(ids, post(2, "刚来"))
				time.Sleep(400 * time.Millisecond)
				if n := h.moderate(t); n != 0 || storedCount() != 0 {
					t.Fatalf("during the pause finished %d, stored %d", n, storedCount())
				}
				backlog := h.redis.XLen(ctx, "live:{show:"+show.ID+"}:ingest").Val()
				if backlog != 3 {
					t.Fatalf("ingest stream holds %d comments, want the 3 waiting (they count in the backlog)", backlog)
				}

				platform.Faults().Clear()
				clk.Add(time.Minute)
				time.Sleep(400 * time.Millisecond)
				if n := h.moderate(t); n != 3 {
					t.Fatalf("after the minute finished %d, want 3", n)
				}
				for _, id := range ids {
					if c := h.stored(t, id); c.Status != live.CommentVisible || c.Reason != "" {
						t.Fatalf("comment %s stored %s (%s), want visible", id, c.Status, c.Reason)
					}
				}
				if n := h.redis.XLen(ctx, "live:{show:"+show.ID+"}:ingest").Val(); n != 0 {
					t.Fatalf("%d comments left in the ingest stream", n)
				}
			})
		})
	}
}
