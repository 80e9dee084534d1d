package community

import (
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"
)

// MembersConfig configures Members.
type MembersConfig struct {
	DB     *bun.DB
	Redis  redis.UniversalClient
	WeChat WeChat
	// SecretKey (32 bytes) encrypts session keys at rest.
	SecretKey []byte
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// SessionTTL is how long a shopper session lives after its last use
	// (30 days).
	SessionTTL time.Duration
	// SessionMaxAge is how long a session can be kept alive by use before
	// the shopper must log in again (90 days).
	SessionMaxAge time.Duration
	// SessionTouch is how often use extends a session: at most one write
	// per session per SessionTouch (1 minute).
	SessionTouch time.Duration
	// Limits are the login limits.
	Limits LoginLimits
	Logger *slog.Logger
}

// Members is the identity service for shoppers: login, sessions, phone,
// profile and attribution. It is safe for concurrent use.
type Members struct {
	db     *bun.DB
	wechat WeChat
	seal   *sealer
	limit  *limiter
	now    func() time.Time
	ttl    time.Duration
	maxAge time.Duration
	touch  time.Duration
	log    *slog.Logger
}

// NewMembers returns the service.
func NewMembers(cfg MembersConfig) (*Members, error) {
	if cfg.DB == nil || cfg.Redis == nil || cfg.WeChat == nil {
		return nil, errors.New("community: MembersConfig needs DB, Redis and WeChat")
	}
	s, err := newSealer(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	if cfg.SessionMaxAge <= 0 {
		cfg.SessionMaxAge = 90 * 24 * time.Hour
	}
	if cfg.SessionTouch <= 0 {
		cfg.SessionTouch = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Members{
		db:     cfg.DB,
		wechat: cfg.WeChat,
		seal:   s,
		now:    func() time.Time { return cfg.Now().UTC() },
		ttl:    cfg.SessionTTL,
		maxAge: cfg.SessionMaxAge,
		touch:  cfg.SessionTouch,
		log:    cfg.Logger,
	}
	m.limit = &limiter{redis: cfg.Redis, limits: cfg.Limits.withDefaults(), now: m.now, log: cfg.Logger}
	return m, nil
}

// newID returns a new time-ordered ID.
func newID() string { return uuid.Must(uuid.NewV7()).String() }
