package live

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// pendingComment is a comment in a room's ingest stream, as PostComment
// accepted it; the moderator reads it back.
type pendingComment struct {
	ID       string
	MemberID string
	Text     string
	AtMS     int64
}

// entry is the comment as its stream entry holds it: id, member id and
// time (ms) on lines of their own, then the text, which may hold any
// character. Nothing needs escaping; ids and times hold no newline.
func (c pendingComment) entry() string {
	return c.ID + "\n" + c.MemberID + "\n" + strconv.FormatInt(c.AtMS, 10) + "\n" + c.Text
}

// parseEntry reads a comment back from its stream entry.
func parseEntry(e string) (pendingComment, bool) {
	id, rest, ok1 := strings.Cut(e, "\n")
	member, rest, ok2 := strings.Cut(rest, "\n")
	at, text, ok3 := strings.Cut(rest, "\n")
	ms, err := strconv.ParseInt(at, 10, 64)
	if !ok1 || !ok2 || !ok3 || err != nil || id == "" || member == "" {
		return pendingComment{}, false
	}
	return pendingComment{ID: id, MemberID: member, Text: text, AtMS: ms}, true
}

// ingestComments accepts a room's comments in one step, each in turn:
// a comment is refused when the room's backlog (waiting for moderation
// plus waiting for broadcast) is full (-1) or its author commented less
// than an interval ago (the time left, in ms), and otherwise its author
// is marked and its entry is appended to the room's ingest stream (0).
// KEYS: ingest stream, chat queue, then each comment's author mark. ARGV:
// backlog, interval (ms), then each comment's entry. Answers one result
// per comment.
var ingestComments = redis.NewScript(`
local room = tonumber(ARGV[1]) - redis.call('XLEN', KEYS[1]) - redis.call('LLEN', KEYS[2])
local out = {}
for i = 3, #KEYS do
  if room <= 0 then
    out[#out + 1] = -1
  elseif redis.call('SET', KEYS[i], '1', 'NX', 'PX', ARGV[2]) then
    redis.call('XADD', KEYS[1], '*', 'c', ARGV[i])
    room = room - 1
    out[#out + 1] = 0
  else
    local left = redis.call('PTTL', KEYS[i])
    if left <= 0 then left = tonumber(ARGV[2]) end
    out[#out + 1] = left
  end
end
return out
`)

// The group commit's bounds: a pipeline carries at most ingestBatchMax
// comments, at most ingestPipelines are in flight at once (the comments
// arriving meanwhile wait and go together in the next one), and each has
// ingestTimeout to come back.
const (
	ingestBatchMax  = 512
	ingestPipelines = 4
	ingestTimeout   = 5 * time.Second
)

// commentQueue is the group commit of comments: concurrent PostComment
// calls hand their comment to one goroutine, which sends the ingest steps
// of all that are waiting in one Redis pipeline as soon as a pipeline is
// free, then gives each caller its own answer. Under load a round trip
// carries many comments; alone, a comment goes at once.
type commentQueue struct {
	redis    redis.UniversalClient
	backlog  int
	interval int64 // ms

	in    chan *ingestItem
	slots chan struct{}
	start sync.Once
}

// ingestItem is one comment waiting for its ingest step, and its answer.
type ingestItem struct {
	showID string
	c      pendingComment
	res    int64
	err    error
	done   chan struct{}
}

func newCommentQueue(rdb redis.UniversalClient, backlog int, interval time.Duration) *commentQueue {
	return &commentQueue{redis: rdb, backlog: backlog, interval: interval.Milliseconds(),
		in: make(chan *ingestItem, 4*ingestBatchMax), slots: make(chan struct{}, ingestPipelines)}
}

