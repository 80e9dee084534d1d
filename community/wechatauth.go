package community

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	wxmp "github.com/silenceper/wechat/v2/miniprogram"

	"github.com/siyu-live/siyu/accesstoken"
)

// WeChat is what logins need from the mini-program platform.
type WeChat interface {
	// Code2Session exchanges a wx.login code for the user's identity.
	Code2Session(ctx context.Context, code string) (WeChatSession, error)
	// PhoneNumber exchanges a getPhoneNumber button code for the number.
	PhoneNumber(ctx context.Context, code string) (PhoneNumber, error)
}

// WeChatSession is jscode2session's answer.
type WeChatSession struct {
	OpenID     string
	UnionID    string
	SessionKey SessionKey
}

// PhoneNumber is getuserphonenumber's phone_info.
type PhoneNumber struct {
	// Number is phoneNumber: with the country code for foreign numbers.
	Number string
	// PureNumber is purePhoneNumber, without the country code.
	PureNumber string
	// CountryCode is countryCode, such as "86".
	CountryCode string
}

// TokenRetrier runs an SDK call and retries it once with a fresh access
// token when WeChat says the token was invalid or expired
// (*accesstoken.Cache).
type TokenRetrier interface {
	Retry(ctx context.Context, call func(ctx context.Context) error) error
}

// MiniProgramAuth is the mini-program's login and phone APIs through
// silenceper/wechat, with WeChat's errors turned into this package's.
type MiniProgramAuth struct {
	mp     *wxmp.MiniProgram
	tokens TokenRetrier
	now    func() time.Time
}

// NewMiniProgramAuth wraps mp, whose access-token handle is tokens.
func NewMiniProgramAuth(mp *wxmp.MiniProgram, tokens TokenRetrier) *MiniProgramAuth {
	return &MiniProgramAuth{mp: mp, tokens: tokens, now: time.Now}
}

// Code2Session calls sns/jscode2session.
func (a *MiniProgramAuth) Code2Session(ctx context.Context, code string) (WeChatSession, error) {
	res, err := a.mp.GetAuth().Code2SessionContext(ctx, code)
	if err != nil {
		return WeChatSession{}, a.classify("jscode2session", err, ErrInvalidCode)
	}
	// The answer is read into fields only; it is never logged or wrapped
	// into an error, because it holds the session_key.
	key, derr := base64.StdEncoding.DecodeString(res.SessionKey)
	if derr != nil || len(key) == 0 || res.OpenID == "" {
		return WeChatSession{}, fmt.Errorf("%w: jscode2session answered without a usable openid or session_key", ErrWeChatUnavailable)
	}
	return WeChatSession{OpenID: res.OpenID, UnionID: res.UnionID, SessionKey: key}, nil
}

// PhoneNumber calls wxa/business/getuserphonenumber.
func (a *MiniProgramAuth) PhoneNumber(ctx context.Context, code string) (PhoneNumber, error) {
	var out PhoneNumber
	err := a.tokens.Retry(ctx, func(ctx context.Context) error {
		res, err := a.mp.GetAuth().GetPhoneNumberContext(ctx, code)
		if err != nil {
			return err
		}
		info := res.PhoneInfo
		if appID := a.mp.GetContext().AppID; info.WaterMark.AppID != "" && info.WaterMark.AppID != appID {
			return fmt.Errorf("%w: the phone number's watermark names another mini-program", ErrInvalidPhoneCode)
		}
		out = PhoneNumber{Number: info.PhoneNumber, PureNumber: info.PurePhoneNumber, CountryCode: info.CountryCode}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrInvalidPhoneCode) {
			return PhoneNumber{}, err
		}
		return PhoneNumber{}, a.classify("getuserphonenumber", err, ErrInvalidPhoneCode)
	}
	if out.PureNumber == "" {
		return PhoneNumber{}, fmt.Errorf("%w: getuserphonenumber answered without a number", ErrWeChatUnavailable)
	}
	return out, nil
}

// classify turns an SDK error into a sentinel. The SDK's messages can hold
// the request URL with the app secret and the code, so only a redacted
// message is ever kept.
func (a *MiniProgramAuth) classify(api string, err error, invalid error) error {
	if errors.Is(err, accesstoken.ErrUnavailable) {
		return fmt.Errorf("%w: %s: no access token: %s", ErrWeChatUnavailable, api, accesstoken.Redact(err.Error()))
	}
	code, ok := accesstoken.ErrCode(err)
	if !ok {
		// Transport errors, timeouts, non-200 answers, unreadable bodies.
		return fmt.Errorf("%w: %s: %s", ErrWeChatUnavailable, api, accesstoken.Redact(err.Error()))
	}
	switch code {
	case 40029, 41008:
		// 40029 invalid code, 41008 missing code.
		return fmt.Errorf("%w (%s errcode %d)", invalid, api, code)
	case 40163:
		if invalid == ErrInvalidCode {
			return fmt.Errorf("%w (%s errcode %d)", ErrCodeUsed, api, code)
		}
		return fmt.Errorf("%w (%s errcode %d)", invalid, api, code)
	case 45011:
		// WeChat's minute quota: "retry next minute".
		now := a.now()
		wait := now.Truncate(time.Minute).Add(time.Minute).Sub(now)
		return &RetryError{Err: fmt.Errorf("%w (%s errcode 45011)", ErrWeChatRateLimited, api), After: max(wait, time.Second)}
	case -1:
		// "system error, retry later".
		return fmt.Errorf("%w: %s errcode -1 (system busy)", ErrWeChatUnavailable, api)
	}
	// Anything else (bad app credentials, 40013, 40125…) is Siyu's setup,
	// not the shopper's doing: an internal error, logged.
	return fmt.Errorf("community: %s: %s", api, accesstoken.Redact(err.Error()))
}
