package accesstoken

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/credential"
	"golang.org/x/sync/singleflight"
)

// A Cache is the SDK's token handle.
var _ credential.AccessTokenContextHandle = (*Cache)(nil)

// ErrUnavailable is returned when no valid token can be had right now:
// the platform refused or failed recently (the shared back-off is running),
// or another process's refresh did not finish in time.
var ErrUnavailable = errors.New("accesstoken: no access token available")

// ErrConfig is returned by New for an unusable Config.
var ErrConfig = errors.New("accesstoken: invalid config")

// Config configures a Cache.
type Config struct {
	// Name identifies the token in Redis, for example
	// "miniprogram:wx5a4d1c0b9e8f7a63". Every process sharing a token must
	// use the same name.
	Name string
	// Redis is shared by every process using the token.
	Redis redis.UniversalClient
	// Fetch asks the platform for a token.
	Fetch Fetcher
	// Now is the clock deciding when a token is due or expired.
	Now func() time.Time
	// RefreshBefore is how long before its expiry a token is refreshed. Zero
	// refreshes at expiry, for platforms that hand out the same token until
	// it expires (WeCom); the mini-program's stable_token hands out a new
	// token in the last five minutes, so it uses 5 minutes.
	RefreshBefore time.Duration
	// LocalTTL is how long a process trusts its own copy of the token
	// without asking Redis (10s).
	LocalTTL time.Duration
	// LockTTL bounds a refresh: the lock expires after it, and the fetch is
	// given two thirds of it (15s).
	LockTTL time.Duration
	// Wait is how long a caller waits for another process's refresh when
	// there is no valid token (5s).
	Wait time.Duration
	// Poll is how often a waiting caller looks at Redis (25ms).
	Poll time.Duration
	// MinBackoff and MaxBackoff bound the pause after failed fetches, which
	// doubles with each failure in a row (1s to 1m).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// RedisTimeout bounds each Redis command (1s).
	RedisTimeout time.Duration
	// Logger receives warnings about Redis and upstream failures.
	Logger *slog.Logger
}

func (cfg Config) withDefaults() Config {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LocalTTL <= 0 {
		cfg.LocalTTL = 10 * time.Second
	}
	if cfg.LockTTL <= 0 {
		cfg.LockTTL = 15 * time.Second
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 5 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 25 * time.Millisecond
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(time.Minute, cfg.MinBackoff)
	}
	if cfg.RedisTimeout <= 0 {
		cfg.RedisTimeout = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// entry is a token with the times that matter, on Config.Now's clock.
type entry struct {
	value     string
	expiresAt time.Time
	refreshAt time.Time
}

func (e entry) usable(now time.Time) bool { return e.value != "" && now.Before(e.expiresAt) }
func (e entry) fresh(now time.Time) bool  { return e.usable(now) && now.Before(e.refreshAt) }

// Cache is one access token shared through Redis. It is safe for
// concurrent use and implements the SDK's access-token handle interfaces.
type Cache struct {
	cfg        Config
	tokenKey   string
	lockKey    string
	backoffKey string
	failKey    string
	group      singleflight.Group

	mu        sync.Mutex
	local     entry
	checkedAt time.Time // when local was last read from or written to Redis
	redisDown time.Time // Redis failed; skip it until then
	directAt  time.Time // Redis is down and a direct fetch failed; none before then
	directN   int       // direct fetch failures in a row
}

// New returns a Cache for cfg.
func New(cfg Config) (*Cache, error) {
	if cfg.Name == "" || cfg.Redis == nil || cfg.Fetch == nil {
		return nil, fmt.Errorf("%w: Name, Redis and Fetch are required", ErrConfig)
	}
	cfg = cfg.withDefaults()
	// The hash tag keeps every key of one token in one Redis Cluster slot.
	base := "siyu:accesstoken:{" + cfg.Name + "}"
	return &Cache{
		cfg:        cfg,
		tokenKey:   base,
		lockKey:    base + ":lock",
		backoffKey: base + ":backoff",
		failKey:    base + ":failures",
	}, nil
}

// GetAccessToken returns a valid token; it is the SDK's AccessTokenHandle.
func (c *Cache) GetAccessToken() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Wait+c.cfg.LockTTL)
	defer cancel()
	return c.GetAccessTokenContext(ctx)
}

