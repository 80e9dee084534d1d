package miniprogramapi

import (
	"testing"
	"time"
)

func TestSessionCache(t *testing.T) {
	const ttl = 200 * time.Millisecond
	tests := []struct {
		name  string
		steps func(t *testing.T, c *sessionCache)
	}{
		{"a remembered token answers until the TTL ends", func(t *testing.T, c *sessionCache) {
			c.put("sym_a", "m1")
			if id, ok := c.get("sym_a"); !ok || id != "m1" {
				t.Fatalf("get = %q %v", id, ok)
			}
			time.Sleep(2 * ttl)
			if _, ok := c.get("sym_a"); ok {
				t.Fatal("still answered after the TTL")
			}
		}},
		{"an unknown token is not answered", func(t *testing.T, c *sessionCache) {
			if _, ok := c.get("sym_nobody"); ok {
				t.Fatal("answered")
			}
		}},
		{"forget drops a token at once", func(t *testing.T, c *sessionCache) {
			c.put("sym_b", "m2")
			c.forget("sym_b")
			if _, ok := c.get("sym_b"); ok {
				t.Fatal("answered after forget")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.steps(t, newSessionCache(ttl))
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
	if _, ok := c.get("sym_a"); ok {
		t.Fatal("a nil cache answered")
	}
}
