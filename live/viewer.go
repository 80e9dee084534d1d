package live

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// ViewerSession is one participant session of a viewer in a show's room.
type ViewerSession struct {
	bun.BaseModel `bun:"table:viewer_sessions"`

	ShowID         string     `bun:"show_id,pk"`
	Identity       string     `bun:"identity,pk"`
	ParticipantSID string     `bun:"participant_sid,pk"`
	JoinedAt       *time.Time `bun:"joined_at"`
	LeftAt         *time.Time `bun:"left_at"`
	UpdatedAt      time.Time  `bun:"updated_at,notnull"`
}

// isViewer reports whether a participant is a shopper: a person whose
// identity is a member id, not staff (StaffIdentity) nor an ingress
// (IngressIdentity), nor an egress, agent or SIP participant.
func isViewer(p Participant) bool {
	if p.Kind != livekit.ParticipantInfo_STANDARD {
		return false
	}
	return p.Identity != "" && !strings.HasPrefix(p.Identity, "staff:") && !strings.HasPrefix(p.Identity, "ingress:")
}

// touchSession merges what one event (or a reconciliation) tells about a
// session: the earliest join and the earliest leave seen win, whatever the
// order they arrive in, so duplicates change nothing.
func touchSession(ctx context.Context, tx bun.IDB, showID, identity, sid string, joined, left *time.Time, now time.Time) error {
	row := &ViewerSession{ShowID: showID, Identity: identity, ParticipantSID: sid, JoinedAt: joined, LeftAt: left, UpdatedAt: now}
	if _, err := tx.NewInsert().Model(row).On("CONFLICT (show_id, identity, participant_sid) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("record viewer session: %w", err)
	}
	cur := new(ViewerSession)
	q := tx.NewSelect().Model(cur).Where("show_id = ? AND identity = ? AND participant_sid = ?", showID, identity, sid)
	if err := database.ForUpdate(q).Scan(ctx); err != nil {
		return fmt.Errorf("read viewer session: %w", err)
	}
	merged := *cur
	merged.JoinedAt = earliest(cur.JoinedAt, joined)
	merged.LeftAt = earliest(cur.LeftAt, left)
	if merged.LeftAt != nil && merged.JoinedAt != nil && merged.LeftAt.Before(*merged.JoinedAt) {
		// Clocks disagree by a little: a session never ends before it
		// starts.
		merged.LeftAt = merged.JoinedAt
	}
	if same(merged.JoinedAt, cur.JoinedAt) && same(merged.LeftAt, cur.LeftAt) {
		return nil
	}
	merged.UpdatedAt = now
	if _, err := tx.NewUpdate().Model(&merged).Column("joined_at", "left_at", "updated_at").WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("update viewer session: %w", err)
	}
	return nil
}

func earliest(a, b *time.Time) *time.Time {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case b.Before(*a):
		return b
	}
	return a
}

func same(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// openSessions counts the viewers in the room now: sessions that joined and
// have not left.
func openSessions(ctx context.Context, db bun.IDB, showID string) (int, error) {
	n, err := db.NewSelect().Model((*ViewerSession)(nil)).
		Where("show_id = ? AND left_at IS NULL AND joined_at IS NOT NULL", showID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count viewers: %w", err)
	}
	return int(n), nil
}

// refreshViewers recounts a locked show's concurrent viewers and raises
// its peak when they exceed it.
func refreshViewers(ctx context.Context, tx bun.IDB, show *Show, now time.Time) error {
	n, err := openSessions(ctx, tx, show.ID)
	if err != nil {
		return err
	}
	show.Viewers, show.PeakViewers, show.UpdatedAt = n, max(show.PeakViewers, n), now
	if _, err := tx.NewUpdate().Model(show).Column("viewers", "peak_viewers", "updated_at").WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("update viewer counts: %w", err)
	}
	return nil
}

// closeSessions ends every open session of a show at at.
func closeSessions(ctx context.Context, tx bun.IDB, showID string, at time.Time) error {
	if _, err := tx.NewUpdate().Model((*ViewerSession)(nil)).
		Set("left_at = ?", at).Set("updated_at = ?", at).
		Where("show_id = ? AND left_at IS NULL", showID).Exec(ctx); err != nil {
		return fmt.Errorf("close viewer sessions: %w", err)
	}
	return nil
}

// exactPeak computes the most viewers in the room at once from the
// sessions' intervals, which no order of events can skew.
func exactPeak(ctx context.Context, db bun.IDB, showID string) (int, error) {
	var rows []ViewerSession
	if err := db.NewSelect().Model(&rows).Column("joined_at", "left_at").
		Where("show_id = ? AND joined_at IS NOT NULL", showID).Scan(ctx); err != nil {
		return 0, fmt.Errorf("read viewer sessions: %w", err)
	}
	type edge struct {
		at    time.Time
		delta int
	}
	edges := make([]edge, 0, 2*len(rows))
	for _, r := range rows {
		edges = append(edges, edge{*r.JoinedAt, +1})
		if r.LeftAt != nil {
			edges = append(edges, edge{*r.LeftAt, -1})
		}
	}
	// At equal times a leave counts before a join: a viewer who reconnects
	// is one viewer.
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	peak, cur := 0, 0
	for _, e := range edges {
		cur += e.delta
		peak = max(peak, cur)
	}
	return peak, nil
}

