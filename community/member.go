package community

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// Member is a shopper known to Siyu through the mini-program.
type Member struct {
	ID      string
	OpenID  string
	UnionID string // empty unless the mini-program is bound to an Open Platform account
	// Nickname and AvatarURL are what the shopper chose to show.
	Nickname  string
	AvatarURL string
	// Phone is the bound number (with the country code for foreign
	// numbers), empty until the shopper shares it; PhoneCountryCode is
	// "86" for mainland numbers.
	Phone            string
	PhoneCountryCode string
	PhoneBoundAt     *time.Time
	// FirstTouch is where the member came from on their first login. It is
	// never changed afterwards.
	FirstTouch Touch
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// memberRow is a row of members.
type memberRow struct {
	bun.BaseModel `bun:"table:members"`

	ID               string     `bun:"id,pk"`
	OpenID           string     `bun:"openid,notnull"`
	UnionID          string     `bun:"unionid,notnull"`
	Nickname         string     `bun:"nickname,notnull"`
	AvatarURL        string     `bun:"avatar_url,notnull"`
	Phone            string     `bun:"phone,notnull"`
	PhoneCountryCode string     `bun:"phone_country_code,notnull"`
	PhoneBoundAt     *time.Time `bun:"phone_bound_at"`
	FirstScene       int        `bun:"first_scene,notnull"`
	FirstInviterID   string     `bun:"first_inviter_id,notnull"`
	FirstShowID      string     `bun:"first_show_id,notnull"`
	FirstGroupID     string     `bun:"first_group_id,notnull"`
	FirstChannel     string     `bun:"first_channel,notnull"`
	CreatedAt        time.Time  `bun:"created_at,notnull"`
	UpdatedAt        time.Time  `bun:"updated_at,notnull"`
}

func (r *memberRow) member() Member {
	m := Member{
		ID: r.ID, OpenID: r.OpenID, UnionID: r.UnionID,
		Nickname: r.Nickname, AvatarURL: r.AvatarURL,
		Phone: r.Phone, PhoneCountryCode: r.PhoneCountryCode,
		FirstTouch: Touch{
			Scene: r.FirstScene, InviterID: r.FirstInviterID, ShowID: r.FirstShowID,
			GroupID: r.FirstGroupID, Channel: r.FirstChannel, At: r.CreatedAt.UTC(),
		},
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.PhoneBoundAt != nil {
		t := r.PhoneBoundAt.UTC()
		m.PhoneBoundAt = &t
	}
	return m
}

// Get returns the member with the given ID, or ErrMemberNotFound.
func (m *Members) Get(ctx context.Context, id string) (Member, error) {
	row, err := findMember(ctx, m.db, "id", id, false)
	if err != nil {
		return Member{}, err
	}
	return row.member(), nil
}

// ByOpenID returns the member with the given mini-program openid, or
// ErrMemberNotFound.
func (m *Members) ByOpenID(ctx context.Context, openid string) (Member, error) {
	row, err := findMember(ctx, m.db, "openid", openid, false)
	if err != nil {
		return Member{}, err
	}
	return row.member(), nil
}

// GetMany returns the members with the given IDs that exist, keyed by ID.
func (m *Members) GetMany(ctx context.Context, ids []string) (map[string]Member, error) {
	out := make(map[string]Member, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []memberRow
	if err := m.db.NewSelect().Model(&rows).Where("id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("community: get members: %w", err)
	}
	for i := range rows {
		out[rows[i].ID] = rows[i].member()
	}
	return out, nil
}

// findMember loads one member by a unique column, locking the row on
// PostgreSQL when lock is set (inside a transaction).
func findMember(ctx context.Context, db bun.IDB, column, value string, lock bool) (*memberRow, error) {
	row := new(memberRow)
	q := db.NewSelect().Model(row).Where("? = ?", bun.Ident(column), value)
	if lock {
		q = database.ForUpdate(q)
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrMemberNotFound
		}
		return nil, fmt.Errorf("community: find member: %w", err)
	}
	return row, nil
}

// ProfileChange is a change a member makes to their own profile. Nil
// fields are left as they are; nothing else can be changed this way.
type ProfileChange struct {
	Nickname  *string
	AvatarURL *string
}

// Profile limits.
const (
	maxNickname  = 32
	maxAvatarURL = 1024
)

// UpdateProfile changes the member's nickname and avatar.
func (m *Members) UpdateProfile(ctx context.Context, memberID string, ch ProfileChange) (Member, error) {
	set := map[string]string{}
	if ch.Nickname != nil {
		n, err := validNickname(*ch.Nickname)
		if err != nil {
			return Member{}, err
		}
		set["nickname"] = n
	}
	if ch.AvatarURL != nil {
		u, err := validAvatarURL(*ch.AvatarURL)
		if err != nil {
			return Member{}, err
		}
		set["avatar_url"] = u
	}
	var out Member
	err := m.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row, err := findMember(ctx, tx, "id", memberID, true)
		if err != nil {
			return err
		}
		if len(set) > 0 {
			if v, ok := set["nickname"]; ok {
				row.Nickname = v
			}
			if v, ok := set["avatar_url"]; ok {
				row.AvatarURL = v
			}
			row.UpdatedAt = m.now()
			if _, err := tx.NewUpdate().Model(row).Column("nickname", "avatar_url", "updated_at").WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("community: update profile: %w", err)
			}
		}
		out = row.member()
		return nil
	})
	return out, err
}

func validNickname(s string) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n == 0 || n > maxNickname || !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: nickname must be 1 to %d characters", ErrInvalidProfile, maxNickname)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", fmt.Errorf("%w: nickname must not contain control characters", ErrInvalidProfile)
		}
	}
	return s, nil
}

func validAvatarURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		// An empty URL clears the avatar.
		return "", nil
	}
	u, err := url.Parse(s)
	if len(s) > maxAvatarURL || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("%w: avatar_url must be an http(s) URL of at most %d characters", ErrInvalidProfile, maxAvatarURL)
	}
	return u.String(), nil
}

// MaskedPhone returns the member's number with its middle hidden, as apps
// show it ("138****8000"), or "" when no phone is bound.
func (m Member) MaskedPhone() string {
	p := m.Phone
	switch {
	case p == "":
		return ""
	case len(p) >= 11:
		return p[:len(p)-8] + "****" + p[len(p)-4:]
	case len(p) > 4:
		return strings.Repeat("*", len(p)-4) + p[len(p)-4:]
	}
	return strings.Repeat("*", len(p))
}
