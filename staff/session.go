package staff

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

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// Session errors.
var (
	// ErrInvalidCredentials is a wrong name or password; which one is not
	// said.
	ErrInvalidCredentials = errors.New("wrong name or password")
	// ErrLocked is an account locked after too many wrong passwords.
	ErrLocked = errors.New("this account is locked after too many wrong passwords; try again later")
	// ErrSessionNotFound is an unknown or signed-out session.
	ErrSessionNotFound = errors.New("session not found; sign in again")
	// ErrSessionExpired is a session past its expiry.
	ErrSessionExpired = errors.New("session expired; sign in again")
)

// LockedError is ErrLocked with the time the lock ends.
type LockedError struct {
	Until time.Time
	After time.Duration
}

func (e *LockedError) Error() string { return ErrLocked.Error() }

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// RetryAfter is how long until the lock ends.
func (e *LockedError) RetryAfter() time.Duration { return e.After }

// tokenPrefix marks console session tokens.
const tokenPrefix = "sys_"

// Session is a signed-in staff member's session.
type Session struct {
	// Token goes into the console's session cookie.
	Token     string
	ExpiresAt time.Time
	Account   Account
}

// sessionRow is a row of staff_sessions; only the token's SHA-256 is kept.
type sessionRow struct {
	bun.BaseModel `bun:"table:staff_sessions"`

	ID         string    `bun:"id,pk"`
	StaffID    string    `bun:"staff_id,notnull"`
	TokenHash  string    `bun:"token_hash,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
	LastUsedAt time.Time `bun:"last_used_at,notnull"`
	ExpiresAt  time.Time `bun:"expires_at,notnull"`
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// SignIn checks name and password and starts a session. MaxFailures wrong
// passwords in a row lock the account for LockFor; a locked account is
// refused without looking at the password.
func (s *Service) SignIn(ctx context.Context, name, password string) (Session, error) {
	if len(password) > maxPassword {
		return Session{}, ErrInvalidCredentials
	}
	row, err := findAccount(ctx, s.db, "name", strings.ToLower(strings.TrimSpace(name)), false)
	if errors.Is(err, ErrNotFound) {
		s.dummyVerify(password)
		return Session{}, ErrInvalidCredentials
	}
	if err != nil {
		return Session{}, err
	}
	if err := s.locked(row); err != nil {
		return Session{}, err
	}
	// The hash is checked outside any transaction: it takes a while, and a
	// write transaction would hold SQLite's only write lock meanwhile.
	ok, stale, err := s.verify(row.PasswordHash, password)
	if err != nil {
		return Session{}, fmt.Errorf("staff: account %s: %w", row.ID, err)
	}
	if !ok {
		return Session{}, s.failed(ctx, row.ID)
	}
	if row.DisabledAt != nil {
		return Session{}, ErrDisabled
	}
	newHash := ""
	if stale {
		newHash = s.hash(password)
	}
	var out Session
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row, err := findAccount(ctx, tx, "id", row.ID, true)
		if err != nil {
			return err
		}
		// Locked by other attempts, or disabled, while this one was hashing.
		if err := s.locked(row); err != nil {
			return err
		}
		if row.DisabledAt != nil {
			return ErrDisabled
		}
		now := s.now()
		row.FailedLogins, row.LockedUntil, row.UpdatedAt = 0, nil, now
		cols := []string{"failed_logins", "locked_until", "updated_at"}
		if newHash != "" {
			row.PasswordHash = newHash
			cols = append(cols, "password_hash")
		}
		if _, err := tx.NewUpdate().Model(row).Column(cols...).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("staff: sign in: %w", err)
		}
		token, exp, err := s.startSession(ctx, tx, row.ID, now)
		if err != nil {
			return err
		}
		out = Session{Token: token, ExpiresAt: exp, Account: row.account()}
		return Record(ctx, tx, Entry{StaffID: row.ID, Action: "staff.sign_in", ObjectType: "staff", ObjectID: row.ID, At: now})
	})
	if err != nil {
		return Session{}, err
	}
	return out, nil
}

// locked returns a *LockedError while row's lock lasts.
func (s *Service) locked(row *accountRow) error {
	now := s.now()
	if row.LockedUntil != nil && now.Before(*row.LockedUntil) {
		return &LockedError{Until: row.LockedUntil.UTC(), After: row.LockedUntil.Sub(now)}
	}
	return nil
}

// failed counts a wrong password and locks the account at MaxFailures.
func (s *Service) failed(ctx context.Context, id string) error {
	result := ErrInvalidCredentials
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row, err := findAccount(ctx, tx, "id", id, true)
		if err != nil {
			return err
		}
		if err := s.locked(row); err != nil {
			result = err
			return nil
		}
		now := s.now()
		row.FailedLogins++
		row.UpdatedAt = now
		if row.FailedLogins >= s.cfg.MaxFailures {
			until := now.Add(s.cfg.LockFor)
			row.FailedLogins, row.LockedUntil = 0, &until
			result = &LockedError{Until: until, After: s.cfg.LockFor}
			if err := Record(ctx, tx, Entry{StaffID: "", Action: "staff.lock", ObjectType: "staff", ObjectID: row.ID,
				Detail: map[string]any{"failures": s.cfg.MaxFailures, "until": until}, At: now}); err != nil {
				return err
			}
		}
		_, err = tx.NewUpdate().Model(row).Column("failed_logins", "locked_until", "updated_at").WherePK().Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("staff: count failed sign-in: %w", err)
	}
	return result
}

func (s *Service) startSession(ctx context.Context, tx bun.Tx, staffID string, now time.Time) (string, time.Time, error) {
	if _, err := tx.NewDelete().Model((*sessionRow)(nil)).
		Where("staff_id = ?", staffID).Where("expires_at <= ?", now).Exec(ctx); err != nil {
		return "", time.Time{}, fmt.Errorf("staff: drop expired sessions: %w", err)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	row := sessionRow{ID: uuid.Must(uuid.NewV7()).String(), StaffID: staffID, TokenHash: hashToken(token),
		CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
		return "", time.Time{}, fmt.Errorf("staff: start session: %w", err)
	}
	return token, row.ExpiresAt, nil
}

// Authenticate returns the account a session token belongs to and extends
// the session (at most once per SessionTouch, never past SessionMaxAge).
func (s *Service) Authenticate(ctx context.Context, token string) (Account, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 128 {
		return Account{}, ErrSessionNotFound
	}
	row := new(sessionRow)
	err := s.db.NewSelect().Model(row).Where("token_hash = ?", hashToken(token)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, ErrSessionNotFound
	}
	if err != nil {
		return Account{}, fmt.Errorf("staff: authenticate: %w", err)
	}
	now := s.now()
	limit := row.CreatedAt.Add(s.cfg.SessionMaxAge)
	if !now.Before(row.ExpiresAt) || !now.Before(limit) {
		if _, err := s.db.NewDelete().Model(row).WherePK().Exec(ctx); err != nil {
			s.cfg.Logger.Warn("staff: could not delete an expired session", "err", err)
		}
		return Account{}, ErrSessionExpired
	}
	acct, err := s.Get(ctx, row.StaffID)
	if errors.Is(err, ErrNotFound) {
		return Account{}, ErrSessionNotFound
	}
	if err != nil {
		return Account{}, err
	}
	// Disabling deletes the sessions; this covers one that raced it.
	if acct.DisabledAt != nil {
		return Account{}, ErrSessionNotFound
	}
	if now.Sub(row.LastUsedAt) >= s.cfg.SessionTouch {
		exp := now.Add(s.cfg.SessionTTL)
		if exp.After(limit) {
			exp = limit
		}
		if _, err := s.db.NewUpdate().Model((*sessionRow)(nil)).
			Set("last_used_at = ?", now).Set("expires_at = ?", exp).
			Where("id = ?", row.ID).Exec(ctx); err != nil {
			return Account{}, fmt.Errorf("staff: extend session: %w", err)
		}
	}
	return acct, nil
}

// SignOut ends the session of token and records it.
func (s *Service) SignOut(ctx context.Context, token string) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row := new(sessionRow)
		err := tx.NewSelect().Model(row).Where("token_hash = ?", hashToken(token)).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrSessionNotFound
		}
		if err != nil {
			return fmt.Errorf("staff: sign out: %w", err)
		}
		if _, err := tx.NewDelete().Model(row).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("staff: sign out: %w", err)
		}
		return Record(ctx, tx, Entry{StaffID: row.StaffID, Action: "staff.sign_out", ObjectType: "staff", ObjectID: row.StaffID, At: s.now()})
	})
}

// PruneSessions deletes the sessions that have expired: a session ends
// when it expires, and the next sign-in of the same account only drops
// that account's. It returns how many went.
func (s *Service) PruneSessions(ctx context.Context) (int64, error) {
	return database.DeleteInBatches(ctx, s.db, "staff_sessions", "id", "expires_at <= ?", s.now())
}