// WatchTime returns how long a member watched a show, over all their
// sessions; open sessions count until now.
func (s *Service) WatchTime(ctx context.Context, showID, memberID string) (time.Duration, error) {
	return watchTime(ctx, s.db, showID, memberID, s.now())
}

func watchTime(ctx context.Context, db bun.IDB, showID, memberID string, now time.Time) (time.Duration, error) {
	var rows []ViewerSession
	if err := db.NewSelect().Model(&rows).Where("show_id = ? AND identity = ? AND joined_at IS NOT NULL", showID, memberID).Scan(ctx); err != nil {
		return 0, fmt.Errorf("read watch time: %w", err)
	}
	var total time.Duration
	for _, r := range rows {
		end := now
		if r.LeftAt != nil {
			end = *r.LeftAt
		}
		if end.After(*r.JoinedAt) {
			total += end.Sub(*r.JoinedAt)
		}
	}
	return total, nil
}

// The kinds of ban.
const (
	BanMuted   = "muted"   // may watch, may not comment or like
	BanRemoved = "removed" // may not join, comment or like
)

// Ban keeps a viewer from taking part in a show.
type Ban struct {
	bun.BaseModel `bun:"table:show_bans"`

	ShowID    string    `bun:"show_id,pk"`
	MemberID  string    `bun:"member_id,pk"`
	Kind      string    `bun:"kind,pk"`
	ByStaffID string    `bun:"by_staff_id,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// bans reports whether a member is muted or removed in a show.
func bans(ctx context.Context, db bun.IDB, showID, memberID string) (muted, removed bool, err error) {
	var kinds []string
	if err := db.NewSelect().Model((*Ban)(nil)).Column("kind").Where("show_id = ? AND member_id = ?", showID, memberID).Scan(ctx, &kinds); err != nil {
		return false, false, fmt.Errorf("read bans: %w", err)
	}
	return slices.Contains(kinds, BanMuted), slices.Contains(kinds, BanRemoved), nil
}

// Join is what a viewer needs to watch a live show.
type Join struct {
	LiveKitURL     string
	Token          string
	Room           string
	ExpiresAt      time.Time
	HLSURL         string
	RecentComments []Comment
}

// Join gives a viewer a subscribe-only token to a live show's room, valid
// for at most 15 minutes (joining again refreshes it), the HLS playlist in
// HLS mode, and the latest comments (RecentComments). A removed viewer is
// refused. A crowd joins at once when a show starts, so the show, its bans
// and its latest comments come from the chat path's cache (at most hotTTL
// old), and the token is signed from the room's claims encoded once
// (viewerSigner).
func (s *Service) Join(ctx context.Context, showID, memberID string) (Join, error) {
	h, err := s.hot(ctx, showID)
	if err != nil {
		return Join{}, err
	}
	if h.status != StatusLive {
		return Join{}, ErrShowNotLive
	}
	if h.removed[memberID] {
		return Join{}, ErrViewerRemoved
	}
	claims, err := h.viewerClaims(s.viewers)
	if err != nil {
		return Join{}, err
	}
	tok := s.viewers.sign(claims, h.room, memberID, time.Now())
	recent, err := s.recentComments(ctx, h, showID)
	if err != nil {
		return Join{}, err
	}
	return Join{LiveKitURL: s.cfg.LiveKitURL, Token: tok.Token, Room: tok.Room, ExpiresAt: tok.ExpiresAt, HLSURL: h.hlsURL, RecentComments: recent}, nil
}

// Counts are a show's audience numbers.
type Counts struct {
	Viewers      int   `json:"viewers"`
	PeakViewers  int   `json:"peak_viewers"`
	Likes        int64 `json:"likes"`
	Comments     int   `json:"comments"`
	Reservations int   `json:"reservations"`
}

// Counts returns a show's audience numbers.
func (s *Service) Counts(ctx context.Context, showID string) (Counts, error) {
	show, err := getShow(ctx, s.db, showID)
	if err != nil {
		return Counts{}, err
	}
	c := Counts{Viewers: show.Viewers, PeakViewers: show.PeakViewers, Likes: show.Likes}
	comments, err := s.db.NewSelect().Model((*Comment)(nil)).Where("show_id = ? AND status = ?", showID, CommentVisible).Count(ctx)
	if err != nil {
		return Counts{}, fmt.Errorf("count comments: %w", err)
	}
	reservations, err := s.db.NewSelect().Model((*Reservation)(nil)).Where("show_id = ?", showID).Count(ctx)
	if err != nil {
		return Counts{}, fmt.Errorf("count reservations: %w", err)
	}
	c.Comments, c.Reservations = int(comments), int(reservations)
	// Likes are counted in Redis and copied to the show at each tick; the
	// Redis total is the fresher one.
	if total, err := s.redis.Get(ctx, chatKeys(showID).likeTotal).Int64(); err == nil && total > c.Likes {
		c.Likes = total
	}
	return c, nil
}

var errNoRows = sql.ErrNoRows

func isNoRows(err error) bool { return errors.Is(err, errNoRows) }
