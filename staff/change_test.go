package staff_test

import (
	"errors"
	"testing"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/staff"
	"github.com/siyu-live/siyu/testsupport"
)

func ptr[T any](v T) *T { return &v }

// TestUpdate walks the rules of changing an account: who may change whom,
// the last owner, and what disabling and a new password do to sessions.
func TestUpdate(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := t.Context()
		s := newService(t, db, newClock(), cheap)
		mk := func(name, role string) staff.Account {
			t.Helper()
			a, err := s.Create(ctx, "", staff.NewAccount{Name: name, Role: role, Password: password})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		owner, admin, host := mk("owner", staff.RoleOwner), mk("admin", staff.RoleAdmin), mk("host", staff.RoleHost)
		asst := mk("asst", staff.RoleAssistant)

		cases := []struct {
			name    string
			actor   string
			target  string
			change  staff.Change
			wantErr error
		}{
			{"nothing to change", admin.ID, host.ID, staff.Change{}, staff.ErrNoChange},
			{"unknown role", admin.ID, host.ID, staff.Change{Role: ptr("boss")}, staff.ErrInvalidRole},
			{"short password", admin.ID, host.ID, staff.Change{Password: ptr("short")}, staff.ErrWeakPassword},
			{"unknown account", admin.ID, "nope", staff.Change{Unlock: true}, staff.ErrNotFound},
			{"oneself", admin.ID, admin.ID, staff.Change{Disabled: ptr(true)}, staff.ErrSelfChange},
			{"an admin may not change an owner", admin.ID, owner.ID, staff.Change{Unlock: true}, staff.ErrForbidden},
			{"an admin may not appoint an admin", admin.ID, host.ID, staff.Change{Role: ptr(staff.RoleAdmin)}, staff.ErrForbidden},
			{"the last owner stays an owner", "", owner.ID, staff.Change{Role: ptr(staff.RoleAdmin)}, staff.ErrLastOwner},
			{"the last owner stays enabled", "", owner.ID, staff.Change{Disabled: ptr(true)}, staff.ErrLastOwner},
			{"an admin changes a host's role", admin.ID, host.ID, staff.Change{Role: ptr(staff.RoleAssistant)}, nil},
			{"an owner appoints an admin", owner.ID, asst.ID, staff.Change{Role: ptr(staff.RoleAdmin)}, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.Update(ctx, c.actor, c.target, c.change)
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
			})
		}
		if a, _ := s.Get(ctx, host.ID); a.Role != staff.RoleAssistant {
			t.Fatalf("host's role = %s", a.Role)
		}

		t.Run("disabling ends the sessions and refuses sign-in; enabling allows it again", func(t *testing.T) {
			sess, err := s.SignIn(ctx, "host", password)
			if err != nil {
				t.Fatal(err)
			}
			a, err := s.Update(ctx, admin.ID, host.ID, staff.Change{Disabled: ptr(true)})
			if err != nil || a.DisabledAt == nil {
				t.Fatalf("disable = %+v, %v", a, err)
			}
			if _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, staff.ErrSessionNotFound) {
				t.Fatalf("session after disabling: %v", err)
			}
			if _, err := s.SignIn(ctx, "host", password); !errors.Is(err, staff.ErrDisabled) {
				t.Fatalf("sign-in while disabled: %v", err)
			}
			if _, err := s.SignIn(ctx, "host", "a wrong password!"); !errors.Is(err, staff.ErrInvalidCredentials) {
				t.Fatalf("a wrong password while disabled: %v", err)
			}
			if _, err := s.Update(ctx, admin.ID, host.ID, staff.Change{Disabled: ptr(false)}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SignIn(ctx, "host", password); err != nil {
				t.Fatalf("sign-in after enabling: %v", err)
			}
		})

		t.Run("a new password ends the sessions and lifts the lock", func(t *testing.T) {
			sess, err := s.SignIn(ctx, "host", password)
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				_, _ = s.SignIn(ctx, "host", "a wrong password!")
			}
			if _, err := s.SignIn(ctx, "host", password); !errors.Is(err, staff.ErrLocked) {
				t.Fatalf("after five wrong passwords: %v", err)
			}
			const fresh = "a brand new password"
			if _, err := s.Update(ctx, admin.ID, host.ID, staff.Change{Password: ptr(fresh)}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, staff.ErrSessionNotFound) {
				t.Fatalf("old session after a new password: %v", err)
			}
			if _, err := s.SignIn(ctx, "host", password); !errors.Is(err, staff.ErrInvalidCredentials) {
				t.Fatalf("the old password: %v", err)
			}
			if _, err := s.SignIn(ctx, "host", fresh); err != nil {
				t.Fatalf("the new password: %v", err)
			}
		})

		t.Run("unlock", func(t *testing.T) {
			for range 5 {
				_, _ = s.SignIn(ctx, "host", "a wrong password!")
			}
			a, err := s.Update(ctx, admin.ID, host.ID, staff.Change{Unlock: true})
			if err != nil || a.LockedUntil != nil {
				t.Fatalf("unlock = %+v, %v", a, err)
			}
			if _, err := s.SignIn(ctx, "host", "a brand new password"); err != nil {
				t.Fatalf("after unlock: %v", err)
			}
		})

		t.Run("with a second owner, the first may be disabled", func(t *testing.T) {
			second := mk("owner2", staff.RoleOwner)
			if _, err := s.Update(ctx, second.ID, owner.ID, staff.Change{Disabled: ptr(true)}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Update(ctx, "", second.ID, staff.Change{Disabled: ptr(true)}); !errors.Is(err, staff.ErrLastOwner) {
				t.Fatalf("disabling the now last owner: %v", err)
			}
		})

		e, err := s.Audit(ctx, staff.AuditQuery{ObjectID: host.ID, Action: "staff.update"})
		if err != nil || len(e) != 5 {
			t.Fatalf("audit of host's updates = %d entries, %v", len(e), err)
		}
	})
}
