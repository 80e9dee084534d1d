// Package fault holds the faults a test can ask the sandbox to inject into
// one of its platform APIs: an HTTP error status, a WeChat errcode, a hang
// until the caller gives up, or a delay.
package fault

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Rule is one fault. It applies to requests whose path has Path as a suffix
// (so "stable_token" matches "/cgi-bin/stable_token"), Times times (0 means
// until cleared).
type Rule struct {
	Path    string        `json:"path"`
	Status  int           `json:"status,omitempty"`  // answer this HTTP status with an empty body
	Errcode int           `json:"errcode,omitempty"` // answer 200 with {"errcode":…,"errmsg":…}
	Errmsg  string        `json:"errmsg,omitempty"`
	Hang    bool          `json:"hang,omitempty"`  // never answer; wait for the caller to give up
	Delay   time.Duration `json:"delay,omitempty"` // answer normally after this long
	Times   int           `json:"times,omitempty"`
}

// Set is a concurrency-safe list of rules.
type Set struct {
	mu    sync.Mutex
	rules []*Rule
}

// Add installs a rule.
func (s *Set) Add(r Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, &r)
}

// Clear removes every rule.
func (s *Set) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
}

// Rules returns a copy of the installed rules.
func (s *Set) Rules() []Rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Rule, 0, len(s.rules))
	for _, r := range s.rules {
		out = append(out, *r)
	}
	return out
}

// take returns the first rule matching path and uses up one of its times.
func (s *Set) take(path string) (Rule, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.rules {
		if !strings.HasSuffix(path, r.Path) {
			continue
		}
		got := *r
		if r.Times > 0 {
			r.Times--
			if r.Times == 0 {
				s.rules = append(s.rules[:i], s.rules[i+1:]...)
			}
		}
		return got, true
	}
	return Rule{}, false
}

// Middleware applies the set's rules to next.
func (s *Set) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rule, ok := s.take(r.URL.Path)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		switch {
		case rule.Hang:
			<-r.Context().Done()
			return
		case rule.Status != 0:
			w.WriteHeader(rule.Status)
			return
		case rule.Errcode != 0:
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			msg := rule.Errmsg
			if msg == "" {
				msg = "injected fault"
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"errcode": rule.Errcode, "errmsg": msg})
			return
		case rule.Delay > 0:
			select {
			case <-time.After(rule.Delay):
			case <-r.Context().Done():
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Handler serves the set over HTTP for people and tests: GET lists the
// rules, POST adds one (a Rule as JSON), DELETE clears them.
func (s *Set) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodGet:
			_ = json.NewEncoder(w).Encode(s.Rules())
		case http.MethodPost:
			var rule Rule
			if err := json.NewDecoder(r.Body).Decode(&rule); err != nil || rule.Path == "" {
				w.WriteHeader(http.StatusBadRequest)
				_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "invalid_rule", "message": "a rule needs a path and one of status, errcode, hang or delay"}})
				return
			}
			s.Add(rule)
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(rule)
		case http.MethodDelete:
			s.Clear()
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	})
}
