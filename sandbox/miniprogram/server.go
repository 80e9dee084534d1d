package miniprogram

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/siyu-live/siyu/sandbox/fault"
)

// The platform paths the sandbox serves.
const (
	pathToken        = "/cgi-bin/token"
	pathStableToken  = "/cgi-bin/stable_token"
	pathCode2Session = "/sns/jscode2session"
	pathPhoneNumber  = "/wxa/business/getuserphonenumber"
	pathSubscribe    = "/cgi-bin/message/subscribe/send"
	pathMsgSecCheck  = "/wxa/msg_sec_check"
	pathWxaCode      = "/wxa/getwxacodeunlimit"
	pathShipping     = "/wxa/sec/order/upload_shipping_info"
)

// ErrConfig is returned by New for a configuration the platform could not
// have (an unknown long-term template, a verdict with an unknown suggestion).
var ErrConfig = errors.New("miniprogram: invalid config")

// Server is the sandbox mini-program platform: the api.weixin.qq.com
// endpoints Siyu calls, and the shopper's phone that feeds them codes and
// consents. It is safe for concurrent use.
type Server struct {
	cfg      Config
	faults   *fault.Set
	api      http.Handler
	longTerm map[string]bool
	pages    map[string]bool

	mu         sync.Mutex
	usage      map[string]*usage
	tokens     map[string]*tokenRecord
	plain      string // the latest cgi-bin/token token
	stable     stableToken
	users      map[string]*user
	loginCodes map[string]*loginCode
	phoneCodes map[string]*phoneCode
	phonesUsed int
	consents   map[consentKey]*consentState
	sent       []SubscribeMessage
	lastMsgID  int64
	shipments  map[string]*shipment
	uploads    []ShippingUpload
	qrcodes    []QRCode
}

// endpoint is one platform API: whether it needs POST, whether it takes an
// access_token (and is then counted against its quota before serve runs),
// and the function that serves it, writing the success answer itself.
type endpoint struct {
	post  bool
	auth  bool
	serve func(w http.ResponseWriter, r *http.Request) *wechatError
}

// New returns a Server for cfg, with every zero field of cfg defaulted.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:        cfg,
		faults:     &fault.Set{},
		longTerm:   map[string]bool{},
		pages:      map[string]bool{},
		usage:      map[string]*usage{},
		tokens:     map[string]*tokenRecord{},
		users:      map[string]*user{},
		loginCodes: map[string]*loginCode{},
		phoneCodes: map[string]*phoneCode{},
		consents:   map[consentKey]*consentState{},
		shipments:  map[string]*shipment{},
	}
	for _, id := range cfg.LongTermTemplates {
		if _, ok := cfg.Templates[id]; !ok {
			return nil, fmt.Errorf("%w: long-term template %q is not in Templates", ErrConfig, id)
		}
		s.longTerm[id] = true
	}
	for _, p := range cfg.Pages {
		s.pages[p] = true
	}
	for word, v := range cfg.Words {
		if word == "" || severity(v.Suggest) < 0 {
			return nil, fmt.Errorf("%w: word %q has suggest %q (want pass, review or risky)", ErrConfig, word, v.Suggest)
		}
	}
	routes := map[string]endpoint{
		pathToken:        {serve: s.serveToken},
		pathStableToken:  {post: true, serve: s.serveStableToken},
		pathCode2Session: {serve: s.serveCode2Session},
		pathPhoneNumber:  {post: true, auth: true, serve: s.servePhoneNumber},
		pathSubscribe:    {post: true, auth: true, serve: s.serveSubscribeSend},
		pathMsgSecCheck:  {post: true, auth: true, serve: s.serveMsgSecCheck},
		pathWxaCode:      {post: true, auth: true, serve: s.serveWxaCode},
		pathShipping:     {post: true, auth: true, serve: s.serveShipping},
	}
	s.api = rooted(s.faults.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.route(routes, w, r)
	})))
	return s, nil
}

// ServeHTTP serves the platform API at its real paths, after the faults.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.api.ServeHTTP(w, r)
}

// Faults returns the fault switches applied to the platform API.
func (s *Server) Faults() *fault.Set { return s.faults }

// Settings returns what Siyu needs to talk to this platform, by environment
// variable name.
func (s *Server) Settings() map[string]string {
	return map[string]string{
		SettingAppID:     s.cfg.AppID,
		SettingAppSecret: s.cfg.AppSecret,
	}
}

func (s *Server) route(routes map[string]endpoint, w http.ResponseWriter, r *http.Request) {
	ep, found := routes[r.URL.Path]
	if !found {
		writeError(w, errInvalidURL)
		return
	}
	if ep.post && r.Method != http.MethodPost {
		writeError(w, errRequirePost)
		return
	}
	if ep.auth {
		if err := s.authorize(r.URL.Path, r.URL.Query().Get("access_token")); err != nil {
			writeError(w, err)
			return
		}
	}
	if err := ep.serve(w, r); err != nil {
		writeError(w, err)
	}
}

// authorize checks an API call's access token and counts the call against
// the API's quota.
func (s *Server) authorize(path, token string) *wechatError {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if err := s.checkToken(token, now); err != nil {
		return err
	}
	return s.takeQuota(path, now)
}

// rooted gives h paths that start with "/", whichever way the composing
// handler stripped its mount prefix ("/api.weixin.qq.com" or
// "/api.weixin.qq.com/").
func rooted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/") {
			h.ServeHTTP(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + r.URL.Path
		if r.URL.RawPath != "" {
			r2.URL.RawPath = "/" + r.URL.RawPath
		}
		h.ServeHTTP(w, r2)
	})
}
