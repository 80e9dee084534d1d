package wecom

import (
	"net/http"
	"time"
)

// tokenAnswer is the answer of cgi-bin/gettoken.
type tokenAnswer struct {
	status
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// getToken serves GET cgi-bin/gettoken?corpid=ID&corpsecret=SECRET.
//
// WeCom checks the secret's presence first (a request without parameters
// answers 41004), then the corp id (40013), then the secret (40001). While a
// token is valid, asking again returns the same token ("有效期内重复获取返回
// 相同结果"); expires_in then counts the seconds it has left, so a client that
// caches for expires_in never holds an expired token.
func (s *Server) getToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	corpID, secret := q.Get("corpid"), q.Get("corpsecret")
	switch {
	case secret == "":
		s.writeAPIError(w, r, errSecretMissing())
		return
	case corpID == "":
		s.writeAPIError(w, r, errCorpIDMissing())
		return
	case corpID != s.cfg.CorpID:
		s.writeAPIError(w, r, errInvalidCorpID())
		return
	case secret != s.cfg.CorpSecret:
		s.writeAPIError(w, r, errInvalidCredential())
		return
	}
	token, left := s.issueToken()
	writeJSON(w, tokenAnswer{status: okStatus, AccessToken: token, ExpiresIn: int64(left / time.Second)})
}

// issueToken returns the current token, minting a new one when there is none
// or it has expired, and how long it has left.
func (s *Server) issueToken() (string, time.Duration) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if exp, ok := s.tokens[s.current]; ok && now.Before(exp) {
		return s.current, exp.Sub(now)
	}
	// Lock order is mu, then randMu; random never takes mu.
	token := s.randomID(128)
	s.current = token
	s.tokens[token] = now.Add(s.cfg.TokenTTL)
	return token, s.cfg.TokenTTL
}

// checkToken answers 41001 for a missing token, 40014 for one this corp never
// issued and 42001 for one that has expired.
func (s *Server) checkToken(token string) *apiError {
	if token == "" {
		return errTokenMissing()
	}
	s.mu.Lock()
	exp, ok := s.tokens[token]
	s.mu.Unlock()
	switch {
	case !ok:
		return errInvalidToken()
	case !s.now().Before(exp):
		return errTokenExpired()
	}
	return nil
}

// ExpireTokens makes every issued access_token expired, so the next API call
// with one answers 42001 and the next gettoken mints a new token.
func (s *Server) ExpireTokens() {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = now
	}
}
