package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
)

// The hosts whose APIs the sandbox stands in for.
const (
	HostMiniProgram = "api.weixin.qq.com"
	HostWeCom       = "qyapi.weixin.qq.com"
	HostPay         = "api.mch.weixin.qq.com"
)

// Hosts lists every host the sandbox serves.
var Hosts = []string{HostMiniProgram, HostWeCom, HostPay}

// served reports whether host (with or without a port) is one of Hosts.
func served(host string) bool {
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	for _, h := range Hosts {
		if h == host {
			return true
		}
	}
	return false
}

// InProcess returns a RoundTripper that serves requests for the WeChat hosts
// with h (a Sandbox handler) inside this process, as "/{host}{path}", and
// passes every other request to next (http.DefaultTransport when nil).
func InProcess(h http.Handler, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &inProcess{h: h, next: next}
}

type inProcess struct {
	h    http.Handler
	next http.RoundTripper
}

func (t *inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	if !served(r.URL.Host) {
		return t.next.RoundTrip(r)
	}
	return serveInProcess(t.h, r, prefixed(r.URL))
}

// serveInProcess answers r with h on this goroutine, as a request for u.
func serveInProcess(h http.Handler, r *http.Request, u *url.URL) (*http.Response, error) {
	// Read the body up front: the handler runs on this goroutine and a
	// RoundTripper must not hand the caller's body to another owner.
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	in := r.Clone(r.Context())
	in.URL = u
	in.RequestURI = u.RequestURI()
	in.Body = io.NopCloser(bytes.NewReader(body))
	in.ContentLength = int64(len(body))
	in.Host = r.URL.Host
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, in)
	if err := r.Context().Err(); err != nil {
		// The handler was told to hang (a timeout fault) and the caller gave up.
		return nil, err
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// Router is a RoundTripper that serves each registered host with its own
// platform handler (seeing the platform's real paths), in-process, and
// counts requests by path. Tests route an SDK's client through one to the
// platform servers they start; a request for an unregistered host fails.
type Router struct {
	mu    sync.Mutex
	hosts map[string]http.Handler
	calls map[string]int64
}

// Handle serves host with h and starts counting afresh; the returned
// function stops serving it (pass it to t.Cleanup).
func (rt *Router) Handle(host string, h http.Handler) (remove func()) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.hosts == nil {
		rt.hosts = map[string]http.Handler{}
	}
	rt.hosts[host] = h
	rt.calls = map[string]int64{}
	return func() {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		delete(rt.hosts, host)
	}
}

// Calls returns how many requests reached path (on any host) since the
// last Handle.
func (rt *Router) Calls(path string) int64 {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.calls[path]
}

// RoundTrip implements http.RoundTripper.
func (rt *Router) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	h := rt.hosts[r.URL.Host]
	if rt.calls != nil {
		rt.calls[r.URL.Path]++
	}
	rt.mu.Unlock()
	if h == nil {
		return nil, fmt.Errorf("sandbox router: no server for host %q", r.URL.Host)
	}
	return serveInProcess(h, r, &url.URL{Path: r.URL.Path, RawQuery: r.URL.RawQuery})
}

// Remote returns a RoundTripper that sends requests for the WeChat hosts to a
// standalone sandbox at base (as started by `siyu sandbox`), as
// "{base}/{host}{path}", and passes every other request to next.
func Remote(base *url.URL, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &remote{base: base, next: next}
}

type remote struct {
	base *url.URL
	next http.RoundTripper
}

func (t *remote) RoundTrip(r *http.Request) (*http.Response, error) {
	if !served(r.URL.Host) {
		return t.next.RoundTrip(r)
	}
	out := r.Clone(r.Context())
	p := prefixed(r.URL)
	u := *t.base
	u.Path = strings.TrimSuffix(u.Path, "/") + p.Path
	u.RawQuery = p.RawQuery
	out.URL = &u
	out.Host = u.Host
	return t.next.RoundTrip(out)
}

// prefixed maps https://host/path?q to /host/path?q.
func prefixed(u *url.URL) *url.URL {
	host := u.Host
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	return &url.URL{Path: "/" + host + u.Path, RawQuery: u.RawQuery}
}
