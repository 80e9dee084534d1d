package staff_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/staff"
	"github.com/siyu-live/siyu/testsupport"
)

// cheap are argon2id parameters small enough for tests.
var cheap = staff.Params{Memory: 1024, Time: 1, Threads: 1, SaltLength: 16, KeyLength: 32}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newService(t *testing.T, db *bun.DB, clk *clock, params staff.Params) *staff.Service {
	t.Helper()
	s, err := staff.New(staff.Config{DB: db, Now: clk.Now, Hashing: params})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)} }

const password = "correct horse battery"

func TestCreate(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := t.Context()
		s := newService(t, db, newClock(), cheap)
		owner, err := s.Create(ctx, "", staff.NewAccount{Name: " Owner ", Role: staff.RoleOwner, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		if owner.Name != "owner" {
			t.Fatalf("name = %q, want it trimmed and lower case", owner.Name)
		}
		admin, err := s.Create(ctx, owner.ID, staff.NewAccount{Name: "admin", Role: staff.RoleAdmin, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			actor string
			in    staff.NewAccount
			want  error
		}{
			{"duplicate name in other case", "", staff.NewAccount{Name: "OWNER", Role: staff.RoleHost, Password: password}, staff.ErrNameTaken},
			{"name with a space", "", staff.NewAccount{Name: "li si", Role: staff.RoleHost, Password: password}, staff.ErrInvalidName},
			{"name too short", "", staff.NewAccount{Name: "x", Role: staff.RoleHost, Password: password}, staff.ErrInvalidName},
			{"unknown role", "", staff.NewAccount{Name: "zhang", Role: "root", Password: password}, staff.ErrInvalidRole},
			{"short password", "", staff.NewAccount{Name: "zhang", Role: staff.RoleHost, Password: "short"}, staff.ErrWeakPassword},
			{"admin creates owner", admin.ID, staff.NewAccount{Name: "boss", Role: staff.RoleOwner, Password: password}, staff.ErrForbidden},
			{"admin creates admin", admin.ID, staff.NewAccount{Name: "boss", Role: staff.RoleAdmin, Password: password}, staff.ErrForbidden},
			{"admin creates host", admin.ID, staff.NewAccount{Name: "主播小王", Role: staff.RoleHost, Password: password}, nil},
			{"unknown actor", "nobody", staff.NewAccount{Name: "zhang", Role: staff.RoleHost, Password: password}, staff.ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.Create(ctx, tc.actor, tc.in)
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			})
		}
		entries, err := s.Audit(ctx, staff.AuditQuery{Action: "staff.create"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 3 || entries[0].StaffName != "admin" || entries[2].StaffID != "" {
			t.Fatalf("audit of creations = %+v", entries)
		}
		var d map[string]string
		if err := json.Unmarshal(entries[2].Detail, &d); err != nil || d["role"] != staff.RoleOwner {
			t.Fatalf("detail = %s", entries[2].Detail)
		}
	})
}

func TestPasswordHash(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := t.Context()
		// The production parameters, once.
		s := newService(t, db, newClock(), staff.Params{})
		if _, err := s.Create(ctx, "", staff.NewAccount{Name: "owner", Role: staff.RoleOwner, Password: password}); err != nil {
			t.Fatal(err)
		}
		hash := storedHash(t, db, "owner")
		if !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=3,p=2$") || strings.Contains(hash, password) {
			t.Fatalf("stored hash %q is not argon2id with the default parameters", hash)
		}
		if _, err := s.SignIn(ctx, "owner", password); err != nil {
			t.Fatalf("sign in: %v", err)
		}
		// Other parameters: the next sign-in hashes the password again.
		cheapSvc := newService(t, db, newClock(), cheap)
		if _, err := cheapSvc.SignIn(ctx, "owner", password); err != nil {
			t.Fatal(err)
		}
		if h := storedHash(t, db, "owner"); !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
			t.Fatalf("hash not redone with the new parameters: %q", h)
		}
		if _, err := cheapSvc.SignIn(ctx, "owner", password+"x"); !errors.Is(err, staff.ErrInvalidCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
	})
}

