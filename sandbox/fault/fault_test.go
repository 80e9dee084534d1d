package fault

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMiddleware(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	tests := []struct {
		name     string
		rule     Rule
		path     string
		wantCode int
		wantBody string
	}{
		{"no match passes", Rule{Path: "other", Status: 500}, "/cgi-bin/token", 200, "ok"},
		{"status", Rule{Path: "token", Status: 503}, "/cgi-bin/token", 503, ""},
		{"errcode", Rule{Path: "token", Errcode: 45009, Errmsg: "quota"}, "/cgi-bin/token", 200, `"errcode":45009`},
		{"delay then answer", Rule{Path: "token", Delay: 10 * time.Millisecond}, "/cgi-bin/token", 200, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Set
			s.Add(tt.rule)
			rec := httptest.NewRecorder()
			s.Middleware(ok).ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if rec.Code != tt.wantCode || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Fatalf("%d %q", rec.Code, rec.Body.String())
			}
		})
	}
}

func TestTimesAndHang(t *testing.T) {
	var s Set
	s.Add(Rule{Path: "x", Status: 500, Times: 2})
	h := s.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	codes := []int{}
	for range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
		codes = append(codes, rec.Code)
	}
	if codes[0] != 500 || codes[1] != 500 || codes[2] != 200 {
		t.Fatalf("codes %v: a rule with Times 2 applies twice", codes)
	}
	s.Add(Rule{Path: "x", Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil).WithContext(ctx))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("a hanging request did not end with its context")
	}
}

func TestHandler(t *testing.T) {
	var s Set
	h := s.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(`{"path":"token","errcode":40001}`)))
	if rec.Code != 201 || len(s.Rules()) != 1 {
		t.Fatalf("add: %d %v", rec.Code, s.Rules())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(`{}`)))
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	if rec.Code != 400 || e.Error.Code != "invalid_rule" {
		t.Fatalf("bad rule: %d %s", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("DELETE", "/", nil))
	if rec.Code != 204 || len(s.Rules()) != 0 {
		t.Fatalf("clear: %d %v", rec.Code, s.Rules())
	}
}
