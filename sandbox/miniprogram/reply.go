package miniprogram

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// wechatError is a platform error answer: HTTP 200 with errcode and errmsg,
// as every api.weixin.qq.com endpoint answers failures.
type wechatError struct {
	Code int
	Msg  string
}

func (e *wechatError) Error() string {
	return fmt.Sprintf("errcode=%d errmsg=%s", e.Code, e.Msg)
}

// fail builds a wechatError; the message follows the platform's English
// errmsg texts where they are known.
func fail(code int, format string, args ...any) *wechatError {
	return &wechatError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Errors shared by several endpoints.
var (
	errDataFormat    = fail(47001, "data format error")
	errRequirePost   = fail(43002, "require POST method")
	errInvalidURL    = fail(40066, "invalid url")
	errTokenMissing  = fail(41001, "access_token missing")
	errTokenInvalid  = fail(40001, "invalid credential, access_token is invalid or not latest")
	errTokenExpired  = fail(42001, "access_token expired")
	errDailyQuota    = fail(45009, "reach max api daily quota limit")
	errMinuteQuota   = fail(45011, "api minute-quota reach limit mustslower retry next minute")
	errInvalidAppID  = fail(40013, "invalid appid")
	errInvalidSecret = fail(40125, "invalid appsecret")
	errGrantType     = fail(40002, "invalid grant_type")
	errAppIDMissing  = fail(41002, "appid missing")
	errSecretMissing = fail(41004, "appsecret missing")
)

// contentTypeJSON is the platform's JSON content type, which the SDK checks
// by prefix to tell an error from an image.
const contentTypeJSON = "application/json; encoding=utf-8"

// writeJSON answers 200 with v as JSON.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", contentTypeJSON)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError answers a platform error.
func writeError(w http.ResponseWriter, e *wechatError) {
	writeJSON(w, map[string]any{"errcode": e.Code, "errmsg": e.Msg})
}

// ok is the success envelope every JSON answer carries.
type ok struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

var okay = ok{ErrCode: 0, ErrMsg: "ok"}

// decodeBody reads a JSON request body into v; a body that is not JSON is the
// platform's 47001.
func decodeBody(r *http.Request, v any) *wechatError {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return errDataFormat
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errDataFormat
	}
	return nil
}
