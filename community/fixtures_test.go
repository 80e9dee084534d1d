package community_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"
)

// Fixtures for the community-and-campaigns tests: rows of other areas'
// tables (members, shows, viewer sessions, reservations, orders, comments)
// written straight into the database, as those areas store them.

// fxExec runs a statement through bun (which formats ? with args).
func fxExec(t testing.TB, db bun.IDB, query string, args ...any) {
	t.Helper()
	if _, err := db.NewRaw(query, args...).Exec(context.Background()); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// fxMember is a member row to seed.
type fxMember struct {
	ID, OpenID, UnionID, Phone, Inviter, FirstShow, Nickname string
	CreatedAt                                                time.Time
}

func fxAddMember(t testing.TB, db bun.IDB, m fxMember) {
	t.Helper()
	if m.OpenID == "" {
		m.OpenID = "o-" + m.ID
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	fxExec(t, db, `INSERT INTO members (id, openid, unionid, nickname, phone, first_inviter_id, first_show_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.ID, m.OpenID, m.UnionID, m.Nickname, m.Phone, m.Inviter, m.FirstShow, m.CreatedAt, m.CreatedAt)
}

// fxAddMembers seeds n members m000001… with bulk inserts.
func fxAddMembers(t testing.TB, db bun.IDB, n int, at time.Time) []string {
	t.Helper()
	ids := make([]string, 0, n)
	const batch = 500
	for start := 0; start < n; start += batch {
		var sb []byte
		var args []any
		sb = append(sb, "INSERT INTO members (id, openid, unionid, created_at, updated_at) VALUES "...)
		for i := start; i < min(start+batch, n); i++ {
			id := fmt.Sprintf("m%06d", i+1)
			ids = append(ids, id)
			if i > start {
				sb = append(sb, ',')
			}
			sb = append(sb, "(?, ?, ?, ?, ?)"...)
			args = append(args, id, "o-"+id, "u-"+id, at, at)
		}
		fxExec(t, db, string(sb), args...)
	}
	return ids
}

func fxAddShow(t testing.TB, db bun.IDB, id, status string, at time.Time) {
	t.Helper()
	fxExec(t, db, `INSERT INTO shows (id, title, scheduled_at, host_staff_id, mode, status, room_name, created_by, created_at, updated_at)
		VALUES (?, ?, ?, 'host', 'webrtc', ?, ?, 'staff', ?, ?)`, id, "Show "+id, at, status, "room-"+id, at, at)
}

func fxWatch(t testing.TB, db bun.IDB, show, member, sid string, joined time.Time, left *time.Time) {
	t.Helper()
	fxExec(t, db, `INSERT INTO viewer_sessions (show_id, identity, participant_sid, joined_at, left_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		show, member, sid, joined, left, joined)
}

func fxReserve(t testing.TB, db bun.IDB, show, member string, at time.Time) {
	t.Helper()
	fxExec(t, db, `INSERT INTO show_reservations (id, show_id, member_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		"r-"+show+"-"+member, show, member, at, at)
}

func fxOrder(t testing.TB, db bun.IDB, id, member string, total, refunded int64, paidAt *time.Time, created time.Time) {
	t.Helper()
	status := "pending"
	if paidAt != nil {
		status = "paid"
	}
	fxExec(t, db, `INSERT INTO orders (id, member_id, out_trade_no, status, items_total, total, refunded, address, description, expires_at, paid_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, '{}', 'order', ?, ?, ?, ?)`, id, member, "otn-"+id, status, total, total, refunded, created.Add(15*time.Minute), paidAt, created, created)
}

func fxComment(t testing.TB, db bun.IDB, id, show, member string, at time.Time) {
	t.Helper()
	fxExec(t, db, `INSERT INTO comments (id, show_id, member_id, text, status, created_at) VALUES (?, ?, ?, 'hi', 'visible', ?)`, id, show, member, at)
}

func fxConsent(t testing.TB, db bun.IDB, member, template string, remaining int, longTerm bool, at time.Time) {
	t.Helper()
	fxExec(t, db, `INSERT INTO subscribe_consents (member_id, template_id, remaining, long_term, granted, used, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?)`,
		member, template, remaining, longTerm, remaining, at)
}

func tptr(t time.Time) *time.Time { return &t }
