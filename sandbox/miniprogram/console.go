package miniprogram

import (
	"encoding/json"
	"errors"
	"net/http"
)

// maxSubscribeTemplates is how many templates one wx.requestSubscribeMessage
// call may ask for.
const maxSubscribeTemplates = 3

// Console returns the sandbox's own endpoints: the shopper's phone actions,
// the fault switches and the inspection lists (see the package doc).
func (s *Server) Console() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.consoleIndex)
	mux.HandleFunc("POST /login-code", s.consoleLoginCode)
	mux.HandleFunc("POST /phone-code", s.consolePhoneCode)
	mux.HandleFunc("POST /subscribe", s.consoleSubscribe)
	mux.HandleFunc("GET /consents", func(w http.ResponseWriter, _ *http.Request) { consoleJSON(w, http.StatusOK, s.Consents()) })
	mux.HandleFunc("GET /subscribe-messages", func(w http.ResponseWriter, _ *http.Request) {
		consoleJSON(w, http.StatusOK, s.SentSubscribeMessages())
	})
	mux.HandleFunc("GET /shipping-uploads", func(w http.ResponseWriter, _ *http.Request) {
		consoleJSON(w, http.StatusOK, s.ShippingUploads())
	})
	mux.HandleFunc("GET /qrcodes", func(w http.ResponseWriter, _ *http.Request) { consoleJSON(w, http.StatusOK, s.QRCodes()) })
	mux.Handle("/faults", s.faults.Handler())
	return rooted(mux)
}

// consoleJSON answers v with status.
func consoleJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// consoleError answers the sandbox's error shape.
func consoleError(w http.ResponseWriter, status int, code, message string) {
	consoleJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}

// consoleDecode reads a JSON body into v, answering 400 when it cannot.
func consoleDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		consoleError(w, http.StatusBadRequest, "invalid_json", err.Error())
		return false
	}
	return true
}

func (s *Server) consoleIndex(w http.ResponseWriter, _ *http.Request) {
	consoleJSON(w, http.StatusOK, map[string]any{
		"platform": "WeChat mini-program (api.weixin.qq.com)",
		"settings": s.Settings(),
		"endpoints": []string{
			"POST /login-code {openid, unionid} → {code}",
			"POST /phone-code {phone} → {code}",
			"POST /subscribe {openid, template_ids, decision: accept|reject} → wx.requestSubscribeMessage's answer",
			"GET /consents", "GET /subscribe-messages", "GET /shipping-uploads", "GET /qrcodes",
			"GET|POST|DELETE /faults",
		},
	})
}

func (s *Server) consoleLoginCode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OpenID  string `json:"openid"`
		UnionID string `json:"unionid"`
	}
	if !consoleDecode(w, r, &req) {
		return
	}
	if req.OpenID == "" {
		consoleError(w, http.StatusBadRequest, "invalid_request", "openid is required")
		return
	}
	consoleJSON(w, http.StatusOK, map[string]string{"code": s.MintLoginCode(req.OpenID, req.UnionID)})
}

func (s *Server) consolePhoneCode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Phone string `json:"phone"`
	}
	if !consoleDecode(w, r, &req) {
		return
	}
	code, err := s.MintPhoneCode(req.Phone)
	switch {
	case errors.Is(err, ErrPhoneQuota):
		consoleError(w, http.StatusForbidden, "phone_quota_exhausted", err.Error())
	case err != nil:
		consoleError(w, http.StatusBadRequest, "invalid_phone", err.Error())
	default:
		consoleJSON(w, http.StatusOK, map[string]string{"code": code})
	}
}

// consoleSubscribe is the shopper answering wx.requestSubscribeMessage for
// up to three templates at once, all accepted or all rejected; the answer
// has the shape of the mini-program API's success callback.
func (s *Server) consoleSubscribe(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OpenID      string   `json:"openid"`
		TemplateIDs []string `json:"template_ids"`
		Decision    string   `json:"decision"`
	}
	if !consoleDecode(w, r, &req) {
		return
	}
	switch {
	case req.OpenID == "":
		consoleError(w, http.StatusBadRequest, "invalid_request", "openid is required")
		return
	case len(req.TemplateIDs) == 0:
		consoleError(w, http.StatusBadRequest, "invalid_request", "errCode 10001: template_ids is empty")
		return
	case len(req.TemplateIDs) > maxSubscribeTemplates:
		consoleError(w, http.StatusBadRequest, "invalid_request", "errCode 20003: at most 3 template ids per request")
		return
	case req.Decision != "" && req.Decision != "accept" && req.Decision != "reject":
		consoleError(w, http.StatusBadRequest, "invalid_request", "decision must be accept or reject")
		return
	}
	for _, id := range req.TemplateIDs {
		if _, ok := s.cfg.Templates[id]; !ok {
			consoleError(w, http.StatusBadRequest, "unknown_template", "errCode 20001: unknown template id "+id)
			return
		}
	}
	answer := map[string]string{"errMsg": "requestSubscribeMessage:ok"}
	for _, id := range req.TemplateIDs {
		var err error
		if req.Decision == "reject" {
			err = s.RejectSubscribe(req.OpenID, id)
			answer[id] = "reject"
		} else {
			err = s.GrantSubscribe(req.OpenID, id, 1)
			answer[id] = "accept"
		}
		if err != nil {
			consoleError(w, http.StatusBadRequest, "invalid_request", err.Error())
			return
		}
	}
	consoleJSON(w, http.StatusOK, answer)
}
