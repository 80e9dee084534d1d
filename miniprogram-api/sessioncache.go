package miniprogramapi

import (
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// sessionCache remembers for a short time which member a session token
// belongs to, so that the requests of a live show (joins, likes,
// comments, flash-sale taps: several a second per shopper) do not each
// ask the database. A token logged out through this process is forgotten
// at once; one revoked or expired elsewhere keeps working here for at most
// the cache's TTL. A nil cache remembers nothing.
type sessionCache struct {
	lru *expirable.LRU[string, string]
}

// sessionCacheSize bounds the tokens remembered; past it the least
// recently used are dropped.
const sessionCacheSize = 1 << 18

// newSessionCache returns a cache keeping entries for ttl, or nil when ttl
// is not positive.
func newSessionCache(ttl time.Duration) *sessionCache {
	if ttl <= 0 {
		return nil
	}
	return &sessionCache{lru: expirable.NewLRU[string, string](sessionCacheSize, nil, ttl)}
}

// get returns the member of a token remembered and still fresh.
func (c *sessionCache) get(token string) (string, bool) {
	if c == nil {
		return "", false
	}
	return c.lru.Get(token)
}

// put remembers the member of a token for the TTL.
func (c *sessionCache) put(token, member string) {
	if c == nil {
		return
	}
	c.lru.Add(token, member)
}

// forget drops a token at once (its session was logged out here).
func (c *sessionCache) forget(token string) {
	if c == nil {
		return
	}
	c.lru.Remove(token)
}
