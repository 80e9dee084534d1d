package live

import (
	"context"
	"encoding/json"
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

// PostComment takes a viewer's comment to a live show: it is rate limited
// per member, checked (blocklist, then WeChat; hidden when the check
// cannot run), stored, and, when visible, queued for the room's next chat
// batch. A full backlog refuses the comment with ErrChatBusy rather than
// accept one it could not deliver.
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
	if err := s.admit(ctx, showID, memberID); err != nil {
		return nil, err
	}
	var m Member
	var memberErr error
	if s.cfg.Members != nil {
		m, memberErr = s.cfg.Members.Member(ctx, memberID)
	} else {
		memberErr = errors.New("no member directory connected")
	}
	verdict := s.moderate(ctx, memberID, m, memberErr, text)
	c := &Comment{ID: newID(), ShowID: showID, MemberID: memberID, Nickname: m.Nickname, Text: text,
		Status: CommentVisible, CreatedAt: s.now()}
	if !verdict.Pass {
		c.Status, c.Reason = CommentHidden, verdict.Reason
	}
	if _, err := s.db.NewInsert().Model(c).Exec(ctx); err != nil {
		return nil, fmt.Errorf("store comment: %w", err)
	}
	if c.Status != CommentVisible {
		return c, nil
	}
	wire, err := json.Marshal(ChatComment{ID: c.ID, Nickname: c.Nickname, Text: c.Text, AtMS: c.CreatedAt.UnixMilli()})
	if err != nil {
		return nil, fmt.Errorf("encode comment: %w", err)
	}
	if err := s.enqueueChat(ctx, showID, wire); err != nil {
		// Stored but not queued: it shows in the history, not live. Say so
		// rather than pretend it was delivered.
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

// admitComment refuses a comment when the room's broadcast backlog is full
// (-1) or the member commented less than an interval ago (the time left,
// in ms), and otherwise marks the member (0), in one step. KEYS: queue,
// the member's mark. ARGV: backlog, interval (ms).
var admitComment = redis.NewScript(`
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then return 0 end
local left = redis.call('PTTL', KEYS[2])
if left <= 0 then left = tonumber(ARGV[2]) end
return left
`)

// admit applies the backlog bound and the per-member rate limit, on every
// replica alike (both live in Redis).
func (s *Service) admit(ctx context.Context, showID, memberID string) error {
	keys := chatKeys(showID)
	n, err := admitComment.Run(ctx, s.redis, []string{keys.queue, keys.prefix + "rl:" + memberID},
		s.cfg.ChatBacklog, s.cfg.CommentInterval.Milliseconds()).Int64()
	switch {
	case err != nil:
		return fmt.Errorf("admit comment: %w", err)
	case n < 0:
		return ErrChatBusy
	case n > 0:
		return &RateLimitError{Wait: time.Duration(n) * time.Millisecond}
	}
	return nil
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

// roomChatKeys are the Redis keys of one show's chat. They share the hash
// tag {show:ID}, so the broadcast script touches one slot.
type roomChatKeys struct {
	prefix    string
	queue     string // list of ChatComment JSON waiting for broadcast
	likes     string // likes waiting for broadcast
	likeTotal string // every like of the show
	next      string // earliest time (ms) of the next chat send
}

func chatKeys(showID string) roomChatKeys {
	p := "live:{show:" + showID + "}:"
	return roomChatKeys{prefix: p, queue: p + "chat", likes: p + "likes", likeTotal: p + "likes:total", next: p + "next"}
}

// enqueueChat queues a comment for the room's next batch.
func (s *Service) enqueueChat(ctx context.Context, showID string, wire []byte) error {
	_, err := s.redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, chatKeys(showID).queue, wire)
		p.SAdd(ctx, chatRooms, showID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue comment: %w", err)
	}
	return nil
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
