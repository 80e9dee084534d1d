package community

import (
	"errors"
	"time"
)

// Identity errors. Handlers map them to answers; the wrapped message of a
// returned error may say more.
var (
	// ErrMemberNotFound is returned for an unknown member ID or openid.
	ErrMemberNotFound = errors.New("member not found")
	// ErrInvalidCode is a wx.login code WeChat does not know or has expired.
	ErrInvalidCode = errors.New("the login code is invalid or expired; call wx.login again")
	// ErrCodeUsed is a wx.login code that was already exchanged.
	ErrCodeUsed = errors.New("the login code was already used; call wx.login again")
	// ErrInvalidPhoneCode is a getPhoneNumber code WeChat refuses: unknown,
	// expired or used.
	ErrInvalidPhoneCode = errors.New("the phone-number code is invalid, expired or used; ask the shopper to tap the button again")
	// ErrLoginLimited is Siyu's own login limit, per IP or per openid.
	ErrLoginLimited = errors.New("too many logins; try again later")
	// ErrWeChatRateLimited is WeChat's minute quota (errcode 45011).
	ErrWeChatRateLimited = errors.New("WeChat is limiting these calls; try again later")
	// ErrWeChatUnavailable is WeChat failing or not answering; nothing was
	// changed.
	ErrWeChatUnavailable = errors.New("WeChat is unavailable; try again")
	// ErrSessionNotFound is a session token Siyu does not know (never issued,
	// or revoked by logout).
	ErrSessionNotFound = errors.New("session not found; log in again")
	// ErrSessionExpired is a session token past its expiry.
	ErrSessionExpired = errors.New("session expired; log in again")
	// ErrInvalidProfile is a nickname or avatar URL that is not acceptable.
	ErrInvalidProfile = errors.New("invalid profile")
)

// RetryError is a refusal that can be retried after a while. It matches its
// sentinel with errors.Is, and HTTP layers send RetryAfter as Retry-After.
type RetryError struct {
	Err   error
	After time.Duration
}

func (e *RetryError) Error() string { return e.Err.Error() }

// Unwrap returns the sentinel.
func (e *RetryError) Unwrap() error { return e.Err }

// RetryAfter is how long to wait before trying again.
func (e *RetryError) RetryAfter() time.Duration { return e.After }
