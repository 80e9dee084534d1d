package wecom

import (
	"net/http"
	"slices"
	"strings"
)

// Person is a WeChat user acting on the shopper's phone.
type Person struct {
	UnionID string `json:"unionid"`
	Name    string `json:"name"`
	Avatar  string `json:"avatar,omitempty"`
}

// person is a WeChat user the corp knows by external_userid: a customer of
// some staff members (follows) and/or a member of customer groups.
type person struct {
	externalUserID string
	unionID        string
	name           string
	avatar         string
	follows        []*follow
}

// follow is the relationship between a staff member and a customer (跟进).
type follow struct {
	userID     string
	remark     string
	createTime int64
	tagIDs     []string
	state      string
	addWay     int
	operUserID string
}

// followOf returns the follow of staff userID, or nil.
func (p *person) followOf(userID string) *follow {
	for _, f := range p.follows {
		if f.userID == userID {
			return f
		}
	}
	return nil
}

// personFor returns the person with p's unionid, creating it. It needs s.mu.
func (s *Server) personFor(p Person) *person {
	id := s.ExternalUserID(p.UnionID)
	if existing, ok := s.people[id]; ok {
		if p.Name != "" {
			existing.name = p.Name
		}
		if p.Avatar != "" {
			existing.avatar = p.Avatar
		}
		return existing
	}
	avatar := p.Avatar
	if avatar == "" {
		// The shape of a WeChat avatar URL; nothing is served there.
		avatar = "http://wx.qlogo.cn/mmhead/" + derivedID("Q3auHgzwzM", p.UnionID) + "/0"
	}
	np := &person{externalUserID: id, unionID: p.UnionID, name: p.Name, avatar: avatar}
	s.people[id] = np
	return np
}

// Contact is a customer as the inspection list shows it.
type Contact struct {
	ExternalUserID string       `json:"external_userid"`
	UnionID        string       `json:"unionid"`
	Name           string       `json:"name"`
	FollowUsers    []FollowUser `json:"follow_user"`
}

// FollowUser is one staff member following a customer.
type FollowUser struct {
	UserID     string   `json:"userid"`
	CreateTime int64    `json:"createtime"`
	State      string   `json:"state"`
	TagIDs     []string `json:"tag_ids"`
}

// Contacts lists every WeChat user the corp knows, customers and group
// members alike, sorted by external_userid.
func (s *Server) Contacts() []Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Contact, 0, len(s.people))
	for _, p := range s.people {
		c := Contact{ExternalUserID: p.externalUserID, UnionID: p.unionID, Name: p.name, FollowUsers: []FollowUser{}}
		for _, f := range p.follows {
			c.FollowUsers = append(c.FollowUsers, FollowUser{
				UserID: f.userID, CreateTime: f.createTime, State: f.state, TagIDs: slices.Clone(f.tagIDs),
			})
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Contact) int { return strings.Compare(a.ExternalUserID, b.ExternalUserID) })
	return out
}

type externalContactJSON struct {
	ExternalUserID string `json:"external_userid"`
	Name           string `json:"name"`
	Avatar         string `json:"avatar"`
	Type           int    `json:"type"`
	Gender         int    `json:"gender"`
	UnionID        string `json:"unionid"`
}

type followTagJSON struct {
	GroupName string `json:"group_name"`
	TagName   string `json:"tag_name"`
	TagID     string `json:"tag_id"`
	Type      int    `json:"type"`
}

type followUserJSON struct {
	UserID         string          `json:"userid"`
	Remark         string          `json:"remark"`
	Description    string          `json:"description"`
	CreateTime     int64           `json:"createtime"`
	Tags           []followTagJSON `json:"tags"`
	RemarkCorpName string          `json:"remark_corp_name"`
	RemarkMobiles  []string        `json:"remark_mobiles"`
	OperUserID     string          `json:"oper_userid"`
	AddWay         int             `json:"add_way"`
	State          string          `json:"state,omitempty"`
}

type externalContactAnswer struct {
	status
	ExternalContact externalContactJSON `json:"external_contact"`
	FollowUser      []followUserJSON    `json:"follow_user"`
	NextCursor      string              `json:"next_cursor"`
}

