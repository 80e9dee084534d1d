package wecom

import (
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// Contact way types (联系我 type).
const (
	contactWaySingle = 1 // 单人
	contactWayMulti  = 2 // 多人
)

// ContactWay is a 「联系我」 contact way, as get_contact_way answers it.
type ContactWay struct {
	ConfigID      string      `json:"config_id"`
	Type          int         `json:"type"`
	Scene         int         `json:"scene"`
	Style         int         `json:"style"`
	Remark        string      `json:"remark"`
	SkipVerify    bool        `json:"skip_verify"`
	State         string      `json:"state"`
	QRCode        string      `json:"qr_code,omitempty"`
	User          []string    `json:"user"`
	Party         []int       `json:"party"`
	IsTemp        bool        `json:"is_temp"`
	ExpiresIn     int         `json:"expires_in"`
	ChatExpiresIn int         `json:"chat_expires_in"`
	UnionID       string      `json:"unionid"`
	Conclusions   Conclusions `json:"conclusions"`
}

// Conclusions are the closing messages of a temporary chat (结束语).
type Conclusions struct {
	Text struct {
		Content string `json:"content"`
	} `json:"text"`
	Link struct {
		Title  string `json:"title"`
		PicURL string `json:"picurl"`
		Desc   string `json:"desc"`
		URL    string `json:"url"`
	} `json:"link"`
	MiniProgram struct {
		Title      string `json:"title"`
		PicMediaID string `json:"pic_media_id"`
		AppID      string `json:"appid"`
		Page       string `json:"page"`
	} `json:"miniprogram"`
}

type addContactWayRequest struct {
	Type          int         `json:"type"`
	Scene         int         `json:"scene"`
	Style         int         `json:"style"`
	Remark        string      `json:"remark"`
	SkipVerify    *bool       `json:"skip_verify"`
	State         string      `json:"state"`
	User          []string    `json:"user"`
	Party         []int       `json:"party"`
	IsTemp        bool        `json:"is_temp"`
	ExpiresIn     int         `json:"expires_in"`
	ChatExpiresIn int         `json:"chat_expires_in"`
	UnionID       string      `json:"unionid"`
	Conclusions   Conclusions `json:"conclusions"`
}

// The documented temporary-chat periods.
const (
	defaultTempExpiresIn     = 7 * 24 * 3600  // 临时会话二维码有效期: 默认7天
	defaultTempChatExpiresIn = 24 * 3600      // 临时会话有效期: 默认为添加好友后24小时
	maxTempSeconds           = 14 * 24 * 3600 // 最多为14天
)

type addContactWayAnswer struct {
	status
	ConfigID string `json:"config_id"`
	QRCode   string `json:"qr_code,omitempty"`
}

// addContactWay serves POST externalcontact/add_contact_way.
func (s *Server) addContactWay(w http.ResponseWriter, r *http.Request) {
	var req addContactWayRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.mu.Lock()
	cw, err := s.buildContactWay(req)
	if err == nil {
		s.contactWays[cw.ConfigID] = cw
	}
	s.mu.Unlock()
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, addContactWayAnswer{status: okStatus, ConfigID: cw.ConfigID, QRCode: cw.QRCode})
}

