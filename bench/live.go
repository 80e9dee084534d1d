package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"
)

// chatShows is how many live shows the comment scenario spreads over: one
// room's chat is sent at most 14 KiB a tick (about 400 comments a second)
// and refuses comments past a backlog of 5,000 waiting for moderation and
// broadcast, by design; the ingest rate is measured across rooms. With
// 2,000 shoppers taking turns over 100 shows, one shopper comments in one
// show every 200,000 comments, under the 2 s interval up to 100,000 a
// second.
const chatShows = 100

// commentDrain bounds the wait, after the comment scenario, for every
// accepted comment to be moderated and stored.
const commentDrain = 60 * time.Second

// joinShow measures POST /mp/v1/shows/{id}/join: a subscribe-only LiveKit
// token signed for the shopper and the latest comments, for one live show
// with shoppers joining one after another.
func joinShow(ctx context.Context, w *world) (result, error) {
	if err := w.ensureMembers(ctx); err != nil {
		return result{}, err
	}
	if err := w.ensureShows(ctx, 1); err != nil {
		return result{}, err
	}
	if err := w.seedComments(ctx, w.shows[0], 50); err != nil {
		return result{}, err
	}
	path := "/mp/v1/shows/" + w.shows[0] + "/join"
	var next atomic.Int64
	return w.siyuLoad(ctx, func(_, _ int, req *fasthttp.Request) bool {
		m := w.members[next.Add(1)%int64(len(w.members))]
		req.Header.SetMethod("POST")
		req.SetRequestURI(path)
		req.Header.SetBytesV("Authorization", m.auth)
		return true
	}, func(status int, body []byte) error {
		if status != 200 || !bytes.Contains(body, []byte(`"token":"ey`)) {
			return fmt.Errorf("%d %.300s", status, body)
		}
		return nil
	})
}

// postComments measures comment ingest: each comment is checked, rate
// limited and appended to its room's ingest stream (the Redis steps of
// concurrent comments share round trips) and answered 202 pending. Siyu's
// worker is paused while it is measured, so the row is what the API
// accepts; once resumed, the worker's moderators check every comment
// against the blocklist and WeChat's msg_sec_check, store it and queue it
// for the room's chat, and the row says at what rate. Shopper i comments
// in show j in turn, so no shopper comments twice in one show within the
// 2 s interval. Every accepted comment must be stored within commentDrain.
func postComments(ctx context.Context, w *world) (result, error) {
	return commentLoad(ctx, w, true)
}

// postModeratedComments is postComments with the worker moderating on
// the same cores meanwhile, as on a machine that runs everything.
func postModeratedComments(ctx context.Context, w *world) (result, error) {
	return commentLoad(ctx, w, false)
}

