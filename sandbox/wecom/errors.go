package wecom

import (
	"errors"
	"fmt"
)

// Errors returned by the Go methods behind the phone actions and the console.
var (
	ErrUnknownJoinWay    = errors.New("wecom: no such join way (进群方式) config_id")
	ErrUnknownContactWay = errors.New("wecom: no such contact way (联系我) config_id")
	ErrUnknownGroup      = errors.New("wecom: no such customer group")
	ErrAlreadyMember     = errors.New("wecom: the person is already in the group")
	ErrNotMember         = errors.New("wecom: the person is not in the group")
	ErrAlreadyContact    = errors.New("wecom: the person is already a customer of that staff member")
	ErrInvalidPerson     = errors.New("wecom: a person needs a unionid")
	ErrInvalidCallback   = errors.New("wecom: invalid callback configuration")
	ErrNoCallback        = errors.New("wecom: no callback URL is configured")
	ErrInvalidConfig     = errors.New("wecom: invalid sandbox config")
)

// apiError is an error answered by the platform API as {"errcode","errmsg"}.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return fmt.Sprintf("errcode=%d errmsg=%s", e.code, e.msg) }

// The platform error codes the sandbox answers. Codes and messages come from
// WeCom's global error code list (全局错误码) and from answers captured from
// the real API (for example "invalid corpid", "corpsecret missing",
// "invalid access_token", "missing contact way type"). Where WeCom documents a
// limit but not the code it answers when the limit is broken, the sandbox
// answers 40058 (不合法的参数, "invalid Request Parameter"), WeCom's general
// invalid-parameter code, with a message naming the parameter.
func errInvalidCredential() *apiError { return &apiError{40001, "invalid credential"} }
func errInvalidUserID() *apiError     { return &apiError{40003, "invalid userid"} }
func errInvalidCorpID() *apiError     { return &apiError{40013, "invalid corpid"} }
func errInvalidToken() *apiError      { return &apiError{40014, "invalid access_token"} }
func errChatNotFound() *apiError      { return &apiError{40050, "invalid chatid"} }
func errInvalidTagID() *apiError      { return &apiError{40068, "invalid tagid"} }
func errInvalidExternalUserID() *apiError {
	return &apiError{40096, "invalid external userid"}
}
func errTokenMissing() *apiError  { return &apiError{41001, "access_token missing"} }
func errCorpIDMissing() *apiError { return &apiError{41002, "corpid missing"} }
func errSecretMissing() *apiError { return &apiError{41004, "corpsecret missing"} }
func errContactWayTypeMissing() *apiError {
	return &apiError{41037, "missing contact way type"}
}
func errTokenExpired() *apiError   { return &apiError{42001, "access_token expired"} }
func errContentTooLong() *apiError { return &apiError{45002, "content size out of limit"} }
func errBadJSON() *apiError        { return &apiError{47001, "data format error"} }
func errNotExternalContact() *apiError {
	return &apiError{84061, "not external contact"}
}

// errInvalidParam is 40058 with the offending parameter named.
func errInvalidParam(format string, args ...any) *apiError {
	return &apiError{40058, "invalid Request Parameter, " + fmt.Sprintf(format, args...)}
}
