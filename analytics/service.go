package analytics

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/live"
)

// Sentinel errors of the analytics area.
var (
	// ErrShowNotFound is returned for a show that does not exist.
	ErrShowNotFound = errors.New("show not found")
	// ErrNotClickable is returned for a product click in a show that is
	// neither live nor ended (scheduled and cancelled shows show no
	// product cards).
	ErrNotClickable = errors.New("the show is not live and has no replay")
	// ErrProductNotInLineup is returned for a click on a product that the
	// show does not sell.
	ErrProductNotInLineup = errors.New("the product is not in the show's lineup")
	// ErrInvalid is returned for input that breaks a rule; the message
	// says which.
	ErrInvalid = errors.New("invalid analytics input")
)

// Config configures a Service.
type Config struct {
	DB *bun.DB
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// SamplePeriod is how often SampleShows is run, which is the
	// resolution of the like samples (10s by default).
	SamplePeriod time.Duration
	// Location is where days start for the dashboard (Asia/Shanghai by
	// default).
	Location *time.Location
}

// Service computes show analytics and records product clicks.
type Service struct {
	db     *bun.DB
	now    func() time.Time
	period time.Duration
	loc    *time.Location
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil {
		return nil, errors.New("analytics: Config.DB is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SamplePeriod <= 0 {
		cfg.SamplePeriod = 10 * time.Second
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			// Without tzdata, China Standard Time is UTC+8 all year.
			loc = time.FixedZone("CST", 8*3600)
		}
		cfg.Location = loc
	}
	now := cfg.Now
	return &Service{db: cfg.DB, now: func() time.Time { return now().UTC() }, period: cfg.SamplePeriod, loc: cfg.Location}, nil
}

// SamplePeriod is how often SampleShows should run.
func (s *Service) SamplePeriod() time.Duration { return s.period }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// show reads a show.
func (s *Service) show(ctx context.Context, db bun.IDB, showID string) (*live.Show, error) {
	show := new(live.Show)
	if err := db.NewSelect().Model(show).Where("id = ?", showID).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrShowNotFound
		}
		return nil, fmt.Errorf("analytics: read show: %w", err)
	}
	return show, nil
}

// window is the part of time a show was live: from going live to its end,
// or to now while it is live. A show that never went live has none.
type window struct {
	start, end time.Time
	ok         bool
}

func (s *Service) windowOf(show *live.Show) window {
	if show.LiveAt == nil {
		return window{}
	}
	end := s.now()
	if show.EndedAt != nil {
		end = show.EndedAt.UTC()
	}
	start := show.LiveAt.UTC()
	if end.Before(start) {
		end = start
	}
	return window{start: start, end: end, ok: true}
}

// minutes is the number of one-minute buckets the window spans (at least
// one).
func (w window) minutes() int {
	n := int((w.end.Sub(w.start) + time.Minute - 1) / time.Minute)
	return max(n, 1)
}

// bucket is the minute of the window t falls in, clamped to the window.
func (w window) bucket(t time.Time) int {
	i := int(t.Sub(w.start) / time.Minute)
	if t.Before(w.start) {
		i = 0
	}
	return min(max(i, 0), w.minutes()-1)
}

// inWindow reports whether t is within the window (inclusive).
func (w window) inWindow(t time.Time) bool {
	return w.ok && !t.Before(w.start) && !t.After(w.end)
}

// bunIn wraps a list for an IN (?) placeholder.
func bunIn[T any](v []T) any { return bun.In(v) }