func commentLoad(ctx context.Context, w *world, pause bool) (result, error) {
	if err := w.ensureMembers(ctx); err != nil {
		return result{}, err
	}
	if err := w.ensureShows(ctx, chatShows); err != nil {
		return result{}, err
	}
	paths := make([]string, len(w.shows))
	for i, s := range w.shows {
		paths[i] = "/mp/v1/shows/" + s + "/comments"
	}
	visible0, hidden0, err := storedComments(ctx, w)
	if err != nil {
		return result{}, err
	}
	resume := func() {}
	if pause {
		if resume, err = w.e.pauseWorker(); err != nil {
			return result{}, err
		}
	}
	var next, accepted atomic.Int64
	res, err := w.siyuLoad(ctx, func(_, _ int, req *fasthttp.Request) bool {
		i := next.Add(1) + w.commentSeq
		m := w.members[i%int64(len(w.members))]
		req.Header.SetMethod("POST")
		req.SetRequestURI(paths[(i/int64(len(w.members)))%int64(len(paths))])
		req.Header.SetContentType("application/json")
		req.Header.SetBytesV("Authorization", m.auth)
		req.SetBodyString(`{"text":"主播好！这件怎么搭配？第` + strconv.FormatInt(i, 10) + `条"}`)
		return true
	}, func(status int, body []byte) error {
		if status != 202 || !bytes.Contains(body, []byte(`"status":"pending"`)) {
			return fmt.Errorf("%d %.300s", status, body)
		}
		accepted.Add(1)
		return nil
	})
	resume()
	// The next comment load goes on where this one stopped, so no shopper
	// comments in a show again within its interval.
	w.commentSeq += next.Load()
	if err != nil {
		return res, err
	}
	// Wait, bounded, for the moderators to store what was accepted.
	drainStart := time.Now()
	var visible, hidden int64
	for {
		v, h, err := storedComments(ctx, w)
		if err != nil {
			return res, err
		}
		visible, hidden = v-visible0, h-hidden0
		if visible+hidden >= accepted.Load() || time.Since(drainStart) > commentDrain {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	drain := time.Since(drainStart)
	// Then for the chat batches to go out, so the next scenario does not
	// share the cores with this one's broadcast.
	sent, err := w.waitChatSent(ctx, commentDrain)
	if err != nil {
		return res, err
	}
	res.Values = map[string]float64{"accepted": float64(accepted.Load()), "stored_visible": float64(visible), "stored_hidden": float64(hidden),
		"drain_s": drain.Seconds(), "broadcast_s": sent.Seconds()}
	res.Checks = append(res.Checks, fmt.Sprintf("%d comments answered 202 pending, %d stored (%d visible, %d hidden) %.1fs after the measurement",
		accepted.Load(), visible+hidden, visible, hidden, drain.Seconds()))
	if pause {
		res.Values["moderated_per_s"] = float64(visible+hidden) / drain.Seconds()
		res.Notes = append(res.Notes, fmt.Sprintf("Siyu's worker was paused while the API was measured; resumed, it moderated and stored %.0f comments a second on the same cores (row %q measures both at once)",
			float64(visible+hidden)/drain.Seconds(), scCommentModerated))
	}
	res.Notes = append(res.Notes, fmt.Sprintf("spread over %d live shows; msg_sec_check's quota (4,000 a minute per mini-program, ~66 comments/s) is lifted in the bench's sandbox", len(w.shows)))
	switch {
	case visible+hidden != accepted.Load():
		return res, fmt.Errorf("%d comments accepted but %d stored within %s", accepted.Load(), visible+hidden, commentDrain)
	case hidden > 0:
		return res, fmt.Errorf("%d of %d comments hidden: moderation could not run for them", hidden, accepted.Load())
	}
	return res, nil
}

// waitChatSent waits, bounded, until every show's chat queue is empty,
// and answers how long that took.
func (w *world) waitChatSent(ctx context.Context, within time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		left := int64(0)
		for _, show := range w.shows {
			n, err := w.e.redis.LLen(ctx, "live:{show:"+show+"}:chat").Result()
			if err != nil {
				return 0, err
			}
			left += n
		}
		if left == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > within {
			return 0, fmt.Errorf("%d comments still queued for the chat after %s", left, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// storedComments counts the stored comments, visible and hidden.
func storedComments(ctx context.Context, w *world) (visible, hidden int64, err error) {
	err = w.e.db.QueryRowContext(ctx, "SELECT count(*) FILTER (WHERE status = 'visible'), count(*) FILTER (WHERE status = 'hidden') FROM comments").Scan(&visible, &hidden)
	return visible, hidden, err
}

// postLikes measures like ingest: shoppers tapping like in the main show,
// 1 to 5 likes a call. Every like answered must be in the show's total.
func postLikes(ctx context.Context, w *world) (result, error) {
	if err := w.ensureMembers(ctx); err != nil {
		return result{}, err
	}
	if err := w.ensureShows(ctx, 1); err != nil {
		return result{}, err
	}
	show := w.shows[0]
	path := "/mp/v1/shows/" + show + "/likes"
	totalKey := "live:{show:" + show + "}:likes:total"
	start, _ := w.e.redis.Get(ctx, totalKey).Int64()
	var next, sent atomic.Int64
	bodies := make([][]byte, 5)
	for i := range bodies {
		bodies[i], _ = json.Marshal(map[string]int{"count": i + 1})
	}
	res, err := w.siyuLoad(ctx, func(_, _ int, req *fasthttp.Request) bool {
		i := next.Add(1)
		m := w.members[i%int64(len(w.members))]
		req.Header.SetMethod("POST")
		req.SetRequestURI(path)
		req.Header.SetContentType("application/json")
		req.Header.SetBytesV("Authorization", m.auth)
		req.SetBody(bodies[i%5])
		return true
	}, func(status int, body []byte) error {
		if status != 202 {
			return fmt.Errorf("%d %.300s", status, body)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	// Every request sent in the order of next: count what was sent.
	n := next.Load()
	for i := int64(1); i <= n; i++ {
		sent.Add(i%5 + 1)
	}
	// Siyu adds the likes it took to Redis every 50ms: wait, bounded, for
	// the last ones.
	var end int64
	for deadline := time.Now().Add(5 * time.Second); ; {
		var err error
		if end, err = w.e.redis.Get(ctx, totalKey).Int64(); err != nil && !errors.Is(err, redis.Nil) {
			return res, err
		}
		if end-start == sent.Load() || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	res.Checks = append(res.Checks, fmt.Sprintf("likes sent %d, the show's total rose by %d", sent.Load(), end-start))
	if end-start != sent.Load() {
		return res, fmt.Errorf("likes sent %d, but the total rose by %d", sent.Load(), end-start)
	}
	return res, nil
}

// seedComments posts n comments to a show through the API (from the last
// shoppers, who take no part in the comment scenario's first rounds), so
// a join answers with a full page of recent comments, as in a busy show,
// and waits, bounded, for the worker's moderators to store them.
func (w *world) seedComments(ctx context.Context, show string, n int) error {
	count := func() (int, error) {
		var c int
		err := w.e.db.QueryRowContext(ctx, "SELECT count(*) FROM comments WHERE show_id = ? AND status = 'visible'", show).Scan(&c)
		return c, err
	}
	before, err := count()
	if err != nil {
		return fmt.Errorf("seed comments: %w", err)
	}
	for i := range n {
		m := w.members[len(w.members)-1-i%len(w.members)]
		c := newAPIClient(w.siyuBase(), "")
		if err := c.call(ctx, "POST", "/mp/v1/shows/"+show+"/comments", map[string]string{"text": fmt.Sprintf("欢迎来到直播间！%d", i)}, nil, "Authorization", string(m.auth)); err != nil {
			return fmt.Errorf("seed comments: %w", err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got, err := count()
		if err != nil {
			return fmt.Errorf("seed comments: %w", err)
		}
		if got-before >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("seed comments: %d of %d stored visible within 30s", got-before, n)
		}
	}
}