// GetAccessTokenContext returns a valid token, from this process's copy,
// from Redis, or by refreshing it (one process at a time). It is the SDK's
// AccessTokenContextHandle.
func (c *Cache) GetAccessTokenContext(ctx context.Context) (string, error) {
	now := c.cfg.Now()
	c.mu.Lock()
	if c.local.usable(now) && now.Sub(c.checkedAt) < c.cfg.LocalTTL {
		v := c.local.value
		c.mu.Unlock()
		record(ctx, v)
		return v, nil
	}
	c.mu.Unlock()
	// Every caller in this process shares one load; the load runs on its
	// own deadline so one impatient caller does not fail the others.
	ch := c.group.DoChan("token", func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Wait+c.cfg.LockTTL)
		defer cancel()
		return c.load(lctx)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		v := res.Val.(string)
		record(ctx, v)
		return v, nil
	case <-ctx.Done():
		return "", fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
}

// load finds a usable token through Redis, refreshing it when it is due
// or gone and this process wins the lock. While a token is still valid it
// is served even when its refresh fails or is someone else's to do.
func (c *Cache) load(ctx context.Context) (string, error) {
	deadline := time.Now().Add(c.cfg.Wait)
	for {
		if c.skipRedis() {
			return c.direct(ctx, nil)
		}
		now := c.cfg.Now()
		e, err := c.read(ctx)
		if err != nil {
			return c.direct(ctx, err)
		}
		if e.fresh(now) {
			c.keep(e)
			return e.value, nil
		}
		backoff, err := c.backingOff(ctx)
		if err != nil {
			return c.direct(ctx, err)
		}
		if backoff != "" {
			if e.usable(now) {
				c.keep(e)
				return e.value, nil
			}
			return "", fmt.Errorf("%w: backing off after: %s", ErrUnavailable, backoff)
		}
		owner, ok, err := c.lock(ctx)
		switch {
		case err != nil && e.usable(now):
			c.keep(e)
			return e.value, nil
		case err != nil:
			return c.direct(ctx, err)
		case ok:
			ne, err := c.refreshLocked(ctx, owner)
			if err != nil && e.usable(c.cfg.Now()) {
				c.keep(e)
				return e.value, nil
			}
			return ne.value, err
		case e.usable(now):
			// Someone else is refreshing; this token still works.
			c.keep(e)
			return e.value, nil
		}
		v, err, again := c.waitForRefresh(ctx, deadline)
		if !again {
			return v, err
		}
	}
}

// refreshLocked refreshes the token while holding the lock, unless another
// process refreshed it, or failed to and started a back-off, between our
// read and our lock.
func (c *Cache) refreshLocked(ctx context.Context, owner string) (entry, error) {
	if e, err := c.read(ctx); err == nil && e.fresh(c.cfg.Now()) {
		c.unlock(ctx, owner)
		c.keep(e)
		return e, nil
	}
	if b, err := c.backingOff(ctx); err == nil && b != "" {
		c.unlock(ctx, owner)
		return entry{}, fmt.Errorf("%w: backing off after: %s", ErrUnavailable, b)
	}
	return c.refresh(ctx, owner)
}

// waitForRefresh polls Redis while another process refreshes. It returns
// again=true when the lock went away without a token or back-off (the
// refresher died), so the caller can try the lock itself.
func (c *Cache) waitForRefresh(ctx context.Context, deadline time.Time) (string, error, bool) {
	t := time.NewTicker(c.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err()), false
		case <-t.C:
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%w: another process's refresh did not finish within %s", ErrUnavailable, c.cfg.Wait), false
		}
		e, err := c.read(ctx)
		if err != nil {
			v, derr := c.direct(ctx, err)
			return v, derr, false
		}
		if e.usable(c.cfg.Now()) {
			c.keep(e)
			return e.value, nil, false
		}
		backoff, err := c.backingOff(ctx)
		if err == nil && backoff != "" {
			return "", fmt.Errorf("%w: backing off after: %s", ErrUnavailable, backoff), false
		}
		held, err := c.locked(ctx)
		if err == nil && !held {
			return "", nil, true
		}
	}
}

