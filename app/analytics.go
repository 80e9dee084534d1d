package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/siyu-live/siyu/analytics"
	"github.com/siyu-live/siyu/jobs"
)

// buildAnalytics builds the show analytics over the shared database.
func (a *application) buildAnalytics() error {
	svc, err := analytics.New(analytics.Config{DB: a.st.db})
	if err != nil {
		return err
	}
	a.analytics = svc
	return nil
}

// handleAnalyticsTasks adds the analytics task handlers.
func (a *application) handleAnalyticsTasks(mux *asynq.ServeMux) {
	jobs.HandleAnalytics(mux, a.analytics)
}

// scheduleAnalytics registers the sampling of live shows.
func (a *application) scheduleAnalytics(s *asynq.Scheduler) error {
	return jobs.RegisterSchedules(s, jobs.AnalyticsSchedules(a.analytics.SamplePeriod()))
}

// webStorage keeps the web console's CSRF tokens in Redis, so a form
// rendered by one replica is accepted by any other.
func (a *application) webStorage() fiber.Storage {
	return redisStorage{rdb: a.st.redis, prefix: "siyu:console:csrf:"}
}

// redisStorage is fiber.Storage on Redis.
type redisStorage struct {
	rdb    redis.UniversalClient
	prefix string
}

// storageTimeout bounds one storage call: fiber's storage interface takes
// no context.
const storageTimeout = 3 * time.Second

// Get implements fiber.Storage; a missing key is nil, nil, as fiber's
// storages answer.
func (s redisStorage) Get(key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storageTimeout)
	defer cancel()
	b, err := s.rdb.Get(ctx, s.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("console storage get: %w", err)
	}
	return b, nil
}

// Set implements fiber.Storage; exp zero keeps the key for good.
func (s redisStorage) Set(key string, val []byte, exp time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), storageTimeout)
	defer cancel()
	return s.rdb.Set(ctx, s.prefix+key, val, exp).Err()
}

// Delete implements fiber.Storage.
func (s redisStorage) Delete(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), storageTimeout)
	defer cancel()
	return s.rdb.Del(ctx, s.prefix+key).Err()
}

// Reset implements fiber.Storage: it removes every key of the prefix.
func (s redisStorage) Reset() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := s.rdb.Scan(ctx, 0, s.prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		if err := s.rdb.Del(ctx, iter.Val()).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}

// Close implements fiber.Storage; the client belongs to the stores.
func (s redisStorage) Close() error { return nil }
