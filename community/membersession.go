package community

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// tokenPrefix marks shopper session tokens, so secret scanners and people
// can tell them apart from other credentials.
const tokenPrefix = "sym_"

// sessionRow is a row of member_sessions. Only the token's SHA-256 is
// stored: the token itself is a 256-bit random value, so a fast hash is
// enough and a copy of the table grants nothing.
type sessionRow struct {
	bun.BaseModel `bun:"table:member_sessions"`

	ID         string    `bun:"id,pk"`
	MemberID   string    `bun:"member_id,notnull"`
	TokenHash  string    `bun:"token_hash,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
	LastUsedAt time.Time `bun:"last_used_at,notnull"`
	ExpiresAt  time.Time `bun:"expires_at,notnull"`
}

// newToken returns a fresh session token and its hash.
func newToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// startSession stores a new session for memberID through db (the login's
// transaction) and drops the member's expired ones.
func (m *Members) startSession(ctx context.Context, db bun.IDB, memberID string, now time.Time) (string, time.Time, error) {
	if _, err := db.NewDelete().Model((*sessionRow)(nil)).
		Where("member_id = ?", memberID).Where("expires_at <= ?", now).Exec(ctx); err != nil {
		return "", time.Time{}, fmt.Errorf("community: drop expired sessions: %w", err)
	}
	token, hash := newToken()
	row := sessionRow{ID: newID(), MemberID: memberID, TokenHash: hash, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(m.ttl)}
	if _, err := db.NewInsert().Model(&row).Exec(ctx); err != nil {
		return "", time.Time{}, fmt.Errorf("community: start session: %w", err)
	}
	return token, row.ExpiresAt, nil
}

// Authenticate returns the member a session token belongs to and extends
// the session (at most once per SessionTouch, and never past
// SessionMaxAge). An unknown or revoked token is ErrSessionNotFound, an
// expired one ErrSessionExpired.
func (m *Members) Authenticate(ctx context.Context, token string) (string, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 128 {
		return "", ErrSessionNotFound
	}
	row := new(sessionRow)
	err := m.db.NewSelect().Model(row).Where("token_hash = ?", hashToken(token)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrSessionNotFound
	}
	if err != nil {
		return "", fmt.Errorf("community: authenticate: %w", err)
	}
	now := m.now()
	limit := row.CreatedAt.Add(m.maxAge)
	if !now.Before(row.ExpiresAt) || !now.Before(limit) {
		if _, err := m.db.NewDelete().Model(row).WherePK().Exec(ctx); err != nil {
			m.log.Warn("community: could not delete an expired session", "err", err)
		}
		return "", ErrSessionExpired
	}
	if now.Sub(row.LastUsedAt) >= m.touch {
		exp := now.Add(m.ttl)
		if exp.After(limit) {
			exp = limit
		}
		if _, err := m.db.NewUpdate().Model((*sessionRow)(nil)).
			Set("last_used_at = ?", now).Set("expires_at = ?", exp).
			Where("id = ?", row.ID).Exec(ctx); err != nil {
			return "", fmt.Errorf("community: extend session: %w", err)
		}
	}
	return row.MemberID, nil
}

// Logout revokes the session of token. Revoking an unknown token is
// ErrSessionNotFound.
func (m *Members) Logout(ctx context.Context, token string) error {
	res, err := m.db.NewDelete().Model((*sessionRow)(nil)).Where("token_hash = ?", hashToken(token)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("community: logout: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrSessionNotFound
	}
	return nil
}

// PruneSessions deletes the shopper sessions that have expired (a login
// only drops the expired sessions of its own member). It returns how many
// went.
func (m *Members) PruneSessions(ctx context.Context) (int64, error) {
	return database.DeleteInBatches(ctx, m.db, "member_sessions", "id", "expires_at <= ?", m.now())
}
