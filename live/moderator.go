package live

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// moderationGroup is the consumer group of every room's ingest stream.
const moderationGroup = "moderators"

const (
	// moderationIdle is how long a moderator waits when no comment waits;
	// moderationRescan how often it reads every room all the same.
	moderationIdle   = 20 * time.Millisecond
	moderationRescan = time.Second
	// moderationDrain is how long a moderator has to finish the comments
	// it took when it is stopped.
	moderationDrain = 30 * time.Second
	// retireEvery is how often a moderator asks whether an idle room's
	// show is over; retireAfter is how long after its end a room's stream
	// is dropped. Replicas stop accepting comments within hotTTL of the
	// end; the margin keeps a late one from landing in a dropped stream.
	retireEvery = 10 * time.Second
	retireAfter = time.Minute
)

// ModerationWorker moderates the comments PostComment accepted. It reads
// each room's ingest stream in a consumer group, checks the comments
// (blocklist, then WeChat's msg_sec_check, a few at once; hidden when the
// check cannot run), stores them with one multi-row INSERT that ignores
// comments already stored, queues the visible ones it stored for their
// room's next chat batch, and then acknowledges and deletes them. Every
// replica may run one: the group gives each comment to one of them, and
// comments a moderator took and did not finish (it died) are taken over
// by another after ModerationClaimAfter. A comment is stored once however
// often it is read.
type ModerationWorker struct {
	s          *Service
	consumer   string
	batch      int
	parallel   int
	claimAfter time.Duration

	// The rooms' bookkeeping, used by one pass at a time.
	mu        sync.Mutex
	claimedAt map[string]time.Time
	checkedAt map[string]time.Time
}

// ModerationWorker returns a moderator with a consumer name of its own.
func (s *Service) ModerationWorker() *ModerationWorker {
	host, _ := os.Hostname()
	id := newID()
	return &ModerationWorker{
		s: s, consumer: host + "-" + strconv.Itoa(os.Getpid()) + "-" + id[len(id)-8:],
		batch: s.cfg.ModerationBatch, parallel: s.cfg.ModerationParallel, claimAfter: s.cfg.ModerationClaimAfter,
		claimedAt: map[string]time.Time{}, checkedAt: map[string]time.Time{},
	}
}

// Run moderates until ctx is done, then finishes the comments it holds.
// While nothing comes in it reads only the ingest count, and every room
// once every moderationRescan (for comments a dead moderator left, and to
// retire rooms).
func (w *ModerationWorker) Run(ctx context.Context) {
	idle := time.NewTimer(0)
	defer idle.Stop()
	seen, more := int64(-1), false
	var scanned time.Time
	for {
		seq, err := w.s.redis.Get(ctx, ingestSeq).Int64()
		switch {
		case errors.Is(err, redis.Nil):
			seq = 0
		case err != nil:
			seq = -1 // unknown: look
		}
		if more || seq < 0 || seq != seen || time.Since(scanned) >= moderationRescan {
			// The count is read before the rooms: a comment counted after
			// this read is found by this pass or the next.
			seen, scanned = seq, time.Now()
			n, err := w.Pass(ctx)
			if err != nil && ctx.Err() == nil {
				w.s.log.Warn("comment moderation", "err", err)
			}
			more = n > 0 && err == nil
		}
		if ctx.Err() != nil {
			return
		}
		if more {
			continue
		}
		idle.Reset(moderationIdle)
		select {
		case <-ctx.Done():
			return
		case <-idle.C:
		}
	}
}

// Pass takes what waits in every room (and what a dead moderator left),
// moderates, stores, queues and acknowledges it, and answers how many
// comments it finished. Once taken, comments are finished even when ctx
// ends. Tests drive it directly.
func (w *ModerationWorker) Pass(ctx context.Context) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rooms, err := w.s.redis.SMembers(ctx, ingestRooms).Result()
	if err != nil {
		return 0, fmt.Errorf("list ingest rooms: %w", err)
	}
	if len(rooms) == 0 {
		return 0, nil
	}
	taken, readErr := w.take(ctx, rooms)
	busy := map[string]bool{}
	for _, t := range taken {
		busy[t.room] = true
	}
	var idle []string
	for _, room := range rooms {
		if !busy[room] {
			idle = append(idle, room)
		}
	}
	if len(taken) == 0 {
		return 0, errors.Join(readErr, w.retire(ctx, rooms, idle))
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), moderationDrain)
	defer cancel()
	n, err := w.finish(dctx, taken)
	return n, errors.Join(readErr, err, w.retire(ctx, rooms, idle))
}

// takenComment is one stream entry a moderator holds.
type takenComment struct {
	room    string
	entryID string
	c       pendingComment
	valid   bool
}

