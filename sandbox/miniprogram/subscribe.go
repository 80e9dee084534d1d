package miniprogram

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Errors of the phone's subscribe-message consent.
var (
	// ErrUnknownTemplate is returned for a template id the mini-program has
	// not picked (wx.requestSubscribeMessage's errCode 20001).
	ErrUnknownTemplate = errors.New("miniprogram: unknown subscribe template")
	// ErrConsentCount is returned for a grant of fewer than one send.
	ErrConsentCount = errors.New("miniprogram: consent count must be at least 1")
)

// Errors of subscribe/send.
var (
	errInvalidOpenID   = fail(40003, "invalid openid")
	errInvalidTemplate = fail(40037, "invalid template_id")
	errInvalidPage     = fail(41030, "invalid page")
	errUserRefused     = fail(43101, "user refuse to accept the msg")
)

// firstMsgID is where the sandbox's message ids start, so they are as large
// as the platform's (which overflow 32 bits).
const firstMsgID = 294402298110051942

type consentKey struct {
	openID     string
	templateID string
}

// consentState is what a user allowed for one template: a number of
// one-time sends, or (for a long-term template) sending at all.
type consentState struct {
	remaining int
	accepted  bool
}

// Consent is one user's standing consent for one template.
type Consent struct {
	OpenID     string `json:"openid"`
	TemplateID string `json:"template_id"`
	// Remaining is how many one-time sends are left; for a long-term
	// template it is 0 and Accepted tells whether sends are allowed.
	Remaining int  `json:"remaining"`
	LongTerm  bool `json:"long_term"`
	Accepted  bool `json:"accepted"`
}

// SubscribeMessage is a subscribe message the platform accepted.
type SubscribeMessage struct {
	MsgID            int64             `json:"msgid"`
	ToUser           string            `json:"touser"`
	TemplateID       string            `json:"template_id"`
	Page             string            `json:"page,omitempty"`
	MiniprogramState string            `json:"miniprogram_state,omitempty"`
	Lang             string            `json:"lang,omitempty"`
	Data             map[string]string `json:"data"`
	SentAt           time.Time         `json:"sent_at"`
}

// GrantSubscribe is the user openid accepting templateID in
// wx.requestSubscribeMessage n times: each accept of a one-time template
// allows one send; for a long-term template one accept allows any number.
func (s *Server) GrantSubscribe(openid, templateID string, n int) error {
	if _, ok := s.cfg.Templates[templateID]; !ok {
		return fmt.Errorf("%w: %q", ErrUnknownTemplate, templateID)
	}
	if n < 1 {
		return fmt.Errorf("%w: got %d", ErrConsentCount, n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user(openid)
	st := s.consent(openid, templateID)
	st.accepted = true
	if !s.longTerm[templateID] {
		st.remaining += n
	}
	return nil
}

// RejectSubscribe is the user openid rejecting templateID, or switching it
// off in the mini-program's settings: every consent for it is withdrawn.
func (s *Server) RejectSubscribe(openid, templateID string) error {
	if _, ok := s.cfg.Templates[templateID]; !ok {
		return fmt.Errorf("%w: %q", ErrUnknownTemplate, templateID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user(openid)
	st := s.consent(openid, templateID)
	st.accepted, st.remaining = false, 0
	return nil
}

// consent returns the consent of openid for templateID. The caller holds
// s.mu.
func (s *Server) consent(openid, templateID string) *consentState {
	k := consentKey{openid, templateID}
	st := s.consents[k]
	if st == nil {
		st = &consentState{}
		s.consents[k] = st
	}
	return st
}

// Consents lists every recorded consent, by openid then template id.
func (s *Server) Consents() []Consent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Consent, 0, len(s.consents))
	for k, st := range s.consents {
		out = append(out, Consent{OpenID: k.openID, TemplateID: k.templateID, Remaining: st.remaining, LongTerm: s.longTerm[k.templateID], Accepted: st.accepted})
	}
	slices.SortFunc(out, func(a, b Consent) int {
		if c := strings.Compare(a.OpenID, b.OpenID); c != 0 {
			return c
		}
		return strings.Compare(a.TemplateID, b.TemplateID)
	})
	return out
}

// SentSubscribeMessages lists the subscribe messages sent so far, oldest
// first.
func (s *Server) SentSubscribeMessages() []SubscribeMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SubscribeMessage, len(s.sent))
	for i, m := range s.sent {
		m.Data = maps.Clone(m.Data)
		out[i] = m
	}
	return out
}

