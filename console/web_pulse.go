package console

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/analytics"
)

// The control room's live numbers come over server-sent events. Each
// process polls the analytics figures of a show once per PulseEvery while
// at least one staff member watches its control room, and fans the
// changes out to everyone watching it: the numbers, new comments and the
// latest orders. Polling the database the show writes to is the simplest
// correct design here: viewer counts, likes, comments, clicks and orders
// are all stored by the services that take them, on any replica, so no
// event bus is needed and a room shows the same numbers on every replica.

// pulseEvent is one server-sent event.
type pulseEvent struct {
	name string
	id   string
	data []byte
}

// pulseSource is what a room polls (*analytics.Service).
type pulseSource interface {
	Pulse(ctx context.Context, showID string) (analytics.Pulse, error)
	FeedEnd(ctx context.Context, showID string) (int64, error)
	CommentsSince(ctx context.Context, showID string, seq int64, limit int) ([]analytics.ChatLine, error)
	RecentOrders(ctx context.Context, showID string, limit int) ([]analytics.OrderLine, error)
}

// recentOrders is how many orders the control room lists.
const recentOrders = 10

// feedLines is how many new comments one refresh sends at most.
const feedLines = 200

// pulseHub runs one poller per watched show.
type pulseHub struct {
	every time.Duration
	stop  <-chan struct{}
	mu    sync.Mutex
	rooms map[string]*pulseRoom
}

// pulseRoom is one show's poller and who listens to it.
type pulseRoom struct {
	subs map[chan pulseEvent]struct{}
	// cursor is the number of the last comment sent (or of the show's
	// last comment when the room opened): comments are numbered in the
	// order they became visible, so those after it are all unsent.
	cursor  int64
	orders  string // the orders last sent, as JSON
	pulse   string // the numbers last sent, as JSON
	cancel  context.CancelFunc
	started bool
}

func newPulseHub(every time.Duration, stop <-chan struct{}) *pulseHub {
	return &pulseHub{every: every, stop: stop, rooms: map[string]*pulseRoom{}}
}

// subscribe adds a listener to a show's room, starting its poller. A new
// room counts the comments already stored as sent before it returns, so a
// comment is either stored before the room opened (the caller catches up
// on it) or sent to the listener.
func (h *pulseHub) subscribe(ctx context.Context, src pulseSource, log *slog.Logger, showID string) (chan pulseEvent, func(), error) {
	ch := make(chan pulseEvent, 64)
	h.mu.Lock()
	defer h.mu.Unlock()
	room := h.rooms[showID]
	if room == nil {
		end, err := src.FeedEnd(ctx, showID)
		if err != nil {
			return nil, nil, err
		}
		room = &pulseRoom{subs: map[chan pulseEvent]struct{}{}, cursor: end}
		h.rooms[showID] = room
	}
	room.subs[ch] = struct{}{}
	if !room.started {
		pctx, cancel := context.WithCancel(context.Background())
		room.cancel, room.started = cancel, true
		go h.poll(pctx, src, log, showID, room)
	}
	unsubscribe := func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(room.subs, ch)
		if len(room.subs) == 0 {
			room.cancel()
			delete(h.rooms, showID)
		}
	}
	return ch, unsubscribe, nil
}

// poll refreshes a room every period until nobody listens.
func (h *pulseHub) poll(ctx context.Context, src pulseSource, log *slog.Logger, showID string, room *pulseRoom) {
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		if err := h.refresh(ctx, src, showID, room); err != nil && ctx.Err() == nil {
			log.Warn("control room feed", "show", showID, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-h.stop:
			return
		case <-t.C:
		}
	}
}

