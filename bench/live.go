package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// chatShows is how many live shows the comment scenario spreads over: one
// room's chat is sent at most 14 KiB a tick (about 400 comments a second)
// and refuses comments past a backlog of 5,000, by design; the ingest
// rate is measured across rooms.
const chatShows = 40

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

// postComments measures comment ingest: each comment is rate limited,
// checked against the blocklist and WeChat's msg_sec_check, stored and
// queued for its room's next chat batch. Shopper i comments in show j in
// turn, so no shopper comments twice in one show within the 2 s interval.
func postComments(ctx context.Context, w *world) (result, error) {
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
	var before int64
	if err := w.e.db.QueryRowContext(ctx, "SELECT count(*) FROM comments WHERE status = 'visible'").Scan(&before); err != nil {
		return result{}, err
	}
	var next, visible, hidden atomic.Int64
	res, err := w.siyuLoad(ctx, func(_, _ int, req *fasthttp.Request) bool {
		i := next.Add(1)
		m := w.members[i%int64(len(w.members))]
		req.Header.SetMethod("POST")
		req.SetRequestURI(paths[(i/int64(len(w.members)))%int64(len(paths))])
		req.Header.SetContentType("application/json")
		req.Header.SetBytesV("Authorization", m.auth)
		req.SetBodyString(`{"text":"主播好！这件怎么搭配？第` + strconv.FormatInt(i, 10) + `条"}`)
		return true
	}, func(status int, body []byte) error {
		switch {
		case status == 201 && bytes.Contains(body, []byte(`"status":"visible"`)):
			visible.Add(1)
		case status == 201:
			hidden.Add(1)
			return fmt.Errorf("hidden: %.300s", body)
		default:
			return fmt.Errorf("%d %.300s", status, body)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	var after int64
	if err := w.e.db.QueryRowContext(ctx, "SELECT count(*) FROM comments WHERE status = 'visible'").Scan(&after); err != nil {
		return res, err
	}
	res.Checks = append(res.Checks, fmt.Sprintf("%d comments answered visible, %d stored visible; %d hidden", visible.Load(), after-before, hidden.Load()))
	res.Notes = append(res.Notes, fmt.Sprintf("spread over %d live shows; msg_sec_check's quota (4,000 a minute per mini-program, ~66 comments/s) is lifted in the bench's sandbox", len(w.shows)))
	if after-before != visible.Load() {
		return res, fmt.Errorf("%d comments answered visible but %d were stored", visible.Load(), after-before)
	}
	return res, nil
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
	time.Sleep(100 * time.Millisecond)
	end, err := w.e.redis.Get(ctx, totalKey).Int64()
	if err != nil {
		return res, err
	}
	res.Checks = append(res.Checks, fmt.Sprintf("likes sent %d, the show's total rose by %d", sent.Load(), end-start))
	if end-start != sent.Load() {
		return res, fmt.Errorf("likes sent %d, but the total rose by %d", sent.Load(), end-start)
	}
	return res, nil
}

// seedComments posts n comments to a show through the API (from the last
// shoppers, who take no part in the comment scenario's first rounds), so
// a join answers with a full page of recent comments, as in a busy show.
func (w *world) seedComments(ctx context.Context, show string, n int) error {
	for i := range n {
		m := w.members[len(w.members)-1-i%len(w.members)]
		c := newAPIClient(w.siyuBase(), "")
		if err := c.call(ctx, "POST", "/mp/v1/shows/"+show+"/comments", map[string]string{"text": fmt.Sprintf("欢迎来到直播间！%d", i)}, nil, "Authorization", string(m.auth)); err != nil {
			return fmt.Errorf("seed comments: %w", err)
		}
	}
	return nil
}
