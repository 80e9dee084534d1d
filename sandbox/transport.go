package sandbox

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
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
	in.URL = prefixed(r.URL)
	in.RequestURI = in.URL.RequestURI()
	in.Body = io.NopCloser(bytes.NewReader(body))
	in.ContentLength = int64(len(body))
	in.Host = r.URL.Host
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	if err := r.Context().Err(); err != nil {
		// The handler was told to hang (a timeout fault) and the caller gave up.
		return nil, err
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
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
