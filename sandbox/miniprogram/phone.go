package miniprogram

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Errors of the phone's getPhoneNumber button.
var (
	// ErrInvalidPhone is returned for a number the sandbox cannot split
	// into country code and national number.
	ErrInvalidPhone = errors.New("miniprogram: invalid phone number")
	// ErrPhoneQuota is the button's errno 1400001: the mini-program has
	// used up its phone-number verifications.
	ErrPhoneQuota = errors.New("miniprogram: errno 1400001, phone number quota used up")
)

// phoneCode is a getPhoneNumber button code: single use, short-lived.
type phoneCode struct {
	phone     phoneInfo
	mintedAt  time.Time
	expiresAt time.Time
	used      bool
}

// phoneInfo is the platform's phone_info object. countryCode is a string,
// as the field table and the SDK have it (the page's example shows 86 as a
// number).
type phoneInfo struct {
	PhoneNumber     string    `json:"phoneNumber"`
	PurePhoneNumber string    `json:"purePhoneNumber"`
	CountryCode     string    `json:"countryCode"`
	Watermark       watermark `json:"watermark"`
}

type watermark struct {
	Timestamp int64  `json:"timestamp"`
	AppID     string `json:"appid"`
}

var (
	chinaMobile        = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	internationalPhone = regexp.MustCompile(`^\+([1-9][0-9]{0,3})[ -]([0-9]{4,14})$`)
)

// parsePhone splits a number: eleven digits are a mainland mobile number
// (country code 86); other countries are written "+CC NUMBER".
func parsePhone(phone string) (phoneInfo, error) {
	phone = strings.TrimSpace(phone)
	if chinaMobile.MatchString(phone) {
		return phoneInfo{PhoneNumber: phone, PurePhoneNumber: phone, CountryCode: "86"}, nil
	}
	m := internationalPhone.FindStringSubmatch(phone)
	if m == nil {
		return phoneInfo{}, fmt.Errorf("%w: %q (want 11 digits or +CC NUMBER)", ErrInvalidPhone, phone)
	}
	if m[1] == "86" {
		if !chinaMobile.MatchString(m[2]) {
			return phoneInfo{}, fmt.Errorf("%w: %q is not a mainland mobile number", ErrInvalidPhone, phone)
		}
		return phoneInfo{PhoneNumber: m[2], PurePhoneNumber: m[2], CountryCode: "86"}, nil
	}
	// Foreign numbers carry their country code in phoneNumber.
	return phoneInfo{PhoneNumber: "+" + m[1] + m[2], PurePhoneNumber: m[2], CountryCode: m[1]}, nil
}

// MintPhoneCode is the shopper tapping the getPhoneNumber button and
// agreeing to share phone: it returns a code the backend can exchange once,
// within CodeTTL, at wxa/business/getuserphonenumber.
func (s *Server) MintPhoneCode(phone string) (string, error) {
	info, err := parsePhone(phone)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.PhoneQuota > 0 && s.phonesUsed >= s.cfg.PhoneQuota {
		return "", ErrPhoneQuota
	}
	s.phonesUsed++
	now := s.cfg.Now()
	code := newPhoneCode()
	s.phoneCodes[code] = &phoneCode{phone: info, mintedAt: now, expiresAt: now.Add(s.cfg.CodeTTL)}
	return code, nil
}

// phoneRequest is the body of getuserphonenumber. The optional openid would
// make the platform check the code was made for that user; sandbox codes
// are not bound to a user, so it is accepted and not checked.
type phoneRequest struct {
	Code   string `json:"code"`
	OpenID string `json:"openid"`
}

// servePhoneNumber is POST wxa/business/getuserphonenumber: a button code
// becomes the phone number, once, within CodeTTL; anything else is 40029.
func (s *Server) servePhoneNumber(w http.ResponseWriter, r *http.Request) *wechatError {
	var req phoneRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pc := s.phoneCodes[req.Code]
	if pc == nil || pc.used || !s.cfg.Now().Before(pc.expiresAt) {
		return errInvalidCode
	}
	pc.used = true
	info := pc.phone
	info.Watermark = watermark{Timestamp: pc.mintedAt.Unix(), AppID: s.cfg.AppID}
	writeJSON(w, struct {
		ok
		PhoneInfo phoneInfo `json:"phone_info"`
	}{okay, info})
	return nil
}
