package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// The staff roles.
const (
	RoleOwner            = "owner"
	RoleAdmin            = "admin"
	RoleHost             = "host"
	RoleAssistant        = "assistant"
	RoleCommunityManager = "community_manager"
	RoleService          = "service"
)

// Roles returns every role, most powerful first.
func Roles() []string {
	return []string{RoleOwner, RoleAdmin, RoleHost, RoleAssistant, RoleCommunityManager, RoleService}
}

// Account errors.
var (
	ErrNotFound     = errors.New("staff account not found")
	ErrNameTaken    = errors.New("a staff account with this name exists")
	ErrInvalidName  = errors.New("a staff name is 2 to 64 letters, digits or . _ - @, without spaces")
	ErrInvalidRole  = errors.New("unknown role; use owner, admin, host, assistant, community_manager or service")
	ErrWeakPassword = errors.New("a password is 12 to 1024 characters")
	// ErrForbidden is an actor creating or changing an account above their
	// station: only owners create, change or appoint owners and admins.
	ErrForbidden = errors.New("your role may not create or change an account with this role")
)

// Password length limits, in bytes.
const (
	minPassword = 12
	maxPassword = 1024
)

// Account is a staff member's account.
type Account struct {
	ID          string
	Name        string
	Role        string
	LockedUntil *time.Time
	// DisabledAt is set while the account is disabled.
	DisabledAt *time.Time
	CreatedAt  time.Time
}

// accountRow is a row of staff_accounts.
type accountRow struct {
	bun.BaseModel `bun:"table:staff_accounts"`

	ID           string     `bun:"id,pk"`
	Name         string     `bun:"name,notnull"`
	Role         string     `bun:"role,notnull"`
	PasswordHash string     `bun:"password_hash,notnull"`
	FailedLogins int        `bun:"failed_logins,notnull"`
	LockedUntil  *time.Time `bun:"locked_until"`
	DisabledAt   *time.Time `bun:"disabled_at"`
	CreatedAt    time.Time  `bun:"created_at,notnull"`
	UpdatedAt    time.Time  `bun:"updated_at,notnull"`
}

func (r *accountRow) account() Account {
	a := Account{ID: r.ID, Name: r.Name, Role: r.Role, CreatedAt: r.CreatedAt.UTC()}
	if r.LockedUntil != nil {
		t := r.LockedUntil.UTC()
		a.LockedUntil = &t
	}
	if r.DisabledAt != nil {
		t := r.DisabledAt.UTC()
		a.DisabledAt = &t
	}
	return a
}

// Config configures the Service.
type Config struct {
	DB *bun.DB
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// Hashing are the argon2id parameters for new hashes (DefaultParams).
	// Hashes made with other parameters are redone at the next sign-in.
	Hashing Params
	// HashConcurrency bounds how many hashes run at once, and so the memory
	// they take (2 × Hashing.Memory).
	HashConcurrency int
	// SessionTTL is how long a console session lives after its last use
	// (12 hours); SessionMaxAge bounds it from sign-in (7 days);
	// SessionTouch is how often use extends it (1 minute).
	SessionTTL    time.Duration
	SessionMaxAge time.Duration
	SessionTouch  time.Duration
	// MaxFailures wrong passwords in a row lock the account for LockFor
	// (5 and 15 minutes).
	MaxFailures int
	LockFor     time.Duration
	Logger      *slog.Logger
}

// Service manages staff accounts, console sessions and the audit log. It
// is safe for concurrent use.
type Service struct {
	cfg   Config
	db    *bun.DB
	now   func() time.Time
	slots chan struct{}

	dummyOnce sync.Once
	dummy     string
}

