package catalog

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/staff"
)

// Config configures a Service.
type Config struct {
	DB    *bun.DB
	Redis redis.UniversalClient
	// Now is the clock (default time.Now); tests move it.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the catalog: products, SKUs, stock, lineups and flash sales.
type Service struct {
	db      *bun.DB
	redis   redis.UniversalClient
	now     func() time.Time
	log     *slog.Logger
	engine  *engine
	batch   *batcher
	soldOut soldOut
	// feed takes the claims this process wins to its running Journal.
	feed atomic.Pointer[wonFeed]
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Redis == nil {
		return nil, errors.New("catalog: DB and Redis are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := newEngine(cfg.Redis)
	return &Service{
		db:     cfg.DB,
		redis:  cfg.Redis,
		now:    func() time.Time { return cfg.Now().UTC() },
		log:    cfg.Logger,
		engine: e,
		batch:  newBatcher(e),
	}, nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// audit records a staff member's change in the audit log, in the
// change's transaction.
func audit(ctx context.Context, tx bun.IDB, staffID, action, objectType, objectID string, detail any) error {
	return staff.Record(ctx, tx, staff.Entry{StaffID: staffID, Action: action, ObjectType: objectType, ObjectID: objectID, Detail: detail})
}
