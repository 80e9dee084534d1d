package wecom

import (
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// Join way scenes (进群方式 scene).
const (
	sceneMiniProgram = 1 // 群的小程序插件
	sceneQRCode      = 2 // 群的二维码插件
)

// JoinWay is a customer-group join way (客户群「加入群聊」), as get_join_way
// answers it.
type JoinWay struct {
	ConfigID       string   `json:"config_id"`
	Scene          int      `json:"scene"`
	Remark         string   `json:"remark"`
	AutoCreateRoom int      `json:"auto_create_room"`
	RoomBaseName   string   `json:"room_base_name"`
	RoomBaseID     int      `json:"room_base_id"`
	ChatIDList     []string `json:"chat_id_list"`
	QRCode         string   `json:"qr_code,omitempty"`
	State          string   `json:"state"`
}

// joinWayRequest is the body of add_join_way and update_join_way. Optional
// fields are pointers so that absent ones take WeCom's defaults.
type joinWayRequest struct {
	ConfigID       string   `json:"config_id"`
	Scene          int      `json:"scene"`
	Remark         string   `json:"remark"`
	AutoCreateRoom *int     `json:"auto_create_room"`
	RoomBaseName   string   `json:"room_base_name"`
	RoomBaseID     int      `json:"room_base_id"`
	ChatIDList     []string `json:"chat_id_list"`
	State          string   `json:"state"`
}

// The documented limits of a join way.
const (
	maxJoinWayChats   = 5  // chat_id_list: 支持5个
	maxStateChars     = 30 // state: 不超过30个UTF-8字符
	maxRemarkChars    = 30 // remark: 超过30个字符将被截断
	maxRoomBaseChars  = 40 // room_base_name: 最长40个utf8字符
	defaultAutoCreate = 1  // auto_create_room: 默认为1
)

// build validates req and returns the join way it describes; it needs s.mu.
func (s *Server) buildJoinWay(configID string, req joinWayRequest) (*JoinWay, *apiError) {
	if req.Scene != sceneMiniProgram && req.Scene != sceneQRCode {
		return nil, errInvalidParam("scene must be 1 or 2")
	}
	if len(req.ChatIDList) == 0 || len(req.ChatIDList) > maxJoinWayChats {
		return nil, errInvalidParam("chat_id_list must hold 1 ~ %d chat ids", maxJoinWayChats)
	}
	for _, id := range req.ChatIDList {
		if _, ok := s.groups[id]; !ok {
			return nil, errChatNotFound()
		}
	}
	if utf8.RuneCountInString(req.State) > maxStateChars {
		return nil, errInvalidParam("state exceeds %d characters", maxStateChars)
	}
	if utf8.RuneCountInString(req.RoomBaseName) > maxRoomBaseChars {
		return nil, errInvalidParam("room_base_name exceeds %d characters", maxRoomBaseChars)
	}
	auto := defaultAutoCreate
	if req.AutoCreateRoom != nil {
		auto = *req.AutoCreateRoom
	}
	if auto != 0 && auto != 1 {
		return nil, errInvalidParam("auto_create_room must be 0 or 1")
	}
	remark := req.Remark
	if utf8.RuneCountInString(remark) > maxRemarkChars {
		remark = string([]rune(remark)[:maxRemarkChars])
	}
	jw := &JoinWay{
		ConfigID: configID, Scene: req.Scene, Remark: remark, AutoCreateRoom: auto,
		RoomBaseName: req.RoomBaseName, RoomBaseID: req.RoomBaseID,
		ChatIDList: slices.Clone(req.ChatIDList), State: req.State,
	}
	if req.Scene == sceneQRCode {
		// The shape of WeCom's QR image URL; the config id in it lets a
		// tester map a QR code back to its join way. Nothing is served there.
		jw.QRCode = "https://p.qpic.cn/wwhead/" + configID + "/0"
	}
	return jw, nil
}

type addJoinWayAnswer struct {
	status
	ConfigID string `json:"config_id"`
}

// addJoinWay serves POST externalcontact/groupchat/add_join_way.
func (s *Server) addJoinWay(w http.ResponseWriter, r *http.Request) {
	var req joinWayRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.mu.Lock()
	jw, err := s.buildJoinWay(s.randomHex(16), req)
	if err == nil {
		s.joinWays[jw.ConfigID] = jw
	}
	s.mu.Unlock()
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, addJoinWayAnswer{status: okStatus, ConfigID: jw.ConfigID})
}

type joinWayConfigRequest struct {
	ConfigID string `json:"config_id"`
}

type getJoinWayAnswer struct {
	status
	JoinWay JoinWay `json:"join_way"`
}

// getJoinWay serves POST externalcontact/groupchat/get_join_way.
func (s *Server) getJoinWay(w http.ResponseWriter, r *http.Request) {
	var req joinWayConfigRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.mu.Lock()
	jw, ok := s.joinWays[req.ConfigID]
	var view JoinWay
	if ok {
		view = *jw
		view.ChatIDList = slices.Clone(jw.ChatIDList)
	}
	s.mu.Unlock()
	if !ok {
		s.writeAPIError(w, r, errInvalidParam("invalid config_id"))
		return
	}
	writeJSON(w, getJoinWayAnswer{status: okStatus, JoinWay: view})
}

// updateJoinWay serves POST externalcontact/groupchat/update_join_way, which
// replaces every field of the join way.
func (s *Server) updateJoinWay(w http.ResponseWriter, r *http.Request) {
	var req joinWayRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.mu.Lock()
	var err *apiError
	if _, ok := s.joinWays[req.ConfigID]; !ok {
		err = errInvalidParam("invalid config_id")
	} else {
		var jw *JoinWay
		if jw, err = s.buildJoinWay(req.ConfigID, req); err == nil {
			s.joinWays[jw.ConfigID] = jw
		}
	}
	s.mu.Unlock()
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, okStatus)
}

// delJoinWay serves POST externalcontact/groupchat/del_join_way.
func (s *Server) delJoinWay(w http.ResponseWriter, r *http.Request) {
	var req joinWayConfigRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.mu.Lock()
	_, ok := s.joinWays[req.ConfigID]
	delete(s.joinWays, req.ConfigID)
	s.mu.Unlock()
	if !ok {
		s.writeAPIError(w, r, errInvalidParam("invalid config_id"))
		return
	}
	writeJSON(w, okStatus)
}

// JoinWays lists the configured join ways.
func (s *Server) JoinWays() []JoinWay {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JoinWay, 0, len(s.joinWays))
	for _, jw := range s.joinWays {
		v := *jw
		v.ChatIDList = slices.Clone(jw.ChatIDList)
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b JoinWay) int { return strings.Compare(a.ConfigID, b.ConfigID) })
	return out
}
