package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"
)

// BatchMembers is what a Members may also do: look many shoppers up at
// once. A moderator uses it for a batch of comments when Config.Members
// has it, and asks one by one otherwise. Members missing from the answer
// are unknown.
type BatchMembers interface {
	Members(ctx context.Context, ids []string) (map[string]Member, error)
}

// storeChunk bounds the rows of one INSERT.
const storeChunk = 500

// finish moderates, stores, queues and acknowledges taken comments.
func (w *ModerationWorker) finish(ctx context.Context, taken []takenComment) (int, error) {
	var valid []*takenComment
	for i := range taken {
		if taken[i].valid {
			valid = append(valid, &taken[i])
		} else {
			// Not a comment this code wrote: it cannot be stored, and
			// keeping it would only hold the room's backlog.
			w.s.log.Error("dropping an unreadable ingest entry", "show", taken[i].room, "entry", taken[i].entryID)
		}
	}
	rows, later := w.moderate(ctx, valid)
	// Stamped as late as possible: the feed allows for the time between
	// this and the commit (analytics.StoreSkew).
	at := w.s.now().UTC()
	for i := range rows {
		rows[i].StoredAt = at
	}
	stored, err := storeComments(ctx, w.s.db, rows)
	if err != nil {
		// Unacknowledged, the comments are taken over and stored later.
		return 0, err
	}
	if err := w.queue(ctx, rows, stored); err != nil {
		// Stored but not queued: they show in the history, not live.
		// Acknowledging them still keeps a retry from storing them twice
		// (it would not queue them either).
		w.s.log.Warn("queue moderated comments", "err", err)
	}
	// The comments waiting for the check's quota stay pending: a
	// moderator takes them over after ModerationClaimAfter and checks them
	// then. Meanwhile they count in the room's backlog, which refuses new
	// comments (chat_busy) once full.
	done := taken
	if len(later) > 0 {
		done = make([]takenComment, 0, len(taken)-len(later))
		for _, t := range taken {
			if !later[t.entryID] {
				done = append(done, t)
			}
		}
	}
	if err := w.ack(ctx, done); err != nil {
		return 0, err
	}
	return len(done), nil
}

// moderate decides each comment's status, a few content checks at once,
// and returns the rows to store, in the order taken, and the entries of
// the comments left for later (the check's quota is used up).
func (w *ModerationWorker) moderate(ctx context.Context, taken []*takenComment) ([]Comment, map[string]bool) {
	w.s.loadCheckPause(ctx)
	members, memberErrs := w.members(ctx, taken)
	rows := make([]Comment, len(taken))
	wait := make([]bool, len(taken))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(w.parallel, len(taken)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(taken) {
					return
				}
				t := taken[i]
				m, merr := members[t.c.MemberID], memberErrs[t.c.MemberID]
				v, later := w.s.moderate(ctx, t.c.MemberID, m, merr, t.c.Text)
				wait[i] = later
				rows[i] = Comment{ID: t.c.ID, ShowID: t.room, MemberID: t.c.MemberID, Nickname: m.Nickname, Text: t.c.Text,
					Status: CommentVisible, CreatedAt: time.UnixMilli(t.c.AtMS).UTC()}
				if !v.Pass {
					rows[i].Status, rows[i].Reason = CommentHidden, v.Reason
				}
			}
		})
	}
	wg.Wait()
	var later map[string]bool
	decided := rows[:0]
	for i, r := range rows {
		if wait[i] {
			if later == nil {
				later = map[string]bool{}
			}
			later[taken[i].entryID] = true
			continue
		}
		decided = append(decided, r)
	}
	return decided, later
}

// members looks the authors of taken comments up, all at once when the
// directory can; an author it cannot find has an error instead.
func (w *ModerationWorker) members(ctx context.Context, taken []*takenComment) (map[string]Member, map[string]error) {
	found := map[string]Member{}
	errs := map[string]error{}
	ids := make([]string, 0, len(taken))
	for _, t := range taken {
		if _, ok := errs[t.c.MemberID]; !ok {
			errs[t.c.MemberID] = nil
			ids = append(ids, t.c.MemberID)
		}
	}
	switch dir := w.s.cfg.Members.(type) {
	case nil:
		for _, id := range ids {
			errs[id] = errors.New("no member directory connected")
		}
	case BatchMembers:
		ms, err := dir.Members(ctx, ids)
		for _, id := range ids {
			m, ok := ms[id]
			switch {
			case err != nil:
				errs[id] = err
			case !ok:
				errs[id] = errors.New("member not found")
			default:
				found[id] = m
			}
		}
	default:
		for _, id := range ids {
			found[id], errs[id] = dir.Member(ctx, id)
		}
	}
	return found, errs
}

// storeComments inserts rows, skipping any already stored (a comment read
// again after its moderator died), and answers the IDs it inserted.
func storeComments(ctx context.Context, db bun.IDB, rows []Comment) (map[string]bool, error) {
	stored := make(map[string]bool, len(rows))
	for start := 0; start < len(rows); start += storeChunk {
		part := rows[start:min(start+storeChunk, len(rows))]
		var ids []string
		if err := db.NewInsert().Model(&part).On("CONFLICT (id) DO NOTHING").Returning("id").Scan(ctx, &ids); err != nil {
			return nil, fmt.Errorf("store comments: %w", err)
		}
		for _, id := range ids {
			stored[id] = true
		}
	}
	return stored, nil
}

// queue puts the visible comments stored now into their rooms' chat
// queues, in the order taken, for rooms still live (an ended show's room
// is closed; its comments stay in the history).
func (w *ModerationWorker) queue(ctx context.Context, rows []Comment, stored map[string]bool) error {
	byRoom := map[string][]any{}
	var order []string
	for _, c := range rows {
		if c.Status != CommentVisible || !stored[c.ID] {
			continue
		}
		wire, err := json.Marshal(ChatComment{ID: c.ID, Nickname: c.Nickname, Text: c.Text, AtMS: c.CreatedAt.UnixMilli()})
		if err != nil {
			return fmt.Errorf("encode comment: %w", err)
		}
		if byRoom[c.ShowID] == nil {
			order = append(order, c.ShowID)
		}
		byRoom[c.ShowID] = append(byRoom[c.ShowID], wire)
	}
	var live []any
	var errs []error
	for _, room := range order {
		h, err := w.s.hot(ctx, room)
		switch {
		case errors.Is(err, ErrShowNotFound):
		case err != nil:
			errs = append(errs, err)
		case h.status == StatusLive:
			live = append(live, room)
		}
	}
	if len(live) > 0 {
		_, err := w.s.redis.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, room := range live {
				p.RPush(ctx, chatKeys(room.(string)).queue, byRoom[room.(string)]...)
			}
			p.SAdd(ctx, chatRooms, live...)
			return nil
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ack acknowledges and deletes finished comments, so a room's stream
// holds only comments waiting for moderation (the backlog counts them).
func (w *ModerationWorker) ack(ctx context.Context, taken []takenComment) error {
	byRoom := map[string][]string{}
	for _, t := range taken {
		byRoom[t.room] = append(byRoom[t.room], t.entryID)
	}
	_, err := w.s.redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for room, ids := range byRoom {
			key := chatKeys(room).ingest
			p.XAck(ctx, key, moderationGroup, ids...)
			p.XDel(ctx, key, ids...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("acknowledge comments: %w", err)
	}
	return nil
}
