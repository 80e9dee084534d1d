package miniprogramapi

import (
	"fmt"
	"testing"
	"time"
)

func TestSessionCache(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	newCache := func() *sessionCache {
		c := newSessionCache(10 * time.Second)
		c.now = func() time.Time { return now }
		return c
	}
	tests := []struct {
		name  string
		steps func(t *testing.T, c *sessionCache)
	}{
		{"a remembered token answers for at least half the TTL and never past it", func(t *testing.T, c *sessionCache) {
			c.put("sym_a", "m1")
			if id, ok := c.get([]byte("sym_a")); !ok || id != "m1" {
				t.Fatalf("get = %q %v", id, ok)
			}
			now = now.Add(5 * time.Second)
			if _, ok := c.get([]byte("sym_a")); !ok {
				t.Fatal("forgotten before half the TTL")
			}
			now = now.Add(5 * time.Second)
			if _, ok := c.get([]byte("sym_a")); ok {
				t.Fatal("still answered at the TTL")
			}
		}},
		{"tokens put together expire spread over half the TTL", func(t *testing.T, c *sessionCache) {
			for i := range 1000 {
				c.put(fmt.Sprintf("sym_%d", i), "m")
			}
			now = now.Add(7500 * time.Millisecond)
			left := 0
			for i := range 1000 {
				if _, ok := c.get([]byte(fmt.Sprintf("sym_%d", i))); ok {
					left++
				}
			}
			// Expiries are spread evenly over 5 to 10 s: about half are left.
			if left < 350 || left > 650 {
				t.Fatalf("%d of 1000 tokens left three quarters through the TTL", left)
			}
		}},
		{"an unknown token is not answered", func(t *testing.T, c *sessionCache) {
			if _, ok := c.get([]byte("sym_nobody")); ok {
				t.Fatal("answered")
			}
		}},
		{"forget drops a token at once", func(t *testing.T, c *sessionCache) {
			c.put("sym_b", "m2")
			c.forget("sym_b")
			if _, ok := c.get([]byte("sym_b")); ok {
				t.Fatal("answered after forget")
			}
		}},
		{"a full cache stays bounded and keeps the newest token", func(t *testing.T, c *sessionCache) {
			for i := range sessionCacheSize + 10 {
				c.put(fmt.Sprintf("sym_%d", i), "m")
			}
			if len(c.entries) > sessionCacheSize {
				t.Fatalf("holds %d", len(c.entries))
			}
			if _, ok := c.get([]byte(fmt.Sprintf("sym_%d", sessionCacheSize+9))); !ok {
				t.Fatal("the newest token was dropped")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.steps(t, newCache())
		})
	}
}

func TestSessionCacheOff(t *testing.T) {
	c := newSessionCache(0)
	if c != nil {
		t.Fatal("a zero TTL made a cache")
	}
	c.put("sym_a", "m1")
	c.forget("sym_a")
	if _, ok := c.get([]byte("sym_a")); ok {
		t.Fatal("a nil cache answered")
	}
}