func storedHash(t *testing.T, db *bun.DB, name string) string {
	t.Helper()
	var h string
	if err := db.NewSelect().Table("staff_accounts").Column("password_hash").Where("name = ?", name).Scan(context.Background(), &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestLockout(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := t.Context()
		clk := newClock()
		s := newService(t, db, clk, cheap)
		if _, err := s.Create(ctx, "", staff.NewAccount{Name: "host", Role: staff.RoleHost, Password: password}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SignIn(ctx, "nobody", password); !errors.Is(err, staff.ErrInvalidCredentials) {
			t.Fatalf("unknown name: %v", err)
		}
		// Failures below the limit, then a success, reset the count.
		for range 4 {
			if _, err := s.SignIn(ctx, "host", "wrong password!"); !errors.Is(err, staff.ErrInvalidCredentials) {
				t.Fatalf("wrong password: %v", err)
			}
		}
		if _, err := s.SignIn(ctx, "host", password); err != nil {
			t.Fatalf("after 4 failures: %v", err)
		}
		for i := range 5 {
			_, err := s.SignIn(ctx, "host", "wrong password!")
			want := staff.ErrInvalidCredentials
			if i == 4 {
				want = staff.ErrLocked
			}
			if !errors.Is(err, want) {
				t.Fatalf("failure %d: %v, want %v", i+1, err, want)
			}
		}
		_, err := s.SignIn(ctx, "host", password)
		var locked *staff.LockedError
		if !errors.As(err, &locked) || locked.RetryAfter() != 15*time.Minute {
			t.Fatalf("right password while locked: %v", err)
		}
		clk.Advance(14 * time.Minute)
		if _, err := s.SignIn(ctx, "host", password); !errors.Is(err, staff.ErrLocked) {
			t.Fatalf("after 14 minutes: %v", err)
		}
		clk.Advance(time.Minute)
		if _, err := s.SignIn(ctx, "host", password); err != nil {
			t.Fatalf("after the lock: %v", err)
		}
		if e, err := s.Audit(ctx, staff.AuditQuery{Action: "staff.lock"}); err != nil || len(e) != 1 {
			t.Fatalf("lock audit = %v, %v", e, err)
		}
	})
}

func TestStaffSessions(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := t.Context()
		clk := newClock()
		s := newService(t, db, clk, cheap)
		acct, err := s.Create(ctx, "", staff.NewAccount{Name: "assistant", Role: staff.RoleAssistant, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		sess, err := s.SignIn(ctx, "Assistant", password)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sess.Token, "sys_") || !sess.ExpiresAt.Equal(clk.Now().Add(12*time.Hour)) {
			t.Fatalf("session = %+v", sess)
		}
		if a, err := s.Authenticate(ctx, sess.Token); err != nil || a.ID != acct.ID || a.Role != staff.RoleAssistant {
			t.Fatalf("authenticate = %+v, %v", a, err)
		}
		// Use keeps the session alive past its first expiry...
		for range 3 {
			clk.Advance(11 * time.Hour)
			if _, err := s.Authenticate(ctx, sess.Token); err != nil {
				t.Fatalf("in use: %v", err)
			}
		}
		// ...but not after 12 idle hours.
		clk.Advance(12 * time.Hour)
		if _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, staff.ErrSessionExpired) {
			t.Fatalf("idle: %v", err)
		}
		if _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, staff.ErrSessionNotFound) {
			t.Fatalf("an expired session is deleted: %v", err)
		}

		// Nor past the maximum age.
		sess, err = s.SignIn(ctx, "assistant", password)
		if err != nil {
			t.Fatal(err)
		}
		for range 15 {
			clk.Advance(11 * time.Hour)
			if _, err := s.Authenticate(ctx, sess.Token); err != nil {
				t.Fatalf("in use: %v", err)
			}
		}
		clk.Advance(11 * time.Hour) // 176 hours: past the 7 days
		if _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, staff.ErrSessionExpired) {
			t.Fatalf("past max age: %v", err)
		}

		sess, err = s.SignIn(ctx, "assistant", password)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SignOut(ctx, sess.Token); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, staff.ErrSessionNotFound) {
			t.Fatalf("after sign-out: %v", err)
		}
		if err := s.SignOut(ctx, sess.Token); !errors.Is(err, staff.ErrSessionNotFound) {
			t.Fatalf("second sign-out: %v", err)
		}
		for _, bad := range []string{"", "sys_unknown", "sym_" + sess.Token, strings.Repeat("a", 500)} {
			if _, err := s.Authenticate(ctx, bad); !errors.Is(err, staff.ErrSessionNotFound) {
				t.Fatalf("token %.20q: %v", bad, err)
			}
		}
		if e, err := s.Audit(ctx, staff.AuditQuery{StaffID: acct.ID, Action: "staff.sign_out"}); err != nil || len(e) != 1 || e[0].ObjectID != acct.ID {
			t.Fatalf("sign-out audit = %+v, %v", e, err)
		}
	})
}