// New returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil {
		return nil, errors.New("staff: Config.DB is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Hashing == (Params{}) {
		cfg.Hashing = DefaultParams()
	}
	if cfg.HashConcurrency <= 0 {
		cfg.HashConcurrency = 2
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.SessionMaxAge <= 0 {
		cfg.SessionMaxAge = 7 * 24 * time.Hour
	}
	if cfg.SessionTouch <= 0 {
		cfg.SessionTouch = time.Minute
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.LockFor <= 0 {
		cfg.LockFor = 15 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	return &Service{
		cfg:   cfg,
		db:    cfg.DB,
		now:   func() time.Time { return now().UTC() },
		slots: make(chan struct{}, cfg.HashConcurrency),
	}, nil
}

// NewAccount is an account to create.
type NewAccount struct {
	Name     string
	Role     string
	Password string
}

// Create creates an account. actorID is the staff member doing it, or ""
// for the command line (siyu staff create), which may create any role.
func (s *Service) Create(ctx context.Context, actorID string, in NewAccount) (Account, error) {
	name, err := normalName(in.Name)
	if err != nil {
		return Account{}, err
	}
	if !slices.Contains(Roles(), in.Role) {
		return Account{}, ErrInvalidRole
	}
	if len(in.Password) < minPassword || len(in.Password) > maxPassword {
		return Account{}, ErrWeakPassword
	}
	if actorID != "" {
		actor, err := s.Get(ctx, actorID)
		if err != nil {
			return Account{}, err
		}
		if actor.Role != RoleOwner && (in.Role == RoleOwner || in.Role == RoleAdmin) {
			return Account{}, ErrForbidden
		}
	}
	hash := s.hash(in.Password)
	now := s.now()
	row := &accountRow{ID: uuid.Must(uuid.NewV7()).String(), Name: name, Role: in.Role, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(row).On("CONFLICT (name) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("staff: create account: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return ErrNameTaken
		}
		return Record(ctx, tx, Entry{StaffID: actorID, Action: "staff.create", ObjectType: "staff", ObjectID: row.ID,
			Detail: map[string]string{"name": name, "role": in.Role}, At: now})
	})
	if err != nil {
		return Account{}, err
	}
	return row.account(), nil
}

// Get returns the account with the given ID, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (Account, error) {
	row, err := findAccount(ctx, s.db, "id", id, false)
	if err != nil {
		return Account{}, err
	}
	return row.account(), nil
}

// ByName returns the account with the given sign-in name, or ErrNotFound.
func (s *Service) ByName(ctx context.Context, name string) (Account, error) {
	row, err := findAccount(ctx, s.db, "name", strings.ToLower(strings.TrimSpace(name)), false)
	if err != nil {
		return Account{}, err
	}
	return row.account(), nil
}

// List returns every account, by name.
func (s *Service) List(ctx context.Context) ([]Account, error) {
	var rows []accountRow
	if err := s.db.NewSelect().Model(&rows).Order("name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("staff: list accounts: %w", err)
	}
	out := make([]Account, len(rows))
	for i := range rows {
		out[i] = rows[i].account()
	}
	return out, nil
}

func findAccount(ctx context.Context, db bun.IDB, column, value string, lock bool) (*accountRow, error) {
	row := new(accountRow)
	q := db.NewSelect().Model(row).Where("? = ?", bun.Ident(column), value)
	if lock {
		q = database.ForUpdate(q)
	}
	if err := q.Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("staff: find account: %w", err)
	}
	return row, nil
}

// normalName checks a sign-in name and folds it to lower case, so "Li" and
// "li" cannot be two accounts.
func normalName(name string) (string, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if n := utf8.RuneCountInString(name); n < 2 || n > 64 {
		return "", ErrInvalidName
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-@", r) {
			return "", ErrInvalidName
		}
	}
	return name, nil
}

// hash hashes a password, waiting for a slot so concurrent sign-ins cannot
// take more than HashConcurrency × Hashing.Memory.
func (s *Service) hash(password string) string {
	s.slots <- struct{}{}
	defer func() { <-s.slots }()
	return hashPassword(s.cfg.Hashing, password)
}

// verify checks password against encoded under the same bound.
func (s *Service) verify(encoded, password string) (ok, stale bool, err error) {
	s.slots <- struct{}{}
	defer func() { <-s.slots }()
	return verifyPassword(encoded, password, s.cfg.Hashing)
}

// dummyVerify spends the time of a real check, so that an unknown name
// cannot be told from a wrong password by the answer's timing.
func (s *Service) dummyVerify(password string) {
	s.dummyOnce.Do(func() { s.dummy = s.hash("not a password anyone has") })
	_, _, _ = s.verify(s.dummy, password)
}
