package live

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"
)

// CommentStatus says whether a comment is shown.
type CommentStatus string

// The statuses of a comment.
const (
	CommentVisible CommentStatus = "visible"
	CommentHidden  CommentStatus = "hidden"  // failed moderation, or it could not run
	CommentDeleted CommentStatus = "deleted" // removed by staff
	// CommentPending is a comment accepted and waiting for moderation, as
	// PostComment answers it; it is never stored with this status.
	CommentPending CommentStatus = "pending"
)

// Comment is one chat message of a show.
type Comment struct {
	bun.BaseModel `bun:"table:comments"`

	ID        string        `bun:"id,pk"`
	ShowID    string        `bun:"show_id,notnull"`
	MemberID  string        `bun:"member_id,notnull"`
	Nickname  string        `bun:"nickname,notnull"`
	Text      string        `bun:"text,notnull"`
	Status    CommentStatus `bun:"status,notnull"`
	Reason    string        `bun:"reason,notnull"`
	CreatedAt time.Time     `bun:"created_at,notnull"`
	// StoredAt is when a moderator stored the comment.
	StoredAt time.Time `bun:"stored_at,nullzero"`
	// Seq numbers a show's comments in the order they were stored and
	// became visible (storeComments): the order the control room's feed
	// follows. Ids follow the order comments were posted, and moderators
	// on several replicas store them out of it.
	Seq int64 `bun:"seq,notnull"`
}

// ChatComment is a comment as the room receives it in a chat batch. It is
// kept small (a reliable data message holds 15 KiB): the author's nickname,
// not their member id, and the time in Unix milliseconds.
type ChatComment struct {
	ID       string `json:"id"`
	Nickname string `json:"nickname,omitempty"`
	Text     string `json:"text"`
	AtMS     int64  `json:"at_ms"`
}

// PostComment accepts a viewer's comment to a live show and answers at
// once with it pending: the text is checked, the viewer must be allowed
// to take part, and then, in one Redis step, the member's rate limit and
// the room's backlog are applied and the comment is appended to the
// room's ingest stream. Concurrent comments share their Redis round trip
// (commentQueue). A moderator (ModerationWorker) then checks it
// (blocklist, then WeChat; hidden when the check cannot run), stores it,
// and queues it for the room's next chat batch when it is visible. A full
// backlog refuses the comment with ErrChatBusy, and a Redis failure with
// ErrChatUnavailable; neither is accepted.
func (s *Service) PostComment(ctx context.Context, showID, memberID, text string) (*Comment, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return nil, invalid("text", "is empty")
	case !utf8.ValidString(text):
		return nil, invalid("text", "is not UTF-8")
	case utf8.RuneCountInString(text) > s.cfg.CommentMaxRunes:
		return nil, invalid("text", fmt.Sprintf("is longer than %d characters", s.cfg.CommentMaxRunes))
	}
	if _, err := s.mayTakePart(ctx, showID, memberID); err != nil {
		return nil, err
	}
	// The time is kept in milliseconds, as the stream carries it, so the
	// author sees the time the comment is stored with.
	at := time.UnixMilli(s.now().UnixMilli()).UTC()
	c := &Comment{ID: newID(), ShowID: showID, MemberID: memberID, Text: text, Status: CommentPending, CreatedAt: at}
	if err := s.comments.add(ctx, showID, pendingComment{ID: c.ID, MemberID: memberID, Text: text, AtMS: at.UnixMilli()}); err != nil {
		return nil, err
	}
	return c, nil
}

// mayTakePart refuses comments and likes to a show that is not live, and
// from muted and removed viewers.
func (s *Service) mayTakePart(ctx context.Context, showID, memberID string) (*hotShow, error) {
	h, err := s.hot(ctx, showID)
	switch {
	case err != nil:
		return nil, err
	case h.status != StatusLive:
		return nil, ErrShowNotLive
	case h.removed[memberID]:
		return nil, ErrViewerRemoved
	case h.muted[memberID]:
		return nil, ErrViewerMuted
	}
	return h, nil
}

// Comments returns a show's visible comments before the comment with id
// before (or the latest when empty), oldest first, at most limit (≤100).
func (s *Service) Comments(ctx context.Context, showID, before string, limit int) ([]Comment, error) {
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	var out []Comment
	q := s.db.NewSelect().Model(&out).Where("show_id = ? AND status = ?", showID, CommentVisible).OrderExpr("id DESC").Limit(int64(limit))
	if before != "" {
		q = q.Where("id < ?", before)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("read comments: %w", err)
	}
	slices.Reverse(out)
	if out == nil {
		out = []Comment{}
	}
	return out, nil
}

// CommentHistory is Comments for a show that must exist.
func (s *Service) CommentHistory(ctx context.Context, showID, before string, limit int) ([]Comment, error) {
	if _, err := getShow(ctx, s.db, showID); err != nil {
		return nil, err
	}
	return s.Comments(ctx, showID, before, limit)
}

// chatRooms is the Redis set of shows whose chat the broadcaster ticks.
const chatRooms = "live:chat:rooms"

// ingestRooms is the Redis set of shows whose ingest stream moderators
// read; ingestSeq counts the ingest steps taken, so an idle moderator
// reads one key rather than every room.
const (
	ingestRooms = "live:chat:ingest"
	ingestSeq   = "live:chat:ingest:seq"
)

// roomChatKeys are the Redis keys of one show's chat. They share the hash
// tag {show:ID}, so the ingest and broadcast scripts touch one slot.
type roomChatKeys struct {
	prefix    string
	ingest    string // stream of comments accepted and waiting for moderation
	queue     string // list of ChatComment JSON waiting for broadcast
	likes     string // likes waiting for broadcast
	likeTotal string // every like of the show
	next      string // earliest time (ms) of the next chat send
}

func chatKeys(showID string) roomChatKeys {
	p := "live:{show:" + showID + "}:"
	return roomChatKeys{prefix: p, ingest: p + "ingest", queue: p + "chat", likes: p + "likes", likeTotal: p + "likes:total", next: p + "next"}
}

// dropChat stops broadcasting a show that ended: the like total is kept on
// the show and the room's queue is dropped (the comments stay stored).
func (s *Service) dropChat(ctx context.Context, showID string) {
	keys := chatKeys(showID)
	if total, err := s.redis.Get(ctx, keys.likeTotal).Int64(); err == nil {
		if err := s.saveLikes(ctx, showID, total); err != nil {
			s.log.Warn("keep like total", "show", showID, "err", err)
			return
		}
	} else if !errors.Is(err, redis.Nil) {
		s.log.Warn("read like total", "show", showID, "err", err)
		return
	}
	if err := s.redis.SRem(ctx, chatRooms, showID).Err(); err != nil {
		s.log.Warn("stop chat broadcast", "show", showID, "err", err)
	}
	if err := s.redis.Del(ctx, keys.queue, keys.likes, keys.likeTotal, keys.next).Err(); err != nil {
		s.log.Warn("drop chat queue", "show", showID, "err", err)
	}
}

// saveLikes raises a show's stored like total to total.
func (s *Service) saveLikes(ctx context.Context, showID string, total int64) error {
	_, err := s.db.NewUpdate().Model((*Show)(nil)).Set("likes = ?", total).
		Where("id = ? AND likes < ?", showID, total).Exec(ctx)
	if err != nil {
		return fmt.Errorf("save likes: %w", err)
	}
	return nil
}
