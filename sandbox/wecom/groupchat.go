package wecom

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Member types and join scenes of groupchat/get's member_list.
const (
	memberStaff    = 1 // 企业成员
	memberExternal = 2 // 外部联系人

	joinSceneInvited = 1 // 由群成员邀请入群（直接邀请入群）
	joinSceneQRCode  = 3 // 通过扫描群二维码入群
)

// group is a customer group (客户群).
type group struct {
	chatID     string
	name       string
	owner      string
	notice     string
	createTime int64
	status     int // 0 跟进人正常, 1 离职待继承, 2 离职继承中, 3 离职继承完成
	admins     []string
	members    []*member
}

// member is one member of a customer group.
type member struct {
	userID    string
	typ       int
	unionID   string
	name      string
	joinTime  int64
	joinScene int
	invitor   string
	state     string
}

// userIDs lists the group's member ids in join order.
func (g *group) userIDs() []string {
	ids := make([]string, 0, len(g.members))
	for _, m := range g.members {
		ids = append(ids, m.userID)
	}
	return ids
}

// memberIndex returns the index of userID in the member list, or -1.
func (g *group) memberIndex(userID string) int {
	return slices.IndexFunc(g.members, func(m *member) bool { return m.userID == userID })
}

// seedGroup adds the i-th configured group; its owner joins first, then the
// other staff, each invited by the owner.
func (s *Server) seedGroup(i int, seed GroupSeed, created int64) error {
	if seed.ChatID == "" {
		seed.ChatID = derivedID("wr", s.cfg.CorpID, "chat", strconv.Itoa(i), seed.Name)
	}
	if _, dup := s.groups[seed.ChatID]; dup {
		return fmt.Errorf("%w: group %q listed twice", ErrInvalidConfig, seed.ChatID)
	}
	owner, ok := s.staff[seed.Owner]
	if !ok {
		return fmt.Errorf("%w: group %q: owner %q is not staff", ErrInvalidConfig, seed.Name, seed.Owner)
	}
	g := &group{chatID: seed.ChatID, name: seed.Name, owner: owner.UserID, notice: seed.Notice, createTime: created}
	g.members = append(g.members, &member{
		userID: owner.UserID, typ: memberStaff, name: owner.Name, joinTime: created, joinScene: joinSceneInvited,
	})
	for _, id := range seed.Members {
		st, ok := s.staff[id]
		if !ok {
			return fmt.Errorf("%w: group %q: member %q is not staff", ErrInvalidConfig, seed.Name, id)
		}
		if g.memberIndex(id) >= 0 {
			continue
		}
		g.members = append(g.members, &member{
			userID: st.UserID, typ: memberStaff, name: st.Name, joinTime: created,
			joinScene: joinSceneInvited, invitor: owner.UserID,
		})
	}
	for _, id := range seed.Admins {
		if g.memberIndex(id) < 0 {
			return fmt.Errorf("%w: group %q: admin %q is not a member", ErrInvalidConfig, seed.Name, id)
		}
		g.admins = append(g.admins, id)
	}
	s.groups[g.chatID] = g
	s.groupOrder = append(s.groupOrder, g.chatID)
	return nil
}

type groupChatListRequest struct {
	StatusFilter int `json:"status_filter"`
	OwnerFilter  struct {
		UserIDList []string `json:"userid_list"`
	} `json:"owner_filter"`
	Cursor string `json:"cursor"`
	Limit  int    `json:"limit"`
}

type groupChatListItem struct {
	ChatID string `json:"chat_id"`
	Status int    `json:"status"`
}

type groupChatListAnswer struct {
	status
	GroupChatList []groupChatListItem `json:"group_chat_list"`
	NextCursor    string              `json:"next_cursor,omitempty"`
}