func TestAuditLog(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := t.Context()
		s := newService(t, db, newClock(), cheap)
		owner, err := s.Create(ctx, "", staff.NewAccount{Name: "owner", Role: staff.RoleOwner, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		if err := staff.Record(ctx, db, staff.Entry{StaffID: owner.ID, Action: "show.start"}); !errors.Is(err, staff.ErrInvalidEntry) {
			t.Fatalf("entry without object: %v", err)
		}
		if err := staff.Record(ctx, db, staff.Entry{StaffID: owner.ID, Action: "x", ObjectType: "y", ObjectID: "z", Detail: func() {}}); err == nil {
			t.Fatal("a detail that is not JSON was accepted")
		}
		// Entries written in a rolled-back transaction are gone with it.
		sentinel := errors.New("roll back")
		err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := staff.Record(ctx, tx, staff.Entry{StaffID: owner.ID, Action: "show.start", ObjectType: "show", ObjectID: "rolled-back"}); err != nil {
				return err
			}
			return sentinel
		})
		if !errors.Is(err, sentinel) {
			t.Fatal(err)
		}
		for i := range 5 {
			if err := staff.Record(ctx, db, staff.Entry{StaffID: owner.ID, Action: "show.start", ObjectType: "show", ObjectID: "s" + string(rune('1'+i)),
				Detail: map[string]int{"n": i}}); err != nil {
				t.Fatal(err)
			}
		}
		page, err := s.Audit(ctx, staff.AuditQuery{ObjectType: "show", Limit: 3})
		if err != nil || len(page) != 3 || page[0].ObjectID != "s5" || page[0].StaffName != "owner" {
			t.Fatalf("first page = %+v, %v", page, err)
		}
		next, err := s.Audit(ctx, staff.AuditQuery{ObjectType: "show", Limit: 3, Before: page[2].ID})
		if err != nil || len(next) != 2 || next[1].ObjectID != "s1" {
			t.Fatalf("second page = %+v, %v", next, err)
		}
		one, err := s.Audit(ctx, staff.AuditQuery{ObjectType: "show", ObjectID: "s2"})
		if err != nil || len(one) != 1 || string(one[0].Detail) != `{"n":1}` {
			t.Fatalf("by object = %+v, %v", one, err)
		}
		if none, err := s.Audit(ctx, staff.AuditQuery{ObjectID: "rolled-back"}); err != nil || len(none) != 0 {
			t.Fatalf("rolled-back entry = %+v, %v", none, err)
		}
	})
}

// TestPruneSessions deletes expired sessions of every account and keeps
// the live ones.
func TestPruneSessions(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := t.Context()
		clk := newClock()
		s := newService(t, db, clk, cheap)
		for _, name := range []string{"anna", "bo"} {
			if _, err := s.Create(ctx, "", staff.NewAccount{Name: name, Role: staff.RoleAssistant, Password: password}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.SignIn(ctx, "anna", password); err != nil {
			t.Fatal(err)
		}
		clk.Advance(13 * time.Hour) // anna's session has expired
		live, err := s.SignIn(ctx, "bo", password)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []int64{1, 0} {
			n, err := s.PruneSessions(ctx)
			if err != nil || n != want {
				t.Fatalf("pruned %d, %v; want %d", n, err, want)
			}
		}
		if _, err := s.Authenticate(ctx, live.Token); err != nil {
			t.Fatalf("the live session was pruned: %v", err)
		}
	})
}
