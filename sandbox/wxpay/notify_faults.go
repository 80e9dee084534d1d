package wxpay

import (
	"context"
	"fmt"
	"slices"
)

// AddNotifyRule installs a fault for upcoming notifications.
func (s *Server) AddNotifyRule(r NotifyRule) error {
	if r.Copies < 0 || r.Delay < 0 || r.Times < 0 {
		return fmt.Errorf("%w: copies, delay and times cannot be negative", ErrBadRule)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifyRules = append(s.notifyRules, &r)
	return nil
}

// NotifyRules lists the installed notification faults.
func (s *Server) NotifyRules() []NotifyRule {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]NotifyRule, 0, len(s.notifyRules))
	for _, r := range s.notifyRules {
		out = append(out, *r)
	}
	return out
}

// ClearNotifyRules removes every notification fault.
func (s *Server) ClearNotifyRules() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifyRules = nil
}

// ReorderNext holds the next n notifications back and, once the n-th
// arrives, delivers them newest first: each one's first attempt is
// answered before the next older one is sent.
func (s *Server) ReorderNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reorder = max(n, 0)
}

// ReleaseHeld delivers the notifications ReorderNext is holding now,
// newest first, and stops holding.
func (s *Server) ReleaseHeld() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reorder = 0
	s.releaseLocked()
}

// releaseLocked delivers the held notifications newest first. The caller
// holds s.mu.
func (s *Server) releaseLocked() {
	held := slices.Clone(s.held)
	s.held = nil
	slices.Reverse(held)
	for _, n := range held {
		n.status = NotifyPending
	}
	s.spawn(func(ctx context.Context) {
		for _, n := range held {
			first := make(chan struct{})
			s.mu.Lock()
			s.spawn(func(ctx context.Context) { s.deliver(ctx, n, first) })
			s.mu.Unlock()
			select {
			case <-first:
			case <-ctx.Done():
				return
			}
		}
	})
}
