package community

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// LoginRequest is a shopper logging in from the mini-program.
type LoginRequest struct {
	// Code is the wx.login code.
	Code string
	// IP is the shopper's address, for the per-IP login limit.
	IP string
	// Scene is the WeChat scene value the mini-program was opened with.
	Scene int
	// Share is what the share link or code carried.
	Share Share
}

// Login is a successful login.
type Login struct {
	// Token is the session token: send it as "Authorization: Bearer …".
	Token     string
	ExpiresAt time.Time
	Member    Member
	// NewMember is set on the member's first login.
	NewMember bool
}

// loginCode is what a wx.login code looks like (the platform's are 32
// letters and digits). The SDK puts the code into jscode2session's query
// string unescaped, so anything else is refused before it gets there.
var loginCode = regexp.MustCompile(`^[A-Za-z0-9_.~-]{1,128}$`)

// Login exchanges a wx.login code for a session. It creates the member on
// their first login, recording where they came from; later logins with
// attribution are recorded as touches. WeChat is asked first, so when it
// refuses or fails nothing has been written.
func (m *Members) Login(ctx context.Context, req LoginRequest) (Login, error) {
	code := strings.TrimSpace(req.Code)
	if !loginCode.MatchString(code) {
		return Login{}, fmt.Errorf("%w: not a wx.login code", ErrInvalidCode)
	}
	if req.IP != "" {
		if err := m.limit.allow(ctx, "ip", req.IP, m.limit.limits.PerIP); err != nil {
			return Login{}, err
		}
	}
	ws, err := m.wechat.Code2Session(ctx, code)
	if err != nil {
		return Login{}, err
	}
	if err := m.limit.allow(ctx, "openid", ws.OpenID, m.limit.limits.PerOpenID); err != nil {
		return Login{}, err
	}
	var out Login
	err = m.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		now := m.now()
		row, created, err := m.findOrCreate(ctx, tx, ws, req, now)
		if err != nil {
			return err
		}
		if err := m.storeSessionKey(ctx, tx, row.ID, ws.SessionKey, now); err != nil {
			return err
		}
		token, exp, err := m.startSession(ctx, tx, row.ID, now)
		if err != nil {
			return err
		}
		out = Login{Token: token, ExpiresAt: exp, Member: row.member(), NewMember: created}
		return nil
	})
	if err != nil {
		return Login{}, err
	}
	return out, nil
}

// findOrCreate returns the member for ws.OpenID, creating them with their
// first touch, or recording a later touch and a changed unionid.
func (m *Members) findOrCreate(ctx context.Context, tx bun.Tx, ws WeChatSession, req LoginRequest, now time.Time) (*memberRow, bool, error) {
	row, err := findMember(ctx, tx, "openid", ws.OpenID, true)
	if errors.Is(err, ErrMemberNotFound) {
		row, err = m.create(ctx, tx, ws, req, now)
		if err == nil {
			return row, true, nil
		}
		if errors.Is(err, errRaced) {
			// A concurrent first login of the same user created the member
			// first (PostgreSQL; SQLite's write lock serialises logins):
			// this one is a later touch.
			row, err = findMember(ctx, tx, "openid", ws.OpenID, true)
		}
	}
	if err != nil {
		return nil, false, err
	}
	t, err := touchFrom(ctx, tx, req.Scene, req.Share, row.ID, now)
	if err != nil {
		return nil, false, err
	}
	if !t.Empty() {
		if err := recordTouch(ctx, tx, row.ID, t, false); err != nil {
			return nil, false, err
		}
	}
	if ws.UnionID != "" && ws.UnionID != row.UnionID {
		row.UnionID, row.UpdatedAt = ws.UnionID, now
		if _, err := tx.NewUpdate().Model(row).Column("unionid", "updated_at").WherePK().Exec(ctx); err != nil {
			return nil, false, fmt.Errorf("community: update unionid: %w", err)
		}
	}
	return row, false, nil
}

// errRaced is create losing to a concurrent first login of the same user.
var errRaced = errors.New("community: member created concurrently")

// create inserts a new member with their first touch.
func (m *Members) create(ctx context.Context, tx bun.Tx, ws WeChatSession, req LoginRequest, now time.Time) (*memberRow, error) {
	t, err := touchFrom(ctx, tx, req.Scene, req.Share, "", now)
	if err != nil {
		return nil, err
	}
	row := &memberRow{
		ID: newID(), OpenID: ws.OpenID, UnionID: ws.UnionID,
		FirstScene: t.Scene, FirstInviterID: t.InviterID, FirstShowID: t.ShowID,
		FirstGroupID: t.GroupID, FirstChannel: t.Channel,
		CreatedAt: now, UpdatedAt: now,
	}
	res, err := tx.NewInsert().Model(row).On("CONFLICT (openid) DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("community: create member: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, fmt.Errorf("community: create member: %w", err)
	}
	if n == 0 {
		return nil, errRaced
	}
	if !t.Empty() {
		if err := recordTouch(ctx, tx, row.ID, t, true); err != nil {
			return nil, err
		}
	}
	return row, nil
}

// wechatSessionRow is a row of member_wechat_sessions: the member's latest
// session_key, sealed with AES-256-GCM.
type wechatSessionRow struct {
	bun.BaseModel `bun:"table:member_wechat_sessions"`

	MemberID   string    `bun:"member_id,pk"`
	SessionKey string    `bun:"session_key,notnull"`
	UpdatedAt  time.Time `bun:"updated_at,notnull"`
}

func (m *Members) storeSessionKey(ctx context.Context, tx bun.Tx, memberID string, key SessionKey, now time.Time) error {
	row := wechatSessionRow{MemberID: memberID, SessionKey: m.seal.seal(memberID, key), UpdatedAt: now}
	_, err := tx.NewInsert().Model(&row).
		On("CONFLICT (member_id) DO UPDATE").
		Set("session_key = EXCLUDED.session_key").
		Set("updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("community: store session key: %w", err)
	}
	return nil
}

// SessionKey returns the member's latest WeChat session_key, to decrypt
// data the mini-program passes on (wx.getShareInfo's encryptedData, for the
// group a share came from). It is a SessionKey: it does not print.
func (m *Members) SessionKey(ctx context.Context, memberID string) (SessionKey, error) {
	row := new(wechatSessionRow)
	if err := m.db.NewSelect().Model(row).Where("member_id = ?", memberID).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrMemberNotFound
		}
		return nil, fmt.Errorf("community: session key: %w", err)
	}
	return m.seal.open(memberID, row.SessionKey)
}
