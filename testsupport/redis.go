package testsupport

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Redis returns the URL of a Redis database that belongs to this test alone,
// emptied before use: a numbered database on the real server named by
// TEST_REDIS_URL (claimed with a lease, so parallel test processes never
// share one), or a fresh miniredis when TEST_REDIS_URL is unset outside CI.
func Redis(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_REDIS_URL")
	if base == "" {
		if InCI() {
			t.Fatal("TEST_REDIS_URL is not set: CI runs every Redis suite on a real server")
		}
		m := miniredis.RunT(t)
		return "redis://" + m.Addr() + "/0"
	}
	return claimRedisDB(t, base)
}

// RealRedis is Redis, but never miniredis: tests of Lua scripts and
// eviction settings need the real server, and skip without one outside CI.
func RealRedis(t testing.TB) string {
	t.Helper()
	if os.Getenv("TEST_REDIS_URL") == "" {
		need(t, "TEST_REDIS_URL is not set")
	}
	return Redis(t)
}

func claimRedisDB(t testing.TB, base string) string {
	t.Helper()
	opt, err := redis.ParseURL(base)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	opt.DB = 0
	ctl := redis.NewClient(opt)
	defer ctl.Close()
	ctx := context.Background()
	if err := ctl.Ping(ctx).Err(); err != nil {
		t.Fatalf("TEST_REDIS_URL: cannot reach Redis: %v", err)
	}
	owner := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for n := 1; n < 16; n++ {
			key := "siyu:test:redis-db:" + strconv.Itoa(n)
			ok, err := ctl.SetNX(ctx, key, owner, 10*time.Minute).Result()
			if err != nil {
				t.Fatalf("claim a Redis database: %v", err)
			}
			if !ok {
				continue
			}
			o := *opt
			o.DB = n
			c := redis.NewClient(&o)
			if err := c.FlushDB(ctx).Err(); err != nil {
				t.Fatalf("flush Redis db %d: %v", n, err)
			}
			c.Close()
			t.Cleanup(func() {
				o := *opt
				o.DB = n
				c := redis.NewClient(&o)
				_ = c.FlushDB(context.Background()).Err()
				c.Close()
				ctl := redis.NewClient(opt)
				defer ctl.Close()
				// Release only our own lease.
				if v, _ := ctl.Get(context.Background(), key).Result(); v == owner {
					ctl.Del(context.Background(), key)
				}
			})
			u, err := url.Parse(base)
			if err != nil {
				t.Fatalf("TEST_REDIS_URL: %v", err)
			}
			u.Path = "/" + strconv.Itoa(n)
			return u.String()
		}
		if time.Now().After(deadline) {
			t.Fatal("no free Redis database (1-15) within 2 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
