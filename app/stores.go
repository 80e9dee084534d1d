package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/migrations"
)

// stores are the stateful services Siyu runs on.
type stores struct {
	db       *bun.DB
	redis    *redis.Client
	redisOpt asynq.RedisConnOpt
	mini     *miniredis.Miniredis
	stopTick chan struct{}
}

// Close releases every store.
func (s *stores) Close() {
	if s.redis != nil {
		s.redis.Close()
	}
	if s.stopTick != nil {
		close(s.stopTick)
	}
	if s.mini != nil {
		s.mini.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
}

// openStores connects to the database and Redis named by cfg, or starts the
// embedded ones in dev. Errors name the variable to fix.
func openStores(ctx context.Context, cfg Config, log *slog.Logger) (*stores, error) {
	s := &stores{}
	db, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, &ConfigError{"DATABASE_URL", fmt.Sprintf("%s (%s)", err, database.Redacted(cfg.DatabaseURL))}
	}
	s.db = db
	if cfg.DatabaseEmbedded {
		log.Warn("DATABASE_URL is unset: using the embedded SQLite database (dev only)", "path", strings.TrimPrefix(cfg.DatabaseURL, "sqlite:"))
	}

	redisURL := cfg.RedisURL
	if redisURL == "" {
		m := miniredis.NewMiniRedis()
		if err := m.Start(); err != nil {
			s.Close()
			return nil, &ConfigError{"REDIS_URL", "unset, and the in-process miniredis could not start: " + err.Error()}
		}
		s.mini = m
		s.stopTick = make(chan struct{})
		go advanceClock(m, s.stopTick)
		redisURL = "redis://" + m.Addr() + "/0"
		log.Warn("REDIS_URL is unset: jobs, flash-sale stock and caches live in an in-process miniredis and are lost when Siyu stops (dev only)")
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		s.Close()
		return nil, &ConfigError{"REDIS_URL", err.Error()}
	}
	s.redis = redis.NewClient(opt)
	if err := s.redis.Ping(ctx).Err(); err != nil {
		s.Close()
		return nil, &ConfigError{"REDIS_URL", "cannot reach Redis: " + err.Error()}
	}
	if s.redisOpt, err = asynq.ParseRedisURI(redisURL); err != nil {
		s.Close()
		return nil, &ConfigError{"REDIS_URL", err.Error()}
	}
	if s.mini == nil {
		warnEviction(ctx, s.redis, log)
	}
	return s, nil
}

// advanceClock makes miniredis expire keys in real time: it only moves its
// clock when told to, and locks, leases and asynq's keys rely on TTLs.
func advanceClock(m *miniredis.Miniredis, stop <-chan struct{}) {
	const tick = 100 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			m.FastForward(tick)
		}
	}
}

// warnEviction warns when Redis may evict keys: queued jobs and flash-sale
// stock would silently disappear under memory pressure.
func warnEviction(ctx context.Context, r *redis.Client, log *slog.Logger) {
	res, err := r.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		log.Warn("could not read Redis maxmemory-policy; make sure it is noeviction", "err", err)
		return
	}
	if p := res["maxmemory-policy"]; p != "noeviction" {
		log.Warn("Redis maxmemory-policy is not noeviction: under memory pressure Redis may evict queued jobs, flash-sale stock and journals; set maxmemory-policy noeviction", "maxmemory-policy", p)
	}
}

// requireMigrated fails when migrations are pending, unless migrate is set,
// in which case it applies them.
func requireMigrated(ctx context.Context, db *bun.DB, migrate bool, log *slog.Logger) error {
	if migrate {
		applied, err := migrations.Up(ctx, db)
		if err != nil {
			return err
		}
		if len(applied) > 0 {
			log.Info("migrations applied", "names", applied)
		}
		return nil
	}
	pending, err := migrations.Pending(ctx, db)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return fmt.Errorf("the database has %d pending migrations (%s): run `siyu migrate up` or start with --migrate", len(pending), strings.Join(pending, ", "))
	}
	return nil
}