// take reads every room's new comments, and those of rooms due for it
// that another moderator took and left unfinished, in one pipeline.
func (w *ModerationWorker) take(ctx context.Context, rooms []string) ([]takenComment, error) {
	out, fresh, err := w.read(ctx, rooms, true)
	if len(fresh) > 0 {
		// Their groups were just made: read them now rather than a pass
		// later.
		more, _, ferr := w.read(ctx, fresh, false)
		out, err = append(out, more...), errors.Join(err, ferr)
	}
	return out, err
}

// read reads rooms once (and reclaims when claim is set and a room is
// due), answering what it took and the rooms whose consumer group it had
// to create.
func (w *ModerationWorker) read(ctx context.Context, rooms []string, claim bool) ([]takenComment, []string, error) {
	now := time.Now()
	// A pass takes about batch comments in all, shared by the rooms: its
	// steps (decoding, building the INSERT) run without a pause, and
	// short ones keep the API's requests in the same process from waiting
	// behind them.
	count := int64(max(1, (w.batch+len(rooms)-1)/len(rooms)))
	reads := make([]*redis.XStreamSliceCmd, len(rooms))
	claims := make([]*redis.XAutoClaimCmd, len(rooms))
	_, _ = w.s.redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, room := range rooms {
			key := chatKeys(room).ingest
			reads[i] = p.XReadGroup(ctx, &redis.XReadGroupArgs{Group: moderationGroup, Consumer: w.consumer,
				Streams: []string{key, ">"}, Count: count, Block: -1})
			if claim && now.Sub(w.claimedAt[room]) >= w.claimAfter/2 {
				claims[i] = p.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: key, Group: moderationGroup, Consumer: w.consumer,
					MinIdle: w.claimAfter, Start: "0-0", Count: count})
			}
		}
		return nil
	})
	var out []takenComment
	var fresh []string
	var errs []error
	add := func(room string, msgs []redis.XMessage) {
		for _, m := range msgs {
			t := takenComment{room: room, entryID: m.ID}
			if e, ok := m.Values["c"].(string); ok {
				t.c, t.valid = parseEntry(e)
			}
			out = append(out, t)
		}
	}
	for i, room := range rooms {
		if claims[i] != nil {
			msgs, _, err := claims[i].Result()
			switch {
			case err == nil:
				add(room, msgs)
				// A full answer may leave more behind: look again next pass.
				if int64(len(msgs)) < count {
					w.claimedAt[room] = now
				}
			case isNoGroup(err):
			default:
				errs = append(errs, fmt.Errorf("reclaim comments of %s: %w", room, err))
			}
		}
		streams, err := reads[i].Result()
		switch {
		case err == nil:
			for _, st := range streams {
				add(room, st.Messages)
			}
		case errors.Is(err, redis.Nil):
		case isNoGroup(err):
			// A room's first comment: its group starts at the beginning of
			// the stream, so nothing appended before is skipped.
			if err := w.s.redis.XGroupCreateMkStream(ctx, chatKeys(room).ingest, moderationGroup, "0").Err(); err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
				errs = append(errs, fmt.Errorf("create moderation group of %s: %w", room, err))
				continue
			}
			fresh = append(fresh, room)
		default:
			errs = append(errs, fmt.Errorf("read comments of %s: %w", room, err))
		}
	}
	return out, fresh, errors.Join(errs...)
}

func isNoGroup(err error) bool { return err != nil && redis.HasErrorPrefix(err, "NOGROUP") }

// retire stops reading the idle rooms of shows that ended a while ago
// and whose streams are empty, asking about each room at most every
// retireEvery; rooms is every listed room.
func (w *ModerationWorker) retire(ctx context.Context, rooms, idle []string) error {
	now := time.Now()
	if len(w.claimedAt) > len(rooms) || len(w.checkedAt) > len(rooms) {
		// Rooms another moderator retired.
		listed := make(map[string]bool, len(rooms))
		for _, r := range rooms {
			listed[r] = true
		}
		for r := range w.checkedAt {
			if !listed[r] {
				delete(w.checkedAt, r)
				delete(w.claimedAt, r)
			}
		}
	}
	for _, room := range idle {
		if now.Sub(w.checkedAt[room]) < retireEvery {
			continue
		}
		w.checkedAt[room] = now
		show, err := getShow(ctx, w.s.db, room)
		switch {
		case errors.Is(err, ErrShowNotFound):
		case err != nil:
			return err
		case show.Status == StatusLive, show.EndedAt != nil && w.s.now().Sub(*show.EndedAt) < retireAfter:
			continue
		}
		key := chatKeys(room).ingest
		if n, err := w.s.redis.XLen(ctx, key).Result(); err != nil || n > 0 {
			continue
		}
		if err := w.s.redis.SRem(ctx, ingestRooms, room).Err(); err != nil {
			return fmt.Errorf("retire ingest room %s: %w", room, err)
		}
		if err := w.s.redis.Del(ctx, key).Err(); err != nil {
			return fmt.Errorf("retire ingest room %s: %w", room, err)
		}
		delete(w.checkedAt, room)
		delete(w.claimedAt, room)
	}
	return nil
}