// sendRequest is the body of subscribe/send. data stays raw because callers
// get it wrong in ways the platform answers with 47003 (a JSON string
// instead of an object, say).
type sendRequest struct {
	ToUser           string          `json:"touser"`
	TemplateID       string          `json:"template_id"`
	Page             string          `json:"page"`
	Data             json.RawMessage `json:"data"`
	MiniprogramState string          `json:"miniprogram_state"`
	Lang             string          `json:"lang"`
}

// serveSubscribeSend is POST cgi-bin/message/subscribe/send.
func (s *Server) serveSubscribeSend(w http.ResponseWriter, r *http.Request) *wechatError {
	var req sendRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.ToUser == "" {
		return errInvalidOpenID
	}
	tpl, found := s.cfg.Templates[req.TemplateID]
	if !found {
		return errInvalidTemplate
	}
	if req.Page != "" && !s.pageExists(strings.SplitN(req.Page, "?", 2)[0]) {
		return errInvalidPage
	}
	switch req.MiniprogramState {
	case "", "developer", "trial", "formal":
	default:
		return fail(47003, "argument invalid! miniprogram_state invalid")
	}
	switch req.Lang {
	case "", "zh_CN", "en_US", "zh_HK", "zh_TW":
	default:
		return fail(47003, "argument invalid! lang invalid")
	}
	data, err := templateData(tpl, req.Data)
	if err != nil {
		return err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[req.ToUser] == nil {
		return errInvalidOpenID
	}
	st := s.consents[consentKey{req.ToUser, req.TemplateID}]
	switch {
	case st == nil || !st.accepted:
		return errUserRefused
	case !s.longTerm[req.TemplateID] && st.remaining < 1:
		return errUserRefused
	case !s.longTerm[req.TemplateID]:
		st.remaining--
	}
	if s.lastMsgID == 0 {
		s.lastMsgID = firstMsgID
	}
	s.lastMsgID++
	s.sent = append(s.sent, SubscribeMessage{
		MsgID: s.lastMsgID, ToUser: req.ToUser, TemplateID: req.TemplateID, Page: req.Page,
		MiniprogramState: req.MiniprogramState, Lang: req.Lang, Data: data, SentAt: s.cfg.Now(),
	})
	writeJSON(w, struct {
		ok
		MsgID int64 `json:"msgid"`
	}{okay, s.lastMsgID})
	return nil
}

// templateData checks raw against the template's keywords and returns each
// keyword's value as text. Keywords the template does not have are ignored.
func templateData(tpl Template, raw json.RawMessage) (map[string]string, *wechatError) {
	var items map[string]struct {
		Value any `json:"value"`
	}
	// Data that is not an object leaves every keyword empty, which is how
	// the platform reports it.
	_ = json.Unmarshal(raw, &items)
	out := make(map[string]string, len(tpl.Keywords))
	for _, k := range tpl.Keywords {
		v := text(items[k].Value)
		if strings.TrimSpace(v) == "" {
			return nil, fail(47003, "argument invalid! data.%s.value is empty", k)
		}
		if !keywordValid(k, v) {
			return nil, fail(47003, "argument invalid! data.%s.value invalid", k)
		}
		out[k] = v
	}
	return out, nil
}

// text renders a JSON value as the platform shows it.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// pageExists reports whether page is a released page; with no Pages
// configured every page is.
func (s *Server) pageExists(page string) bool {
	return len(s.pages) == 0 || s.pages[page]
}