// refresh reads a room's numbers, new comments and latest orders, and
// sends what changed.
func (h *pulseHub) refresh(ctx context.Context, src pulseSource, showID string, room *pulseRoom) error {
	p, err := src.Pulse(ctx, showID)
	if err != nil {
		return err
	}
	h.mu.Lock()
	cursor := room.cursor
	h.mu.Unlock()
	comments, err := src.CommentsSince(ctx, showID, cursor, feedLines)
	if err != nil {
		return err
	}
	orders, err := src.RecentOrders(ctx, showID, recentOrders)
	if err != nil {
		return err
	}
	if orders == nil {
		orders = []analytics.OrderLine{} // the page's script wants a list
	}
	var out []pulseEvent
	p.At = time.Time{} // the time alone is no change
	pj, _ := json.Marshal(p)
	oj, _ := json.Marshal(orders)
	h.mu.Lock()
	if string(pj) != room.pulse {
		room.pulse = string(pj)
		out = append(out, pulseEvent{name: "pulse", data: pj})
	}
	if len(comments) > 0 {
		room.cursor = comments[len(comments)-1].Seq
		cj, _ := json.Marshal(comments)
		out = append(out, pulseEvent{name: "comments", id: comments[len(comments)-1].ID, data: cj})
	}
	if string(oj) != room.orders {
		room.orders = string(oj)
		out = append(out, pulseEvent{name: "orders", data: oj})
	}
	for ch := range room.subs {
		for _, e := range out {
			select {
			case ch <- e:
			default:
				// A listener that cannot keep up misses an update; the next
				// numbers replace it, and comments are fetched again on
				// reconnect.
			}
		}
	}
	h.mu.Unlock()
	return nil
}

// current returns the room's last numbers and orders, for a new listener.
func (h *pulseHub) current(showID string) []pulseEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	room := h.rooms[showID]
	if room == nil {
		return nil
	}
	var out []pulseEvent
	if room.pulse != "" {
		out = append(out, pulseEvent{name: "pulse", data: []byte(room.pulse)})
	}
	if room.orders != "" {
		out = append(out, pulseEvent{name: "orders", data: []byte(room.orders)})
	}
	return out
}

// streamFor is how long one event stream lasts; the browser's EventSource
// then connects again (with the last comment's id), which keeps a
// connection from outliving a deploy for long.
const streamFor = 10 * time.Minute

// streamPulse serves a show's control room feed as server-sent events.
func (a *API) streamPulse(c *fiber.Ctx) error {
	if a.analytics == nil {
		return errNoService
	}
	ctx := c.UserContext()
	// fiber reuses its strings after the handler returns; the feed keeps
	// the show's id for longer.
	showID := strings.Clone(c.Params("id"))
	if _, err := a.shows.Show(ctx, showID); err != nil {
		return err
	}
	after := strings.Clone(c.Get("Last-Event-ID"))
	if after == "" {
		after = strings.Clone(c.Query("after"))
	}
	ch, unsubscribe, err := a.web.hub.subscribe(ctx, a.analytics, a.log, showID)
	if err != nil {
		return err
	}
	var catchUp []analytics.ChatLine
	if after != "" {
		// From a little before the last comment the page has: it drops
		// the ones it holds.
		if catchUp, err = a.analytics.CommentsAfter(ctx, showID, after, 1000); err != nil {
			unsubscribe()
			return err
		}
	}
	first := a.web.hub.current(showID)
	if len(catchUp) > 0 {
		cj, _ := json.Marshal(catchUp)
		first = append(first, pulseEvent{name: "comments", id: catchUp[len(catchUp)-1].ID, data: cj})
	}
	// The stream outlives the server's write timeout, which would cut it.
	if err := c.Context().SetWriteDeadline(time.Now().Add(streamFor + time.Minute)); err != nil {
		unsubscribe()
		return err
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	stop := a.web.stop
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer unsubscribe()
		send := func(e pulseEvent) bool {
			if e.id != "" {
				fmt.Fprintf(w, "id: %s\n", e.id)
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.name, e.data)
			return w.Flush() == nil
		}
		if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil || w.Flush() != nil {
			return
		}
		for _, e := range first {
			if !send(e) {
				return
			}
		}
		keepalive := time.NewTicker(15 * time.Second)
		defer keepalive.Stop()
		end := time.NewTimer(streamFor)
		defer end.Stop()
		for {
			select {
			case e := <-ch:
				if !send(e) {
					return
				}
			case <-keepalive.C:
				if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil || w.Flush() != nil {
					return
				}
			case <-end.C:
				return
			case <-stop:
				return
			}
		}
	})
	return nil
}