// add runs the ingest step of one comment and answers ErrChatBusy, a
// *RateLimitError, ErrChatUnavailable (the step failed in Redis) or nil
// (accepted).
func (q *commentQueue) add(ctx context.Context, showID string, c pendingComment) error {
	q.start.Do(func() { go q.run() })
	it := &ingestItem{showID: showID, c: c, done: make(chan struct{})}
	select {
	case q.in <- it:
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrChatUnavailable, ctx.Err())
	}
	// Once handed over the answer is awaited whatever ctx does: the step
	// may already be done, and the caller must learn whether it was.
	<-it.done
	switch {
	case it.err != nil:
		return fmt.Errorf("%w: %w", ErrChatUnavailable, it.err)
	case it.res < 0:
		return ErrChatBusy
	case it.res > 0:
		return &RateLimitError{Wait: time.Duration(it.res) * time.Millisecond}
	}
	return nil
}

// run collects waiting comments into pipelines for as long as the
// process lives.
func (q *commentQueue) run() {
	for first := range q.in {
		q.slots <- struct{}{}
		batch := make([]*ingestItem, 1, 64)
		batch[0] = first
		// Let the callers that are already running hand their comments in
		// first: a very short wait that costs no timer, and none at all
		// when nobody else is running.
		runtime.Gosched()
	more:
		for len(batch) < ingestBatchMax {
			select {
			case it := <-q.in:
				batch = append(batch, it)
			default:
				break more
			}
		}
		go func() {
			defer func() { <-q.slots }()
			q.flush(batch)
		}()
	}
}

// flush runs the ingest steps of batch in one pipeline, one script call
// a room, and answers every item.
func (q *commentQueue) flush(batch []*ingestItem) {
	ctx, cancel := context.WithTimeout(context.Background(), ingestTimeout)
	defer cancel()
	rooms := byRoom(batch)
	cmds := q.exec(ctx, rooms)
	// A Redis that lost its scripts (restarted, flushed) refuses each call
	// and runs none: load the script and run those again.
	var again [][]*ingestItem
	var where []int
	for i, c := range cmds {
		if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			again, where = append(again, rooms[i]), append(where, i)
		}
	}
	if len(again) > 0 && ingestComments.Load(ctx, q.redis).Err() == nil {
		for k, c := range q.exec(ctx, again) {
			cmds[where[k]] = c
		}
	}
	for i, items := range rooms {
		res, err := cmds[i].Int64Slice()
		if err == nil && len(res) != len(items) {
			err = fmt.Errorf("ingest: %d answers for %d comments", len(res), len(items))
		}
		for k, it := range items {
			if err != nil {
				it.err = err
			} else {
				it.res = res[k]
			}
			close(it.done)
		}
	}
}

// byRoom splits batch by room, keeping each room's comments in order.
func byRoom(batch []*ingestItem) [][]*ingestItem {
	index := make(map[string]int, 4)
	var rooms [][]*ingestItem
	for _, it := range batch {
		i, ok := index[it.showID]
		if !ok {
			i = len(rooms)
			index[it.showID] = i
			rooms = append(rooms, nil)
		}
		rooms[i] = append(rooms[i], it)
	}
	return rooms
}

// exec sends one pipeline: each room's ingest step, then the rooms join
// the set moderators read and the ingest count moves on. The set is in another slot than the rooms'
// keys, so it cannot be in the script; listing a room after its comments
// are appended means a moderator that sees the room also sees them, and
// a room that did not make the set (a failure between the two) is listed
// by its next comment; a moderator retires a room only when its stream is
// empty.
func (q *commentQueue) exec(ctx context.Context, rooms [][]*ingestItem) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(rooms))
	listed := make([]any, len(rooms))
	_, _ = q.redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, items := range rooms {
			prefix := "live:{show:" + items[0].showID + "}:"
			keys := make([]string, 2, 2+len(items))
			keys[0], keys[1] = prefix+"ingest", prefix+"chat"
			args := make([]any, 2, 2+len(items))
			args[0], args[1] = q.backlog, q.interval
			for _, it := range items {
				keys = append(keys, prefix+"rl:"+it.c.MemberID)
				args = append(args, it.c.entry())
			}
			cmds[i] = ingestComments.EvalSha(ctx, p, keys, args...)
			listed[i] = items[0].showID
		}
		p.SAdd(ctx, ingestRooms, listed...)
		p.Incr(ctx, ingestSeq)
		return nil
	})
	// Each room's own error is on its command.
	return cmds
}
