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
	"github.com/silenceper/wechat/v2/miniprogram/security"
	"github.com/silenceper/wechat/v2/util"
	"github.com/uptrace/bun"
)

// Verdict is a content check's answer.
type Verdict struct {
	Pass bool
	// Reason says why text did not pass ("wechat:risky:20003").
	Reason string
}

// Moderator checks a comment's text for a member (WeChat's msg_sec_check).
// An error means the check could not run; the comment is then hidden,
// unless the error wraps ErrCheckQuota: the comment is checked again
// once the quota allows.
type Moderator interface {
	Check(ctx context.Context, openID, text string) (Verdict, error)
}

// ErrCheckQuota wraps a content check refused for its quota. WeChat allows
// a mini-program 4,000 msg_sec_check calls a calendar minute and 2,000,000
// a day, and answers errcode 45009 past either (45011 is the minute
// quota's code elsewhere).
var ErrCheckQuota = errors.New("live: content check quota used up")

// The errcodes of a quota used up.
const (
	errcodeDailyQuota  = 45009
	errcodeMinuteQuota = 45011
)

// checkPauseKey holds, in Unix ms, until when no moderator of any replica
// asks for content checks: one was refused for the quota.
const checkPauseKey = "live:contentcheck:paused"

// TokenRetrier runs a WeChat call again, once, with a fresh access token
// when WeChat refused the token (accesstoken.Cache does).
type TokenRetrier interface {
	Retry(ctx context.Context, call func(ctx context.Context) error) error
}

// WeChatCheck is a Moderator calling msg_sec_check version 2 through
// silenceper/wechat, in the comment scene.
type WeChatCheck struct {
	sec    *security.Security
	tokens TokenRetrier
}

// NewWeChatCheck returns a Moderator using sec (from
// miniprogram.GetSecurity()); tokens, when not nil, retries a call whose
// access token WeChat refused.
func NewWeChatCheck(sec *security.Security, tokens TokenRetrier) *WeChatCheck {
	return &WeChatCheck{sec: sec, tokens: tokens}
}

// Check implements Moderator. Only "pass" passes; "review" and "risky"
// hide the comment, as does any suggestion this code does not know.
func (w *WeChatCheck) Check(ctx context.Context, openID, text string) (Verdict, error) {
	var res security.MsgCheckResponse
	call := func(ctx context.Context) (err error) {
		res, err = w.sec.MsgCheckContext(ctx, &security.MsgCheckRequest{OpenID: openID, Scene: security.MsgSceneComment, Content: text})
		return err
	}
	var err error
	if w.tokens != nil {
		err = w.tokens.Retry(ctx, call)
	} else {
		err = call(ctx)
	}
	var ce *util.CommonError
	if errors.As(err, &ce) && (ce.ErrCode == errcodeDailyQuota || ce.ErrCode == errcodeMinuteQuota) {
		return Verdict{}, fmt.Errorf("msg_sec_check: %w: %w", ErrCheckQuota, err)
	}
	if err != nil {
		return Verdict{}, fmt.Errorf("msg_sec_check: %w", err)
	}
	switch res.Result.Suggest {
	case security.CheckSuggestPass:
		return Verdict{Pass: true}, nil
	case security.CheckSuggestReview, security.CheckSuggestRisky:
		return Verdict{Reason: fmt.Sprintf("wechat:%s:%d", res.Result.Suggest, int(res.Result.Label))}, nil
	}
	return Verdict{}, fmt.Errorf("msg_sec_check: unknown suggestion %q (trace %s)", res.Result.Suggest, res.TraceID)
}

