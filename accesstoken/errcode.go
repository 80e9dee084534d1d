package accesstoken

import (
	"errors"
	"regexp"
	"strconv"

	"github.com/silenceper/wechat/v2/util"
)

// The WeChat and WeCom error codes that mean "this access token is no
// good": 40001 invalid credential (the mini-program's answer for an unknown
// or replaced token), 40014 invalid access_token (WeCom's), 42001 expired.
const (
	CodeInvalidCredential  = 40001
	CodeInvalidAccessToken = 40014
	CodeTokenExpired       = 42001
)

// errcodeText finds the errcode in the SDK errors that are plain strings,
// such as "Code2Session error : errcode=40029 , errmsg=invalid code".
var errcodeText = regexp.MustCompile(`errcode=(-?\d+)`)

// ErrCode returns the WeChat errcode an SDK error carries, and whether it
// carries one. silenceper/wechat reports errcodes either as a
// *util.CommonError or inside a formatted message; both are understood.
func ErrCode(err error) (int64, bool) {
	if err == nil {
		return 0, false
	}
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return ce.ErrCode, true
	}
	m := errcodeText.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, false
	}
	n, perr := strconv.ParseInt(m[1], 10, 64)
	if perr != nil {
		return 0, false
	}
	return n, true
}

// IsTokenError reports whether err is WeChat or WeCom saying the access
// token used was invalid or expired.
func IsTokenError(err error) bool {
	code, ok := ErrCode(err)
	return ok && (code == CodeInvalidCredential || code == CodeInvalidAccessToken || code == CodeTokenExpired)
}

// secretParam matches the query parameters that carry secrets in the URLs
// the SDK puts into its errors ("http get error : uri=…&secret=…").
var secretParam = regexp.MustCompile(`(?i)\b(secret|corpsecret|js_code|code|access_token)=[^&\s"']*`)

// Redact returns s with the values of secret-bearing query parameters
// (secret, corpsecret, js_code, code, access_token) replaced, so an SDK
// error can be logged or wrapped without leaking credentials.
func Redact(s string) string {
	return secretParam.ReplaceAllString(s, "$1=REDACTED")
}