// getExternalContact serves GET externalcontact/get?external_userid=ID.
// An id the corp never saw answers 40096; a group member no staff member has
// added (no follow relationship) answers 84061, as on WeCom.
func (s *Server) getExternalContact(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("external_userid")
	s.mu.Lock()
	p, ok := s.people[id]
	if !ok {
		s.mu.Unlock()
		s.writeAPIError(w, r, errInvalidExternalUserID())
		return
	}
	if len(p.follows) == 0 {
		s.mu.Unlock()
		s.writeAPIError(w, r, errNotExternalContact())
		return
	}
	ans := externalContactAnswer{
		status: okStatus,
		ExternalContact: externalContactJSON{
			ExternalUserID: p.externalUserID, Name: p.name, Avatar: p.avatar,
			Type:    1, // 1 = a WeChat user (2 would be a WeCom user of another corp)
			UnionID: p.unionID,
		},
		FollowUser: []followUserJSON{},
	}
	for _, f := range p.follows {
		fj := followUserJSON{
			UserID: f.userID, Remark: f.remark, CreateTime: f.createTime, Tags: []followTagJSON{},
			RemarkMobiles: []string{}, OperUserID: f.operUserID, AddWay: f.addWay, State: f.state,
		}
		for _, id := range f.tagIDs {
			ref := s.tags[id]
			fj.Tags = append(fj.Tags, followTagJSON{GroupName: ref.group.Name, TagName: ref.tag.Name, TagID: id, Type: 1})
		}
		ans.FollowUser = append(ans.FollowUser, fj)
	}
	s.mu.Unlock()
	writeJSON(w, ans)
}

type externalUserListAnswer struct {
	status
	ExternalUserID []string `json:"external_userid"`
}

// listExternalContacts serves GET externalcontact/list?userid=ID: the
// customers of one staff member.
func (s *Server) listExternalContacts(w http.ResponseWriter, r *http.Request) {
	userID := r.URL.Query().Get("userid")
	s.mu.Lock()
	_, known := s.staff[userID]
	ids := []string{}
	for id, p := range s.people {
		if p.followOf(userID) != nil {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	if !known {
		s.writeAPIError(w, r, errInvalidUserID())
		return
	}
	slices.Sort(ids)
	writeJSON(w, externalUserListAnswer{status: okStatus, ExternalUserID: ids})
}

type followUserListAnswer struct {
	status
	FollowUser []string `json:"follow_user"`
}

// getFollowUserList serves GET externalcontact/get_follow_user_list: the
// staff members with 客户联系 enabled.
func (s *Server) getFollowUserList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ids := slices.Clone(s.staffOrder)
	s.mu.Unlock()
	writeJSON(w, followUserListAnswer{status: okStatus, FollowUser: ids})
}

type markTagRequest struct {
	UserID         string   `json:"userid"`
	ExternalUserID string   `json:"external_userid"`
	AddTag         []string `json:"add_tag"`
	RemoveTag      []string `json:"remove_tag"`
}

// markTag serves POST externalcontact/mark_tag: it adds and removes library
// tags on the follow between userid and external_userid. add_tag and
// remove_tag cannot both be empty, and every id must be in the library.
func (s *Server) markTag(w http.ResponseWriter, r *http.Request) {
	var req markTagRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if err := s.applyTags(req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, okStatus)
}

func (s *Server) applyTags(req markTagRequest) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.staff[req.UserID]; !ok {
		return errInvalidUserID()
	}
	p, ok := s.people[req.ExternalUserID]
	if !ok {
		return errInvalidExternalUserID()
	}
	f := p.followOf(req.UserID)
	if f == nil {
		return errNotExternalContact()
	}
	if len(req.AddTag) == 0 && len(req.RemoveTag) == 0 {
		return errInvalidParam("add_tag and remove_tag are both empty")
	}
	for _, id := range append(slices.Clone(req.AddTag), req.RemoveTag...) {
		if _, ok := s.tags[id]; !ok {
			return errInvalidTagID()
		}
	}
	for _, id := range req.AddTag {
		if !slices.Contains(f.tagIDs, id) {
			f.tagIDs = append(f.tagIDs, id)
		}
	}
	f.tagIDs = slices.DeleteFunc(f.tagIDs, func(id string) bool { return slices.Contains(req.RemoveTag, id) })
	return nil
}