// listGroupChats serves POST externalcontact/groupchat/list: limit must be
// 1–1000; status_filter 0 lists every status; next_cursor is given while more
// groups follow.
func (s *Server) listGroupChats(w http.ResponseWriter, r *http.Request) {
	var req groupChatListRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if req.Limit < 1 || req.Limit > 1000 {
		s.writeAPIError(w, r, errInvalidParam("limit must be 1 ~ 1000"))
		return
	}
	if req.StatusFilter < 0 || req.StatusFilter > 3 {
		s.writeAPIError(w, r, errInvalidParam("status_filter must be 0 ~ 3"))
		return
	}
	offset, ok := parseCursor(req.Cursor)
	if !ok {
		s.writeAPIError(w, r, errInvalidParam("cursor"))
		return
	}
	owners := toSet(req.OwnerFilter.UserIDList)
	s.mu.Lock()
	var all []groupChatListItem
	for _, id := range s.groupOrder {
		g := s.groups[id]
		if req.StatusFilter != 0 && g.status != req.StatusFilter {
			continue
		}
		if len(owners) > 0 && !owners[g.owner] {
			continue
		}
		all = append(all, groupChatListItem{ChatID: g.chatID, Status: g.status})
	}
	s.mu.Unlock()
	ans := groupChatListAnswer{status: okStatus, GroupChatList: []groupChatListItem{}}
	if offset < len(all) {
		end := min(offset+req.Limit, len(all))
		ans.GroupChatList = append(ans.GroupChatList, all[offset:end]...)
		if end < len(all) {
			ans.NextCursor = makeCursor(end)
		}
	}
	writeJSON(w, ans)
}

// makeCursor and parseCursor encode a list offset as an opaque cursor.
func makeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func parseCursor(c string) (int, bool) {
	if c == "" {
		return 0, true
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
	if err != nil || n < 0 || !strings.HasPrefix(string(raw), "offset:") {
		return 0, false
	}
	return n, true
}

type groupChatGetRequest struct {
	ChatID   string `json:"chat_id"`
	NeedName int    `json:"need_name"`
}

// Invitor is the staff member who invited a group member.
type Invitor struct {
	UserID string `json:"userid"`
}

// GroupMember is one entry of a group's member_list.
type GroupMember struct {
	UserID        string   `json:"userid"`
	Type          int      `json:"type"`
	UnionID       string   `json:"unionid,omitempty"`
	JoinTime      int64    `json:"join_time"`
	JoinScene     int      `json:"join_scene"`
	Invitor       *Invitor `json:"invitor,omitempty"`
	GroupNickname string   `json:"group_nickname"`
	Name          string   `json:"name,omitempty"`
	State         string   `json:"state,omitempty"`
}

// GroupAdmin is one entry of a group's admin_list.
type GroupAdmin struct {
	UserID string `json:"userid"`
}

// GroupChat is a customer group as groupchat/get and the console show it.
type GroupChat struct {
	ChatID        string        `json:"chat_id"`
	Name          string        `json:"name"`
	Owner         string        `json:"owner"`
	CreateTime    int64         `json:"create_time"`
	Notice        string        `json:"notice"`
	MemberList    []GroupMember `json:"member_list"`
	AdminList     []GroupAdmin  `json:"admin_list"`
	MemberVersion string        `json:"member_version"`
}

type groupChatGetAnswer struct {
	status
	GroupChat GroupChat `json:"group_chat"`
}

// getGroupChat serves POST externalcontact/groupchat/get. Names are returned
// only with need_name=1; unionid only for WeChat users; invitor only for
// members a staff member invited; state for members who joined through a
// join way that has one.
func (s *Server) getGroupChat(w http.ResponseWriter, r *http.Request) {
	var req groupChatGetRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.mu.Lock()
	g, ok := s.groups[req.ChatID]
	var view GroupChat
	if ok {
		view = g.view(req.NeedName == 1)
	}
	s.mu.Unlock()
	if !ok {
		s.writeAPIError(w, r, errChatNotFound())
		return
	}
	writeJSON(w, groupChatGetAnswer{status: okStatus, GroupChat: view})
}

// view renders the group; it needs s.mu.
func (g *group) view(withNames bool) GroupChat {
	v := GroupChat{
		ChatID: g.chatID, Name: g.name, Owner: g.owner, CreateTime: g.createTime, Notice: g.notice,
		MemberList: []GroupMember{}, AdminList: []GroupAdmin{}, MemberVersion: memberVersion(g.userIDs()),
	}
	for _, m := range g.members {
		mj := GroupMember{
			UserID: m.userID, Type: m.typ, UnionID: m.unionID, JoinTime: m.joinTime, JoinScene: m.joinScene, State: m.state,
		}
		if m.invitor != "" {
			mj.Invitor = &Invitor{UserID: m.invitor}
		}
		if withNames {
			mj.Name = m.name
		}
		v.MemberList = append(v.MemberList, mj)
	}
	for _, a := range g.admins {
		v.AdminList = append(v.AdminList, GroupAdmin{UserID: a})
	}
	return v
}

// Groups lists every customer group with its members (names included).
func (s *Server) Groups() []GroupChat {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]GroupChat, 0, len(s.groupOrder))
	for _, id := range s.groupOrder {
		out = append(out, s.groups[id].view(true))
	}
	return out
}