// refresh fetches a token while holding the lock, stores it and releases
// the lock. A failure starts or lengthens the shared back-off.
func (c *Cache) refresh(ctx context.Context, owner string) (entry, error) {
	defer c.unlock(ctx, owner)
	fctx, cancel := context.WithTimeout(ctx, c.cfg.LockTTL*2/3)
	defer cancel()
	tok, err := c.cfg.Fetch(fctx)
	if err != nil {
		c.fail(ctx, err)
		return entry{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	e := c.entryFor(tok, c.cfg.Now())
	if err := c.write(ctx, e, tok.ExpiresIn); err != nil {
		c.cfg.Logger.Warn("access token: could not store the new token in Redis", "name", c.cfg.Name, "err", err)
		c.markRedisDown()
	}
	c.keep(e)
	return e, nil
}

// direct serves a token without Redis: this process's copy while it is
// valid, else one fetch of its own, at most once per back-off period.
// cause is the Redis error that sent us here (nil while Redis is skipped).
func (c *Cache) direct(ctx context.Context, cause error) (string, error) {
	if cause != nil {
		c.cfg.Logger.Warn("access token: Redis unavailable, using this process's token", "name", c.cfg.Name, "err", cause)
		c.markRedisDown()
	}
	now := c.cfg.Now()
	c.mu.Lock()
	if c.local.usable(now) {
		v := c.local.value
		c.mu.Unlock()
		return v, nil
	}
	if now.Before(c.directAt) {
		c.mu.Unlock()
		return "", fmt.Errorf("%w: Redis is unavailable and the last fetch failed", ErrUnavailable)
	}
	c.mu.Unlock()
	fctx, cancel := context.WithTimeout(ctx, c.cfg.LockTTL*2/3)
	defer cancel()
	tok, err := c.cfg.Fetch(fctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.directN++
		c.directAt = c.cfg.Now().Add(c.backoff(c.directN))
		return "", fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	c.directN = 0
	c.local = c.entryFor(tok, c.cfg.Now())
	c.checkedAt = c.cfg.Now()
	return c.local.value, nil
}

// entryFor dates a fetched token. A token handed out with less life left
// than RefreshBefore is refreshed at half its life, so a refresh that comes
// early never turns into a loop of refreshes.
func (c *Cache) entryFor(t Token, now time.Time) entry {
	refreshIn := t.ExpiresIn - c.cfg.RefreshBefore
	if c.cfg.RefreshBefore > 0 && refreshIn < t.ExpiresIn/2 {
		refreshIn = t.ExpiresIn / 2
	}
	return entry{value: t.Value, expiresAt: now.Add(t.ExpiresIn), refreshAt: now.Add(refreshIn)}
}

func (c *Cache) keep(e entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.local = e
	c.checkedAt = c.cfg.Now()
}

func (c *Cache) skipRedis() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Before(c.redisDown)
}

// markRedisDown skips Redis for LocalTTL, so an outage costs one timeout
// per LocalTTL instead of one per call.
func (c *Cache) markRedisDown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.redisDown = time.Now().Add(c.cfg.LocalTTL)
}

// backoff is the pause after n failures in a row.
func (c *Cache) backoff(n int) time.Duration {
	d := c.cfg.MinBackoff
	for i := 1; i < n && d < c.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, c.cfg.MaxBackoff)
}

// Invalidate forgets token, in this process and in Redis, if it is still
// the current one; a token another process has fetched since is kept. An
// empty token means the one this process holds.
func (c *Cache) Invalidate(ctx context.Context, token string) error {
	c.mu.Lock()
	if token == "" {
		token = c.local.value
	}
	if token != "" && c.local.value == token {
		c.local = entry{}
	}
	c.mu.Unlock()
	if token == "" {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout)
	defer cancel()
	if err := invalidateScript.Run(rctx, c.cfg.Redis, []string{c.tokenKey}, token).Err(); err != nil {
		return fmt.Errorf("accesstoken: invalidate %s: %w", c.cfg.Name, err)
	}
	return nil
}

// Retry runs call, which makes SDK calls with this Cache as their token
// handle. When WeChat answers that the token was invalid or expired, the
// token the call used is invalidated and call runs once more. Calls that
// fetch their token through GetAccessTokenContext(ctx) with the ctx they
// are given are matched exactly; others invalidate this process's token.
func (c *Cache) Retry(ctx context.Context, call func(ctx context.Context) error) error {
	rec := &recorder{}
	err := call(context.WithValue(ctx, recorderKey{}, rec))
	if !IsTokenError(err) {
		return err
	}
	if ierr := c.Invalidate(ctx, rec.get()); ierr != nil {
		c.cfg.Logger.Warn("access token: invalidate after a token error", "name", c.cfg.Name, "err", ierr)
	}
	return call(ctx)
}

// recorder remembers the token handed out within one Retry.
type recorder struct {
	mu    sync.Mutex
	token string
}

type recorderKey struct{}

func (r *recorder) get() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.token
}

func record(ctx context.Context, token string) {
	if r, ok := ctx.Value(recorderKey{}).(*recorder); ok {
		r.mu.Lock()
		r.token = token
		r.mu.Unlock()
	}
}

// --- Redis ---

