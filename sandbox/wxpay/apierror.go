package wxpay

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is an APIv3 error answer: an HTTP status and a JSON body
// {"code":…,"message":…,"detail":…}, which wechatpay-go reads into
// core.APIError. Error answers carry no Wechatpay-* signature headers
// (observed on the real platform), so clients cannot and do not verify them.
type apiError struct {
	Status  int          `json:"-"`
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Detail  *errorDetail `json:"detail,omitempty"`
}

// errorDetail locates a PARAM_ERROR, as the platform does.
type errorDetail struct {
	Field    string `json:"field,omitempty"`
	Value    any    `json:"value,omitempty"`
	Issue    string `json:"issue,omitempty"`
	Location string `json:"location,omitempty"`
}

// Error describes the answer for logs.
func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func signError(msg string) *apiError {
	return &apiError{Status: http.StatusUnauthorized, Code: "SIGN_ERROR", Message: msg}
}

func invalidRequest(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "INVALID_REQUEST", Message: msg}
}

// missing reports a required field left out, worded like the platform:
// 输入源“/body/description”映射到字段“商品描述”必填性规则校验失败，此字段为必填项.
func missing(location, field, name string) *apiError {
	return &apiError{
		Status:  http.StatusBadRequest,
		Code:    "PARAM_ERROR",
		Message: fmt.Sprintf("输入源“/%s%s”映射到字段“%s”必填性规则校验失败，此字段为必填项", location, field, name),
		Detail:  &errorDetail{Field: field, Location: location},
	}
}

// malformed reports a field whose value breaks its format rule.
func malformed(location, field, name string, value any, issue string) *apiError {
	return &apiError{
		Status:  http.StatusBadRequest,
		Code:    "PARAM_ERROR",
		Message: fmt.Sprintf("输入源“/%s%s”映射到值字段“%s”%s", location, field, name, issue),
		Detail:  &errorDetail{Field: field, Value: value, Issue: issue, Location: location},
	}
}

// writeError answers an API error.
func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set(headerRequestID, hexUpper(32))
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e)
}

// writeSigned answers 2xx with body and the Wechatpay-* headers that let
// the merchant verify it. A 204 is signed too: wechatpay-go verifies every
// 2xx, the empty body included.
func (s *Server) writeSigned(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h, err := s.signedHeaders(s.responseSigner(r), body, s.takeResponseProbe())
	if err != nil {
		writeError(w, &apiError{Status: http.StatusInternalServerError, Code: "SYSTEM_ERROR", Message: "系统异常，请稍后重试"})
		return
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set(headerRequestID, hexUpper(32))
	if len(body) > 0 {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeJSON answers 200 with v, signed.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, &apiError{Status: http.StatusInternalServerError, Code: "SYSTEM_ERROR", Message: "系统异常，请稍后重试"})
		return
	}
	s.writeSigned(w, r, http.StatusOK, body)
}
