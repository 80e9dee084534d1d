package miniprogram

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// The content-security suggestions, mildest first.
const (
	suggestPass   = "pass"
	suggestReview = "review"
	suggestRisky  = "risky"
)

// labelNormal is the label of text that hit nothing.
const labelNormal = 100

// severity orders suggestions; it is -1 for an unknown one.
func severity(suggest string) int {
	return slices.Index([]string{suggestPass, suggestReview, suggestRisky}, suggest)
}

// Errors of msg_sec_check.
var (
	errInvalidScene = fail(40129, "invalid scene")
	errEmptyParam   = fail(44002, "empty post data")
	errRiskyContent = fail(87014, "risky content")
)

// msgCheckRequest is the body of msg_sec_check. version is raw because
// callers send it as 2 or "2"; both work on the platform.
type msgCheckRequest struct {
	Version   json.RawMessage `json:"version"`
	OpenID    string          `json:"openid"`
	Scene     int             `json:"scene"`
	Content   string          `json:"content"`
	Nickname  string          `json:"nickname"`
	Title     string          `json:"title"`
	Signature string          `json:"signature"`
}

// checkResult is msg_sec_check 2.0's result object.
type checkResult struct {
	Suggest string `json:"suggest"`
	Label   int    `json:"label"`
}

// checkDetail is one strategy's finding. The platform always reports a
// "keyword" strategy (the developer's own keyword list, empty here) next to
// its model's verdict, without saying which words hit.
type checkDetail struct {
	Strategy string `json:"strategy"`
	ErrCode  int    `json:"errcode"`
	Suggest  string `json:"suggest,omitempty"`
	Label    int    `json:"label,omitempty"`
	Prob     int    `json:"prob,omitempty"`
}

// serveMsgSecCheck is POST wxa/msg_sec_check. With version 2 it judges the
// text with the configured word list and answers a result and details; any
// other version is the retired 1.0 interface, which answers 87014 for risky
// text and ok otherwise.
func (s *Server) serveMsgSecCheck(w http.ResponseWriter, r *http.Request) *wechatError {
	var req msgCheckRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	var version any
	_ = json.Unmarshal(req.Version, &version)
	if text(version) != "2" {
		if s.judge(req.Content).Suggest == suggestRisky {
			return errRiskyContent
		}
		writeJSON(w, okay)
		return nil
	}
	if req.OpenID == "" {
		return errInvalidOpenID
	}
	if req.Scene < 1 || req.Scene > 4 {
		return errInvalidScene
	}
	if req.Content == "" {
		return errEmptyParam
	}
	s.mu.Lock()
	known := s.users[req.OpenID] != nil
	s.mu.Unlock()
	if !known {
		return errInvalidOpenID
	}
	judged := []string{req.Title, req.Nickname, req.Content}
	if req.Scene == 1 {
		// The signature is only checked for profile text.
		judged = append(judged, req.Signature)
	}
	res := s.judge(strings.Join(judged, "\n"))
	writeJSON(w, struct {
		ok
		Result  checkResult   `json:"result"`
		Detail  []checkDetail `json:"detail"`
		TraceID string        `json:"trace_id"`
	}{
		ok:     okay,
		Result: res,
		Detail: []checkDetail{
			{Strategy: "content_model", Suggest: res.Suggest, Label: res.Label, Prob: 90},
			{Strategy: "keyword"},
		},
		TraceID: newTraceID(),
	})
	return nil
}

// judge returns the verdict of the most severe configured word in content
// (case-insensitively), or pass with label 100.
func (s *Server) judge(content string) checkResult {
	content = strings.ToLower(content)
	words := slices.Sorted(maps.Keys(s.cfg.Words))
	best := checkResult{Suggest: suggestPass, Label: labelNormal}
	for _, word := range words {
		v := s.cfg.Words[word]
		if severity(v.Suggest) > severity(best.Suggest) && strings.Contains(content, strings.ToLower(word)) {
			best = checkResult{Suggest: v.Suggest, Label: v.Label}
		}
	}
	return best
}
