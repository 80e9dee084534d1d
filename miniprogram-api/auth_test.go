package miniprogramapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
	miniprogramapi "github.com/siyu-live/siyu/miniprogram-api"
)

// countingMembers knows one token and counts how often it is asked.
type countingMembers struct {
	mu     sync.Mutex
	asked  int
	token  string
	member string
}

func (m *countingMembers) Authenticate(_ context.Context, token string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.asked++
	if token != m.token {
		return "", community.ErrSessionNotFound
	}
	return m.member, nil
}

func (m *countingMembers) Login(context.Context, community.LoginRequest) (community.Login, error) {
	return community.Login{}, errors.New("not in this test")
}

func (m *countingMembers) Logout(_ context.Context, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if token != m.token {
		return community.ErrSessionNotFound
	}
	m.token = ""
	return nil
}

func (m *countingMembers) Get(_ context.Context, id string) (community.Member, error) {
	return community.Member{ID: id, OpenID: "o-" + id}, nil
}

func (m *countingMembers) UpdateProfile(context.Context, string, community.ProfileChange) (community.Member, error) {
	return community.Member{}, errors.New("not in this test")
}

func (m *countingMembers) BindPhone(context.Context, string, string) (community.Member, error) {
	return community.Member{}, errors.New("not in this test")
}

// TestSessionCacheTTL checks how often member routes ask for the session
// with and without the cache, and that a logout ends the token at once.
func TestSessionCacheTTL(t *testing.T) {
	tests := []struct {
		name      string
		ttl       time.Duration
		wantAsked int
	}{
		{"without a cache every request asks", 0, 3},
		{"with a cache the first request asks", time.Minute, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &countingMembers{token: "sym_ok", member: "m1"}
			log := slog.New(slog.DiscardHandler)
			app := edge.New(edge.Config{BodyLimit: 1 << 20, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
				ConsoleOrigin: "http://localhost:8080", Logger: log, Registry: prometheus.NewRegistry()})
			api := miniprogramapi.New(miniprogramapi.Config{Logger: log, Sessions: m, Members: m, SessionCacheTTL: tt.ttl})
			if err := api.Mount(app, edge.NewDoc("test", "0", "")); err != nil {
				t.Fatal(err)
			}
			do := func(method, token string) int {
				req := httptest.NewRequest(method, "/mp/v1/me", nil)
				if method == http.MethodDelete {
					req = httptest.NewRequest(method, "/mp/v1/session", nil)
				}
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := app.Test(req, -1)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			for range 3 {
				if s := do(http.MethodGet, "sym_ok"); s != 200 {
					t.Fatalf("GET /me = %d", s)
				}
			}
			if m.asked != tt.wantAsked {
				t.Fatalf("asked %d times, want %d", m.asked, tt.wantAsked)
			}
			if s := do(http.MethodDelete, "sym_ok"); s != http.StatusNoContent {
				t.Fatalf("logout = %d", s)
			}
			if s := do(http.MethodGet, "sym_ok"); s != http.StatusUnauthorized {
				t.Fatalf("after logout = %d, want 401", s)
			}
			if s := do(http.MethodGet, "sym_unknown"); s != http.StatusUnauthorized {
				t.Fatalf("unknown token = %d, want 401", s)
			}
		})
	}
}

// manyMembers knows many tokens and counts how often it is asked.
type manyMembers struct {
	countingMembers
	tokens map[string]string // token → member
}

func (m *manyMembers) Authenticate(_ context.Context, token string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.asked++
	id, ok := m.tokens[token]
	if !ok {
		return "", community.ErrSessionNotFound
	}
	return id, nil
}

// TestSessionCacheOverKeptAliveConnections sends the requests of many
// shoppers over two kept-alive connections of a real server, as a load
// balancer does: fasthttp reads each request into its connection's
// buffer, so a cache that kept the token as it was handed would see it
// change under it. Each token is asked for once and answers its member.
func TestSessionCacheOverKeptAliveConnections(t *testing.T) {
	m := &manyMembers{tokens: map[string]string{}}
	const shoppers = 40
	for i := range shoppers {
		m.tokens[fmt.Sprintf("sym_token_%03d", i)] = fmt.Sprintf("member-%03d", i)
	}
	log := slog.New(slog.DiscardHandler)
	app := edge.New(edge.Config{BodyLimit: 1 << 20, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		ConsoleOrigin: "http://localhost:8080", Logger: log, Registry: prometheus.NewRegistry()})
	api := miniprogramapi.New(miniprogramapi.Config{Logger: log, Sessions: m, Members: m, SessionCacheTTL: time.Minute})
	if err := api.Mount(app, edge.NewDoc("test", "0", "")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	conns := []*http.Client{
		{Transport: &http.Transport{MaxConnsPerHost: 1}},
		{Transport: &http.Transport{MaxConnsPerHost: 1}},
	}
	for round := range 3 {
		for i := range shoppers {
			req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/mp/v1/me", nil)
			req.Header.Set("Authorization", fmt.Sprintf("Bearer sym_token_%03d", i))
			resp, err := conns[(i+round)%2].Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var me struct{ ID string }
			err = json.NewDecoder(resp.Body).Decode(&me)
			resp.Body.Close()
			if want := fmt.Sprintf("member-%03d", i); err != nil || resp.StatusCode != 200 || me.ID != want {
				t.Fatalf("round %d: token %d answered %d %q (%v), want %s", round, i, resp.StatusCode, me.ID, err, want)
			}
		}
	}
	if m.asked != shoppers {
		t.Fatalf("sessions asked %d times for %d tokens", m.asked, shoppers)
	}
}
