package miniprogram

import (
	"math"
	"net/http"
	"time"
)

// tokenRecord is one issued access token. A token works until expiresAt
// (then 42001), unless a newer token retired it at retiredAt (then 40001).
type tokenRecord struct {
	expiresAt time.Time
	retiredAt time.Time
}

// stableToken is the state of cgi-bin/stable_token, which is isolated from
// cgi-bin/token: neither endpoint's tokens replace the other's.
type stableToken struct {
	token     string
	lastForce time.Time
	forced    tally // force refreshes today
}

// tokenAnswer is the success answer of both token endpoints.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// credentials checks the appid/secret pair the token and login endpoints
// take, in the order the platform reports problems.
func (s *Server) credentials(grantType, wantGrant, appID, secret string) *wechatError {
	switch {
	case appID == "":
		return errAppIDMissing
	case secret == "":
		return errSecretMissing
	case grantType != wantGrant:
		return errGrantType
	case appID != s.cfg.AppID:
		return errInvalidAppID
	case secret != s.cfg.AppSecret:
		return errInvalidSecret
	}
	return nil
}

// serveToken is GET cgi-bin/token: every call issues a new token, and the
// previous one keeps working for TokenOverlap.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) *wechatError {
	q := r.URL.Query()
	if err := s.credentials(q.Get("grant_type"), "client_credential", q.Get("appid"), q.Get("secret")); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if err := s.takeQuota(pathToken, now); err != nil {
		return err
	}
	s.retire(s.plain, now)
	s.plain = s.issue(now)
	writeJSON(w, tokenAnswer{AccessToken: s.plain, ExpiresIn: int64(s.cfg.TokenTTL / time.Second)})
	return nil
}

// stableTokenRequest is the body of POST cgi-bin/stable_token.
type stableTokenRequest struct {
	GrantType    string `json:"grant_type"`
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh"`
}

// serveStableToken is POST cgi-bin/stable_token. In normal mode it returns
// the current token while more than TokenOverlap of its life is left, and a
// new one after that (the old one then simply runs out). In force-refresh
// mode it issues a new token and retires the old one after TokenOverlap, at
// most ForceRefreshPerDay times a day (then 45009); a force refresh sooner
// than ForceRefreshInterval after the last one does not refresh.
//
// The stable_token page says a force refresh makes the previous token
// invalid; the platform's access-token guide promises old and new tokens
// both work for 5 minutes around a hand-over. The sandbox follows the guide
// (set TokenOverlap tiny to model an immediate cut-off).
func (s *Server) serveStableToken(w http.ResponseWriter, r *http.Request) *wechatError {
	var req stableTokenRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if err := s.credentials(req.GrantType, "client_credential", req.AppID, req.Secret); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if err := s.takeQuota(pathStableToken, now); err != nil {
		return err
	}
	cur := s.tokens[s.stable.token]
	live := cur != nil && now.Before(cur.expiresAt)
	switch {
	case !req.ForceRefresh && live && now.Before(cur.expiresAt.Add(-s.cfg.TokenOverlap)):
		// Normal mode inside the token's life: the same token again.
	case !req.ForceRefresh:
		s.stable.token = s.issue(now)
	case live && !s.stable.lastForce.IsZero() && now.Sub(s.stable.lastForce) < s.cfg.ForceRefreshInterval:
		// Force refreshes closer together than the interval do not refresh.
	default:
		day := dayOf(now)
		if s.stable.forced.full(day, s.cfg.ForceRefreshPerDay) {
			return errDailyQuota
		}
		s.stable.forced.add(day)
		s.stable.lastForce = now
		s.retire(s.stable.token, now)
		s.stable.token = s.issue(now)
	}
	rec := s.tokens[s.stable.token]
	left := int64(math.Ceil(rec.expiresAt.Sub(now).Seconds()))
	writeJSON(w, tokenAnswer{AccessToken: s.stable.token, ExpiresIn: left})
	return nil
}

// issue records and returns a new token. The caller holds s.mu.
func (s *Server) issue(now time.Time) string {
	token := newAccessToken()
	s.tokens[token] = &tokenRecord{expiresAt: now.Add(s.cfg.TokenTTL)}
	return token
}

// retire makes token stop working TokenOverlap from now, unless it runs out
// sooner on its own. The caller holds s.mu.
func (s *Server) retire(token string, now time.Time) {
	rec := s.tokens[token]
	if rec == nil || !rec.retiredAt.IsZero() {
		return
	}
	if end := now.Add(s.cfg.TokenOverlap); end.Before(rec.expiresAt) {
		rec.retiredAt = end
	}
}

// checkToken answers 41001 for no token, 40001 for an unknown or retired
// one and 42001 for an expired one. The caller holds s.mu.
func (s *Server) checkToken(token string, now time.Time) *wechatError {
	if token == "" {
		return errTokenMissing
	}
	rec := s.tokens[token]
	switch {
	case rec == nil:
		return errTokenInvalid
	case !rec.retiredAt.IsZero() && !now.Before(rec.retiredAt):
		return errTokenInvalid
	case !now.Before(rec.expiresAt):
		return errTokenExpired
	}
	return nil
}
