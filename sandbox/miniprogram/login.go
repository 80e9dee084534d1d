package miniprogram

import (
	"net/http"
	"time"
)

// user is a WeChat user who has opened the mini-program on the sandbox
// phone.
type user struct {
	openID  string
	unionID string
	logins  tally // jscode2session calls this minute
}

// loginCode is a wx.login code: single use, short-lived.
type loginCode struct {
	openID    string
	expiresAt time.Time
	used      bool
}

// Login errors, as jscode2session answers them.
var (
	errInvalidCode = fail(40029, "invalid code")
	errCodeUsed    = fail(40163, "code been used")
	errMissingCode = fail(41008, "missing code")
)

// MintLoginCode is the phone calling wx.login as the user openid: it returns
// a code the backend can exchange once, within CodeTTL, at
// sns/jscode2session. A non-empty unionid is returned with the session, as
// for a mini-program bound to an Open Platform account.
func (s *Server) MintLoginCode(openid, unionid string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.user(openid)
	if unionid != "" {
		u.unionID = unionid
	}
	code := newLoginCode()
	s.loginCodes[code] = &loginCode{openID: openid, expiresAt: s.cfg.Now().Add(s.cfg.CodeTTL)}
	return code
}

// user returns the user openid, registering a first visit. The caller holds
// s.mu.
func (s *Server) user(openid string) *user {
	u := s.users[openid]
	if u == nil {
		u = &user{openID: openid}
		s.users[openid] = u
	}
	return u
}

// session is the success answer of jscode2session; the platform leaves
// errcode out on success and unionid out when there is none.
type session struct {
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid,omitempty"`
}

// serveCode2Session is GET sns/jscode2session: it exchanges a login code for
// the user's openid, a fresh session key and the unionid.
func (s *Server) serveCode2Session(w http.ResponseWriter, r *http.Request) *wechatError {
	q := r.URL.Query()
	if err := s.credentials(q.Get("grant_type"), "authorization_code", q.Get("appid"), q.Get("secret")); err != nil {
		return err
	}
	code := q.Get("js_code")
	if code == "" {
		return errMissingCode
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if err := s.takeQuota(pathCode2Session, now); err != nil {
		return err
	}
	lc := s.loginCodes[code]
	if lc == nil {
		return errInvalidCode
	}
	// The per-user limit counts every exchange attempt for the user the
	// code belongs to, spent or not.
	u := s.user(lc.openID)
	minute := minuteOf(now)
	if u.logins.full(minute, s.cfg.LoginPerUserPerMinute) {
		return errMinuteQuota
	}
	u.logins.add(minute)
	switch {
	case lc.used:
		return errCodeUsed
	case !now.Before(lc.expiresAt):
		return errInvalidCode
	}
	lc.used = true
	writeJSON(w, session{OpenID: u.openID, SessionKey: newSessionKey(), UnionID: u.unionID})
	return nil
}