// BlockedWord is one word of the brand's blocklist.
type BlockedWord struct {
	bun.BaseModel `bun:"table:chat_blocklist"`

	Word      string    `bun:"word,pk"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// blocklistTTL is how long a replica trusts its copy of the blocklist.
const blocklistTTL = 5 * time.Second

// Blocklist returns the brand's blocked words, sorted.
func (s *Service) Blocklist(ctx context.Context) ([]string, error) {
	var words []string
	if err := s.db.NewSelect().Model((*BlockedWord)(nil)).Column("word").OrderExpr("word").Scan(ctx, &words); err != nil {
		return nil, fmt.Errorf("read blocklist: %w", err)
	}
	return words, nil
}

// SetBlocklist replaces the brand's blocked words. Words are matched
// case-insensitively anywhere in a comment.
func (s *Service) SetBlocklist(ctx context.Context, staffID string, words []string) ([]string, error) {
	clean := make([]string, 0, len(words))
	for _, w := range words {
		w = strings.ToLower(strings.TrimSpace(w))
		switch {
		case w == "":
			continue
		case utf8.RuneCountInString(w) > 40:
			return nil, invalid("words", fmt.Sprintf("%q is longer than 40 characters", w))
		}
		clean = append(clean, w)
	}
	slices.Sort(clean)
	clean = slices.Compact(clean)
	if len(clean) > 2000 {
		return nil, invalid("words", "has more than 2000 words")
	}
	now := s.now()
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*BlockedWord)(nil)).Where("1 = 1").Exec(ctx); err != nil {
			return fmt.Errorf("clear blocklist: %w", err)
		}
		if len(clean) == 0 {
			return s.audit(ctx, tx, AuditEntry{StaffID: staffID, Action: "chat.blocklist", ObjectType: "chat_blocklist", ObjectID: "brand", Detail: map[string]any{"words": 0}})
		}
		rows := make([]BlockedWord, len(clean))
		for i, w := range clean {
			rows[i] = BlockedWord{Word: w, CreatedAt: now}
		}
		if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
			return fmt.Errorf("store blocklist: %w", err)
		}
		return s.audit(ctx, tx, AuditEntry{StaffID: staffID, Action: "chat.blocklist", ObjectType: "chat_blocklist", ObjectID: "brand", Detail: map[string]any{"words": len(clean)}})
	})
	if err != nil {
		return nil, err
	}
	s.blockMu.Lock()
	s.blockWords, s.blockAt = clean, time.Now()
	s.blockMu.Unlock()
	return clean, nil
}

// blocked returns the blocked word text contains, or "".
func (s *Service) blocked(ctx context.Context, text string) (string, error) {
	s.blockMu.Lock()
	words, fresh := s.blockWords, time.Since(s.blockAt) < blocklistTTL
	s.blockMu.Unlock()
	if !fresh {
		var err error
		if words, err = s.Blocklist(ctx); err != nil {
			return "", err
		}
		s.blockMu.Lock()
		s.blockWords, s.blockAt = words, time.Now()
		s.blockMu.Unlock()
	}
	lower := strings.ToLower(text)
	for _, w := range words {
		if strings.Contains(lower, w) {
			return w, nil
		}
	}
	return "", nil
}

// moderate decides whether a comment is shown: the blocklist first, then
// WeChat's check. Anything that keeps the check from running hides the
// comment (fails closed) and says why, except the check's quota: while it
// is used up, later is true and the comment waits to be checked again.
func (s *Service) moderate(ctx context.Context, memberID string, m Member, memberErr error, text string) (v Verdict, later bool) {
	word, err := s.blocked(ctx, text)
	switch {
	case err != nil:
		s.log.Warn("blocklist unavailable; hiding comment", "err", err)
		return Verdict{Reason: "check_unavailable"}, false
	case word != "":
		return Verdict{Reason: "blocklist"}, false
	case s.cfg.Moderator == nil:
		return Verdict{Reason: "check_unavailable"}, false
	case memberErr != nil || m.OpenID == "":
		s.log.Warn("no openid for content check; hiding comment", "member", memberID, "err", memberErr)
		return Verdict{Reason: "check_unavailable"}, false
	case s.now().UnixMilli() < s.checksPausedUntil.Load():
		return Verdict{}, true
	}
	v, err = s.cfg.Moderator.Check(ctx, m.OpenID, text)
	switch {
	case errors.Is(err, ErrCheckQuota):
		s.pauseChecks(ctx, err)
		return Verdict{}, true
	case err != nil:
		s.log.Warn("content check failed; hiding comment", "member", memberID, "err", err)
		return Verdict{Reason: "check_unavailable"}, false
	}
	return v, false
}

// pauseChecks stops every moderator's content checks until the next
// calendar minute, when WeChat counts calls afresh. Should the day's quota
// be used up instead, one check a minute finds out again.
func (s *Service) pauseChecks(ctx context.Context, cause error) {
	now := s.now()
	until := now.Truncate(time.Minute).Add(time.Minute)
	if !s.pauseUntil(until.UnixMilli()) {
		return
	}
	s.log.Warn("content check quota used up; comments wait for the next minute", "until", until.UTC(), "err", cause)
	if err := s.redis.Set(ctx, checkPauseKey, until.UnixMilli(), until.Sub(now)+time.Second).Err(); err != nil {
		s.log.Warn("share the content check pause", "err", err)
	}
}

// loadCheckPause takes up a pause another replica's moderator started.
func (s *Service) loadCheckPause(ctx context.Context) {
	until, err := s.redis.Get(ctx, checkPauseKey).Int64()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		s.log.Warn("read the content check pause", "err", err)
	default:
		s.pauseUntil(until)
	}
}

// pauseUntil moves the end of the pause (Unix ms) to until unless it is
// as late already, and reports whether it moved.
func (s *Service) pauseUntil(until int64) bool {
	for {
		old := s.checksPausedUntil.Load()
		if old >= until {
			return false
		}
		if s.checksPausedUntil.CompareAndSwap(old, until) {
			return true
		}
	}
}
