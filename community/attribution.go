package community

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/uptrace/bun"
)

// Touch is one arrival of a member in the mini-program, as the login's
// scene and share parameters describe it: the WeChat scene value (1007 a
// shared card in a chat, 1008 in a group, 1047 a scanned mini-program
// code…) and what the share link carried.
type Touch struct {
	Scene     int
	InviterID string // the member who shared
	ShowID    string
	GroupID   string
	Channel   string
	At        time.Time
}

// Empty reports whether the touch carries no attribution at all.
func (t Touch) Empty() bool {
	return t.Scene == 0 && t.InviterID == "" && t.ShowID == "" && t.GroupID == "" && t.Channel == ""
}

// Share is what a share link or code carried into the mini-program, as
// the mini-program read it from its launch options. It comes from the
// client and is not trusted: values that are not plausible IDs are dropped.
type Share struct {
	Inviter string
	Show    string
	Group   string
	Channel string
}

// attributionValue is what an ID or channel from a share link may look like.
var attributionValue = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// plausible returns v when it looks like an ID, else "".
func plausible(v string) string {
	if attributionValue.MatchString(v) {
		return v
	}
	return ""
}

// touchFrom cleans a login's attribution. The inviter must be an existing
// member other than self (selfID, empty for a new member).
func touchFrom(ctx context.Context, db bun.IDB, scene int, sh Share, selfID string, at time.Time) (Touch, error) {
	t := Touch{
		ShowID:  plausible(sh.Show),
		GroupID: plausible(sh.Group),
		Channel: plausible(sh.Channel),
		At:      at,
	}
	// WeChat scene values are four-digit numbers.
	if scene >= 1000 && scene <= 9999 {
		t.Scene = scene
	}
	if inv := plausible(sh.Inviter); inv != "" && inv != selfID {
		n, err := db.NewSelect().Model((*memberRow)(nil)).Where("id = ?", inv).Count(ctx)
		if err != nil {
			return Touch{}, fmt.Errorf("community: check inviter: %w", err)
		}
		if n == 1 {
			t.InviterID = inv
		}
	}
	return t, nil
}

// touchRow is a row of member_touches: every login that carried
// attribution, the first one included.
type touchRow struct {
	bun.BaseModel `bun:"table:member_touches"`

	ID        string    `bun:"id,pk"`
	MemberID  string    `bun:"member_id,notnull"`
	Scene     int       `bun:"scene,notnull"`
	InviterID string    `bun:"inviter_id,notnull"`
	ShowID    string    `bun:"show_id,notnull"`
	GroupID   string    `bun:"group_id,notnull"`
	Channel   string    `bun:"channel,notnull"`
	First     bool      `bun:"is_first,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

func recordTouch(ctx context.Context, db bun.IDB, memberID string, t Touch, first bool) error {
	row := touchRow{
		ID: newID(), MemberID: memberID, Scene: t.Scene, InviterID: t.InviterID,
		ShowID: t.ShowID, GroupID: t.GroupID, Channel: t.Channel, First: first, CreatedAt: t.At,
	}
	if _, err := db.NewInsert().Model(&row).Exec(ctx); err != nil {
		return fmt.Errorf("community: record touch: %w", err)
	}
	return nil
}

// Touches returns the member's touches, oldest first: the first login's
// (if it carried attribution) and every later login that carried some.
func (m *Members) Touches(ctx context.Context, memberID string) ([]Touch, error) {
	var rows []touchRow
	if err := m.db.NewSelect().Model(&rows).Where("member_id = ?", memberID).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("community: touches: %w", err)
	}
	out := make([]Touch, len(rows))
	for i, r := range rows {
		out[i] = Touch{Scene: r.Scene, InviterID: r.InviterID, ShowID: r.ShowID, GroupID: r.GroupID, Channel: r.Channel, At: r.CreatedAt.UTC()}
	}
	return out, nil
}
