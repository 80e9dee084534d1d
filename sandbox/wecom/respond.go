package wecom

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
)

// status is the {"errcode","errmsg"} pair every API answer starts with.
type status struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// okStatus is the status of a successful answer.
var okStatus = status{ErrCode: 0, ErrMsg: "ok"}

// writeJSON answers 200 with v, as WeCom answers every API call (errors too).
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	enc := json.NewEncoder(w)
	// WeCom does not escape <, > and & in its JSON answers.
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeAPIError answers err the way WeCom does: HTTP 200 with errcode and an
// errmsg carrying a hint, the caller's IP and the error-code lookup link.
func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, err *apiError) {
	ip, _, splitErr := net.SplitHostPort(r.RemoteAddr)
	if splitErr != nil || ip == "" {
		ip = "127.0.0.1"
	}
	hint := fmt.Sprintf("[%d_%02d_%s]", s.now().Unix(), 51, s.randomHex(16))
	writeJSON(w, status{
		ErrCode: err.code,
		ErrMsg: fmt.Sprintf("%s, hint: %s, from ip: %s, more info at https://open.work.weixin.qq.com/devtool/query?e=%d",
			err.msg, hint, ip, err.code),
	})
}

// decodeBody reads a JSON request body into v; a body that is not JSON is
// answered with 47001 like WeCom does.
func decodeBody(r *http.Request, v any) *apiError {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return errBadJSON()
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errBadJSON()
	}
	return nil
}
