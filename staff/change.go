package staff

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// Errors of Update (and of signing in to a disabled account).
var (
	// ErrSelfChange is a staff member changing their own account: another
	// manager (or the command line) does it, so nobody locks themselves
	// out by a slip.
	ErrSelfChange = errors.New("you cannot change your own account here; ask another owner or admin")
	// ErrLastOwner keeps one enabled owner.
	ErrLastOwner = errors.New("the last enabled owner cannot be disabled or given another role")
	// ErrNoChange is an Update that changes nothing.
	ErrNoChange = errors.New("nothing to change: give role, disabled, password or unlock")
	// ErrDisabled is signing in to a disabled account (with its right
	// password; a wrong one is ErrInvalidCredentials as ever).
	ErrDisabled = errors.New("this staff account is disabled")
)

// Change is what Update changes of an account; nil fields stay as they are.
type Change struct {
	Role     *string
	Disabled *bool
	Password *string
	// Unlock lifts a lock left by wrong passwords.
	Unlock bool
}

func (c Change) empty() bool {
	return c.Role == nil && c.Disabled == nil && c.Password == nil && !c.Unlock
}

// Update changes the account id for actorID, or for the command line when
// actorID is "" (it may change anything, and is how a sole owner who lost
// their password gets back in). Only owners change owners' and admins'
// accounts or give those roles; nobody changes their own account here; the
// last enabled owner stays an enabled owner. Disabling the account or
// setting its password ends every session of it; a new password also
// lifts a lock. Each update is one entry in the audit log.
func (s *Service) Update(ctx context.Context, actorID, id string, c Change) (Account, error) {
	if c.empty() {
		return Account{}, ErrNoChange
	}
	if c.Role != nil && !slices.Contains(Roles(), *c.Role) {
		return Account{}, ErrInvalidRole
	}
	hash := ""
	if c.Password != nil {
		if len(*c.Password) < minPassword || len(*c.Password) > maxPassword {
			return Account{}, ErrWeakPassword
		}
		// Hashed before the transaction: it takes a while.
		hash = s.hash(*c.Password)
	}
	var out Account
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Every enabled owner is locked first, so two owners disabling each
		// other at once cannot both pass the last-owner check.
		var owners []string
		if err := database.ForUpdate(tx.NewSelect().Model((*accountRow)(nil)).Column("id").
			Where("role = ? AND disabled_at IS NULL", RoleOwner)).Scan(ctx, &owners); err != nil {
			return fmt.Errorf("staff: read owners: %w", err)
		}
		row, err := findAccount(ctx, tx, "id", id, true)
		if err != nil {
			return err
		}
		if err := s.mayUpdate(ctx, tx, actorID, row, c, owners); err != nil {
			return err
		}
		now := s.now()
		detail := map[string]any{}
		cols := []string{"updated_at"}
		if c.Role != nil && *c.Role != row.Role {
			detail["role"] = map[string]string{"from": row.Role, "to": *c.Role}
			row.Role = *c.Role
			cols = append(cols, "role")
		}
		endSessions := false
		if c.Disabled != nil && *c.Disabled != (row.DisabledAt != nil) {
			detail["disabled"] = *c.Disabled
			row.DisabledAt = nil
			if *c.Disabled {
				row.DisabledAt = &now
				endSessions = true
			}
			cols = append(cols, "disabled_at")
		}
		if hash != "" {
			detail["password_set"] = true
			row.PasswordHash = hash
			cols = append(cols, "password_hash")
			endSessions = true
		}
		if c.Unlock || hash != "" {
			if row.LockedUntil != nil || row.FailedLogins > 0 {
				detail["unlocked"] = true
			}
			row.LockedUntil, row.FailedLogins = nil, 0
			cols = append(cols, "locked_until", "failed_logins")
		}
		row.UpdatedAt = now
		if _, err := tx.NewUpdate().Model(row).Column(cols...).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("staff: update account: %w", err)
		}
		if endSessions {
			if _, err := tx.NewDelete().Model((*sessionRow)(nil)).Where("staff_id = ?", row.ID).Exec(ctx); err != nil {
				return fmt.Errorf("staff: end sessions: %w", err)
			}
		}
		out = row.account()
		return Record(ctx, tx, Entry{StaffID: actorID, Action: "staff.update", ObjectType: "staff", ObjectID: row.ID, Detail: detail, At: now})
	})
	if err != nil {
		return Account{}, err
	}
	return out, nil
}

// mayUpdate applies Update's rules; owners are the enabled owners' ids.
func (s *Service) mayUpdate(ctx context.Context, tx bun.Tx, actorID string, row *accountRow, c Change, owners []string) error {
	if actorID != "" {
		if actorID == row.ID {
			return ErrSelfChange
		}
		actor, err := findAccount(ctx, tx, "id", actorID, false)
		if err != nil {
			return err
		}
		high := func(role string) bool { return role == RoleOwner || role == RoleAdmin }
		if actor.Role != RoleOwner && (high(row.Role) || (c.Role != nil && high(*c.Role))) {
			return ErrForbidden
		}
	}
	lastOwner := len(owners) == 1 && owners[0] == row.ID
	if lastOwner && ((c.Disabled != nil && *c.Disabled) || (c.Role != nil && *c.Role != RoleOwner)) {
		return ErrLastOwner
	}
	return nil
}