// The lock and the back-off marker expire through Redis TTLs, and also
// carry their deadline (Unix milliseconds) in their value, honoured here:
// a store whose TTLs do not advance on their own (the in-process miniredis
// of dev) must not keep a dead refresher's lock or an old back-off forever.
var (
	// lockScript takes the lock unless a live one exists. ARGV: owner,
	// now, deadline (ms), TTL (ms).
	lockScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then
  local d = tonumber(string.match(v, '|(%d+)$'))
  if d == nil or d > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[3], 'PX', ARGV[4])
return 1`)
	// unlockScript releases the lock only for its owner.
	unlockScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '|' then return redis.call('DEL', KEYS[1]) end
return 0`)
	// invalidateScript deletes the token only if it is still the bad one.
	invalidateScript = redis.NewScript(`if redis.call('HGET', KEYS[1], 'value') == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
)

// deadlined splits a "value|deadline" marker and reports whether it is
// still live.
func deadlined(v string) (string, bool) {
	i := strings.LastIndexByte(v, '|')
	if i < 0 {
		return v, true
	}
	ms, err := strconv.ParseInt(v[i+1:], 10, 64)
	if err != nil {
		return v, true
	}
	return v[:i], time.Now().UnixMilli() < ms
}

func (c *Cache) read(ctx context.Context) (entry, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout)
	defer cancel()
	m, err := c.cfg.Redis.HGetAll(rctx, c.tokenKey).Result()
	if err != nil {
		return entry{}, err
	}
	exp, _ := strconv.ParseInt(m["expires_at"], 10, 64)
	ref, _ := strconv.ParseInt(m["refresh_at"], 10, 64)
	return entry{value: m["value"], expiresAt: time.UnixMilli(exp), refreshAt: time.UnixMilli(ref)}, nil
}

func (c *Cache) write(ctx context.Context, e entry, life time.Duration) error {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout)
	defer cancel()
	_, err := c.cfg.Redis.TxPipelined(rctx, func(p redis.Pipeliner) error {
		p.HSet(rctx, c.tokenKey, "value", e.value,
			"expires_at", strconv.FormatInt(e.expiresAt.UnixMilli(), 10),
			"refresh_at", strconv.FormatInt(e.refreshAt.UnixMilli(), 10))
		p.PExpire(rctx, c.tokenKey, life)
		p.Del(rctx, c.failKey, c.backoffKey)
		return nil
	})
	return err
}

// lock tries to become the one process refreshing the token.
func (c *Cache) lock(ctx context.Context) (string, bool, error) {
	owner := rand.Text()
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout)
	defer cancel()
	now := time.Now()
	n, err := lockScript.Run(rctx, c.cfg.Redis, []string{c.lockKey}, owner, now.UnixMilli(),
		now.Add(c.cfg.LockTTL).UnixMilli(), c.cfg.LockTTL.Milliseconds()).Int()
	return owner, n == 1, err
}

// locked reports whether a live refresh lock exists.
func (c *Cache) locked(ctx context.Context) (bool, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout)
	defer cancel()
	v, err := c.cfg.Redis.Get(rctx, c.lockKey).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, live := deadlined(v)
	return live, nil
}

func (c *Cache) unlock(ctx context.Context, owner string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.RedisTimeout)
	defer cancel()
	if err := unlockScript.Run(rctx, c.cfg.Redis, []string{c.lockKey}, owner).Err(); err != nil {
		// The lock expires on its own after LockTTL.
		c.cfg.Logger.Warn("access token: could not release the refresh lock", "name", c.cfg.Name, "err", err)
	}
}

// backingOff returns the reason of a running back-off, or "".
func (c *Cache) backingOff(ctx context.Context) (string, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout)
	defer cancel()
	v, err := c.cfg.Redis.Get(rctx, c.backoffKey).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	reason, live := deadlined(v)
	if !live {
		return "", nil
	}
	return reason, nil
}

// fail starts the shared back-off after a failed fetch.
func (c *Cache) fail(ctx context.Context, ferr error) {
	c.cfg.Logger.Warn("access token: fetch failed", "name", c.cfg.Name, "err", ferr)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.RedisTimeout)
	defer cancel()
	n, err := c.cfg.Redis.Incr(rctx, c.failKey).Result()
	if err == nil {
		err = c.cfg.Redis.PExpire(rctx, c.failKey, 4*c.cfg.MaxBackoff).Err()
	}
	if err == nil {
		d := c.backoff(int(n))
		marker := Redact(ferr.Error()) + "|" + strconv.FormatInt(time.Now().Add(d).UnixMilli(), 10)
		err = c.cfg.Redis.Set(rctx, c.backoffKey, marker, d).Err()
	}
	if err != nil {
		c.cfg.Logger.Warn("access token: could not record the back-off", "name", c.cfg.Name, "err", err)
	}
}
