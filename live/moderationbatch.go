package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	at := w.s.now().UTC()
	for i := range rows {
		rows[i].StoredAt = at
	}
	inserted, err := storeComments(ctx, w.s.db, rows)
	if err != nil {
		// Unacknowledged, the comments are taken over and stored later.
		return 0, err
	}
	if len(inserted) < len(rows) {
		// Stored already by a moderator that died before queueing and
		// acknowledging them (it does both at once, so it did neither):
		// they are queued as they were stored.
		if rows, err = asStored(ctx, w.s.db, rows, inserted); err != nil {
			return 0, err
		}
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
	if err := w.queueAndAck(ctx, rows, done); err != nil {
		// Neither queued nor acknowledged: the comments are taken over
		// and queued later.
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

// storeComments inserts rows, numbered in their shows' feeds, a chunk a
// transaction, skipping any already stored (a comment read again after
// its moderator died), and answers the IDs it inserted.
func storeComments(ctx context.Context, db bun.IDB, rows []Comment) (map[string]bool, error) {
	stored := make(map[string]bool, len(rows))
	for start := 0; start < len(rows); start += storeChunk {
		part := rows[start:min(start+storeChunk, len(rows))]
		var ids []string
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := numberComments(ctx, tx, part); err != nil {
				return err
			}
			ids = ids[:0]
			return tx.NewInsert().Model(&part).On("CONFLICT (id) DO NOTHING").Returning("id").Scan(ctx, &ids)
		})
		if err != nil {
			return nil, fmt.Errorf("store comments: %w", err)
		}
		for _, id := range ids {
			stored[id] = true
		}
	}
	return stored, nil
}

// feedRow is the last number a show's comments were given.
type feedRow struct {
	bun.BaseModel `bun:"table:comment_feeds"`

	ShowID string `bun:"show_id,pk"`
	Seq    int64  `bun:"seq,notnull"`
}

// numberComments gives rows the next numbers of their shows' feeds, in
// order, taking them from the shows' comment_feeds rows in one statement.
// Those rows stay locked until tx commits, so a show's comments become
// visible in the order of their numbers: a reader that has seen a number
// has seen every smaller one. The rows are locked in show order, so two
// moderators storing comments of the same shows wait for each other
// rather than deadlock. A comment stored already keeps its number; the
// one given here is left unused.
func numberComments(ctx context.Context, tx bun.Tx, rows []Comment) error {
	n := map[string]int64{}
	for _, r := range rows {
		n[r.ShowID]++
	}
	feeds := make([]feedRow, 0, len(n))
	for show, k := range n {
		feeds = append(feeds, feedRow{ShowID: show, Seq: k})
	}
	slices.SortFunc(feeds, func(a, b feedRow) int { return strings.Compare(a.ShowID, b.ShowID) })
	var last []feedRow
	if _, err := tx.NewInsert().Model(&feeds).On("CONFLICT (show_id) DO UPDATE").
		Set("seq = ?TableAlias.seq + EXCLUDED.seq").Returning("show_id, seq").Exec(ctx, &last); err != nil {
		return fmt.Errorf("number comments: %w", err)
	}
	next := make(map[string]int64, len(last))
	for _, f := range last {
		next[f.ShowID] = f.Seq - n[f.ShowID]
	}
	for i := range rows {
		next[rows[i].ShowID]++
		rows[i].Seq = next[rows[i].ShowID]
	}
	return nil
}

// asStored replaces the rows not inserted now by the comments as stored.
func asStored(ctx context.Context, db bun.IDB, rows []Comment, inserted map[string]bool) ([]Comment, error) {
	var ids []string
	for _, c := range rows {
		if !inserted[c.ID] {
			ids = append(ids, c.ID)
		}
	}
	var before []Comment
	if err := db.NewSelect().Model(&before).Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("read comments stored before: %w", err)
	}
	byID := make(map[string]Comment, len(before))
	for _, c := range before {
		byID[c.ID] = c
	}
	out := make([]Comment, len(rows))
	for i, c := range rows {
		if b, ok := byID[c.ID]; ok && !inserted[c.ID] {
			c = b
		}
		out[i] = c
	}
	return out, nil
}

// queueAndAck puts the visible comments of rows into their rooms' chat
// queues, in the order taken, for rooms still live (an ended show's room
// is closed; its comments stay in the history), and acknowledges and
// deletes the finished entries, so a room's stream holds only comments
// waiting for moderation (the backlog counts them). A room's queueing and
// acknowledging are one transaction (its keys share a hash slot): a
// comment is queued exactly when its entry is acknowledged.
func (w *ModerationWorker) queueAndAck(ctx context.Context, rows []Comment, done []takenComment) error {
	wires := map[string][]any{}
	for _, c := range rows {
		if c.Status != CommentVisible {
			continue
		}
		wire, err := json.Marshal(ChatComment{ID: c.ID, Nickname: c.Nickname, Text: c.Text, AtMS: c.CreatedAt.UnixMilli()})
		if err != nil {
			return fmt.Errorf("encode comment: %w", err)
		}
		wires[c.ShowID] = append(wires[c.ShowID], wire)
	}
	entries := map[string][]string{}
	var order []string
	for _, t := range done {
		if entries[t.room] == nil {
			order = append(order, t.room)
		}
		entries[t.room] = append(entries[t.room], t.entryID)
	}
	var live []any
	for _, room := range order {
		if len(wires[room]) == 0 {
			continue
		}
		h, err := w.s.hot(ctx, room)
		switch {
		case errors.Is(err, ErrShowNotFound):
			delete(wires, room)
		case err != nil:
			return err
		case h.status == StatusLive:
			live = append(live, room)
		default:
			delete(wires, room)
		}
	}
	if len(live) > 0 {
		// The broadcaster's list of rooms, first: a room listed with an
		// empty queue costs a tick nothing.
		if err := w.s.redis.SAdd(ctx, chatRooms, live...).Err(); err != nil {
			return fmt.Errorf("list chat rooms: %w", err)
		}
	}
	_, err := w.s.redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, room := range order {
			keys := chatKeys(room)
			if len(wires[room]) > 0 {
				p.RPush(ctx, keys.queue, wires[room]...)
			}
			p.XAck(ctx, keys.ingest, moderationGroup, entries[room]...)
			p.XDel(ctx, keys.ingest, entries[room]...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue and acknowledge comments: %w", err)
	}
	return nil
}
