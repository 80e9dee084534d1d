package miniprogramapi

import (
	"math/rand/v2"
	"sync"
	"time"
)

// sessionCache remembers for a short time which member a session token
// belongs to, so that the requests of a live show (joins, likes,
// comments, flash-sale taps: several a second per shopper) do not each
// ask the database. A token logged out through this process is forgotten
// at once; one revoked or expired elsewhere keeps working here for at most
// the cache's TTL. A nil cache remembers nothing.
//
// It is a plain map under a lock: hashicorp's expirable LRU was tried and
// its cleanup goroutine panicked under load (and one runs per cache).
type sessionCache struct {
	ttl     time.Duration
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]sessionEntry
}

type sessionEntry struct {
	member string
	until  time.Time
}

// sessionCacheSize bounds the tokens remembered; a full cache first drops
// its expired entries, then starts afresh.
const sessionCacheSize = 1 << 18

// newSessionCache returns a cache keeping entries for ttl, or nil when ttl
// is not positive.
func newSessionCache(ttl time.Duration) *sessionCache {
	if ttl <= 0 {
		return nil
	}
	return &sessionCache{ttl: ttl, now: time.Now, entries: map[string]sessionEntry{}}
}

// get returns the member of a token remembered and still fresh. The
// token may point into a request buffer: it is only read.
func (c *sessionCache) get(token []byte) (string, bool) {
	if c == nil {
		return "", false
	}
	c.mu.Lock()
	e, ok := c.entries[string(token)]
	c.mu.Unlock()
	if !ok || !c.now().Before(e.until) {
		return "", false
	}
	return e.member, true
}

// put remembers the member of a token for between half the TTL and the
// whole of it, at random: tokens first seen together (a crowd arriving
// for a show's start) then expire spread over half a TTL instead of going
// back to the database in the same moment.
func (c *sessionCache) put(token, member string) {
	if c == nil {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= sessionCacheSize {
		for k, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= sessionCacheSize {
			c.entries = map[string]sessionEntry{}
		}
	}
	life := c.ttl/2 + rand.N(c.ttl/2+1)
	c.entries[token] = sessionEntry{member: member, until: now.Add(life)}
}

// forget drops a token at once (its session was logged out here).
func (c *sessionCache) forget(token string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, token)
}