// buildContactWay validates req against the documented rules; it needs s.mu.
func (s *Server) buildContactWay(req addContactWayRequest) (*ContactWay, *apiError) {
	switch {
	case req.Type == 0:
		return nil, errContactWayTypeMissing()
	case req.Type != contactWaySingle && req.Type != contactWayMulti:
		return nil, errInvalidParam("type must be 1 or 2")
	case req.Scene != sceneMiniProgram && req.Scene != sceneQRCode:
		return nil, errInvalidParam("scene must be 1 or 2")
	case req.Type == contactWaySingle && len(req.User) != 1:
		// user: 在type为1时为必填，且只能有一个
		return nil, errInvalidParam("user must hold exactly one userid when type is 1")
	case req.Type == contactWayMulti && len(req.User) == 0 && len(req.Party) == 0:
		return nil, errInvalidParam("user and party are both empty")
	case utf8.RuneCountInString(req.State) > maxStateChars:
		return nil, errInvalidParam("state exceeds %d characters", maxStateChars)
	case utf8.RuneCountInString(req.Remark) > maxRemarkChars:
		return nil, errInvalidParam("remark exceeds %d characters", maxRemarkChars)
	case req.IsTemp && req.Type != contactWaySingle:
		// 临时会话模式仅支持单人
		return nil, errInvalidParam("is_temp supports type 1 only")
	case req.ExpiresIn < 0 || req.ExpiresIn > maxTempSeconds || req.ChatExpiresIn < 0 || req.ChatExpiresIn > maxTempSeconds:
		return nil, errInvalidParam("expires_in and chat_expires_in must be at most 14 days")
	}
	for _, id := range req.User {
		if _, ok := s.staff[id]; !ok {
			return nil, errInvalidUserID()
		}
	}
	skip := true // skip_verify: 默认为true
	if req.SkipVerify != nil {
		skip = *req.SkipVerify
	}
	cw := &ContactWay{
		ConfigID: s.randomHex(16), Type: req.Type, Scene: req.Scene, Style: req.Style, Remark: req.Remark,
		SkipVerify: skip, State: req.State, User: slices.Clone(req.User), Party: slices.Clone(req.Party),
		IsTemp: req.IsTemp, UnionID: req.UnionID, Conclusions: req.Conclusions,
	}
	if cw.User == nil {
		cw.User = []string{}
	}
	if cw.Party == nil {
		cw.Party = []int{}
	}
	if req.IsTemp {
		cw.ExpiresIn, cw.ChatExpiresIn = req.ExpiresIn, req.ChatExpiresIn
		if cw.ExpiresIn == 0 {
			cw.ExpiresIn = defaultTempExpiresIn
		}
		if cw.ChatExpiresIn == 0 {
			cw.ChatExpiresIn = defaultTempChatExpiresIn
		}
	}
	if req.Scene == sceneQRCode {
		// qr_code: 联系二维码的URL，仅在scene为2时返回. Nothing is served there.
		cw.QRCode = "https://p.qpic.cn/wwhead/" + cw.ConfigID + "/0"
	}
	return cw, nil
}

type contactWayConfigRequest struct {
	ConfigID string `json:"config_id"`
}

type getContactWayAnswer struct {
	status
	ContactWay ContactWay `json:"contact_way"`
}

// getContactWay serves POST externalcontact/get_contact_way.
func (s *Server) getContactWay(w http.ResponseWriter, r *http.Request) {
	var req contactWayConfigRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.mu.Lock()
	cw, ok := s.contactWays[req.ConfigID]
	var view ContactWay
	if ok {
		view = cw.clone()
	}
	s.mu.Unlock()
	if !ok {
		s.writeAPIError(w, r, errInvalidParam("invalid config_id"))
		return
	}
	writeJSON(w, getContactWayAnswer{status: okStatus, ContactWay: view})
}

// delContactWay serves POST externalcontact/del_contact_way.
func (s *Server) delContactWay(w http.ResponseWriter, r *http.Request) {
	var req contactWayConfigRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.mu.Lock()
	_, ok := s.contactWays[req.ConfigID]
	delete(s.contactWays, req.ConfigID)
	s.mu.Unlock()
	if !ok {
		s.writeAPIError(w, r, errInvalidParam("invalid config_id"))
		return
	}
	writeJSON(w, okStatus)
}

// clone copies the contact way's slices.
func (cw *ContactWay) clone() ContactWay {
	v := *cw
	v.User = slices.Clone(cw.User)
	v.Party = slices.Clone(cw.Party)
	return v
}

// ContactWays lists the configured contact ways.
func (s *Server) ContactWays() []ContactWay {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ContactWay, 0, len(s.contactWays))
	for _, cw := range s.contactWays {
		out = append(out, cw.clone())
	}
	slices.SortFunc(out, func(a, b ContactWay) int { return strings.Compare(a.ConfigID, b.ConfigID) })
	return out
}
