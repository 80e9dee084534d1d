package community

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// LoginLimits are Siyu's own limits on logins, counted in fixed windows in
// Redis so every replica shares them.
type LoginLimits struct {
	// PerIP is how many logins one IP address may attempt per window (60).
	PerIP int
	// PerOpenID is how many logins one WeChat user may make per window (10).
	PerOpenID int
	// Window is the counting window (1 minute).
	Window time.Duration
}

func (l LoginLimits) withDefaults() LoginLimits {
	if l.PerIP <= 0 {
		l.PerIP = 60
	}
	if l.PerOpenID <= 0 {
		l.PerOpenID = 10
	}
	if l.Window <= 0 {
		l.Window = time.Minute
	}
	return l
}

// limiter counts attempts per key in fixed windows. The window's number is
// part of the key, so a count is right even where Redis TTLs do not advance
// (the in-process miniredis of dev); the TTL only cleans up.
type limiter struct {
	redis  redis.UniversalClient
	limits LoginLimits
	now    func() time.Time
	log    *slog.Logger
}

// countScript increments a window's counter and sets its TTL on first use.
var countScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`)

// allow counts one attempt for scope/key and refuses it past limit. When
// Redis fails the attempt is allowed: the limits protect WeChat's quota and
// Siyu, but a Redis outage must not lock every shopper out.
func (l *limiter) allow(ctx context.Context, scope, key string, limit int) error {
	now := l.now()
	win := now.UnixMilli() / l.limits.Window.Milliseconds()
	rkey := "siyu:login-limit:" + scope + ":" + key + ":" + strconv.FormatInt(win, 10)
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	n, err := countScript.Run(rctx, l.redis, []string{rkey}, (2 * l.limits.Window).Milliseconds()).Int()
	if err != nil {
		l.log.Warn("login limit: Redis unavailable, allowing the login", "scope", scope, "err", err)
		return nil
	}
	if n <= limit {
		return nil
	}
	end := time.UnixMilli((win + 1) * l.limits.Window.Milliseconds())
	return &RetryError{
		Err:   fmt.Errorf("%w (per %s)", ErrLoginLimited, scope),
		After: max(end.Sub(now), time.Second),
	}
}
