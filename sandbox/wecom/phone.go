package wecom

import (
	"fmt"
	"slices"
)

// The shopper's phone: what a WeChat user does that WeCom then reports to
// Siyu through callbacks.

// Membership is the outcome of joining or leaving a customer group.
type Membership struct {
	ChatID         string `json:"chat_id"`
	ExternalUserID string `json:"external_userid"`
	JoinScene      int    `json:"join_scene"`
	JoinTime       int64  `json:"join_time"`
	State          string `json:"state"`
	DeliveryID     int    `json:"delivery_id"` // the change_external_chat callback
}

// ScanJoinWay is the person scanning the QR code of a join way: they join
// the way's first group (join_scene 3, with the way's state), get a stable
// external_userid, and a change_external_chat add_member event is sent.
// Joining a group does not make them anyone's customer.
func (s *Server) ScanJoinWay(configID string, p Person) (Membership, error) {
	if p.UnionID == "" {
		return Membership{}, ErrInvalidPerson
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	jw, ok := s.joinWays[configID]
	if !ok {
		return Membership{}, fmt.Errorf("%w: %q", ErrUnknownJoinWay, configID)
	}
	g, ok := s.groups[jw.ChatIDList[0]]
	if !ok {
		return Membership{}, fmt.Errorf("%w: %q", ErrUnknownGroup, jw.ChatIDList[0])
	}
	id := s.ExternalUserID(p.UnionID)
	if g.memberIndex(id) >= 0 {
		return Membership{}, fmt.Errorf("%w: %s in %s", ErrAlreadyMember, id, g.chatID)
	}
	who := s.personFor(p)
	last := memberVersion(g.userIDs())
	now := s.now().Unix()
	// WeCom's member_list knows join_scene 3 (QR code) as the only
	// self-service scene, so a mini-program join way is recorded the same.
	g.members = append(g.members, &member{
		userID: id, typ: memberExternal, unionID: who.unionID, name: who.name,
		joinTime: now, joinScene: joinSceneQRCode, state: jw.State,
	})
	deliveryID, err := s.chatMemberChanged(g, "add_member", eventJoinQRCode, eventQuitSelf, id, last, now)
	if err != nil {
		return Membership{}, err
	}
	return Membership{
		ChatID: g.chatID, ExternalUserID: id, JoinScene: joinSceneQRCode, JoinTime: now, State: jw.State, DeliveryID: deliveryID,
	}, nil
}

// LeaveGroup is the person leaving a customer group by themselves; a
// change_external_chat del_member event (QuitScene 0) is sent.
func (s *Server) LeaveGroup(chatID, unionID string) (Membership, error) {
	if unionID == "" {
		return Membership{}, ErrInvalidPerson
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[chatID]
	if !ok {
		return Membership{}, fmt.Errorf("%w: %q", ErrUnknownGroup, chatID)
	}
	id := s.ExternalUserID(unionID)
	i := g.memberIndex(id)
	if i < 0 {
		return Membership{}, fmt.Errorf("%w: %s in %s", ErrNotMember, id, chatID)
	}
	left := g.members[i]
	last := memberVersion(g.userIDs())
	g.members = slices.Delete(g.members, i, i+1)
	now := s.now().Unix()
	deliveryID, err := s.chatMemberChanged(g, "del_member", eventJoinInvited, eventQuitSelf, id, last, now)
	if err != nil {
		return Membership{}, err
	}
	return Membership{
		ChatID: chatID, ExternalUserID: id, JoinScene: left.joinScene, JoinTime: left.joinTime, State: left.state, DeliveryID: deliveryID,
	}, nil
}

// chatMemberChanged queues the change_external_chat event of one member
// joining or leaving; it needs s.mu and returns the delivery id.
func (s *Server) chatMemberChanged(g *group, detail string, joinScene, quitScene int, userID, lastVer string, at int64) (int, error) {
	xml, err := marshalEvent(chatMemberEvent{
		ToUserName: cdata{s.cfg.CorpID}, FromUserName: cdata{"sys"}, CreateTime: at,
		MsgType: cdata{"event"}, Event: cdata{"change_external_chat"}, ChatID: cdata{g.chatID},
		ChangeType: cdata{"update"}, UpdateDetail: cdata{detail}, JoinScene: joinScene, QuitScene: quitScene,
		MemChangeCnt: 1, MemChangeList: memChangeList{Item: []string{userID}},
		LastMemVer: lastVer, CurMemVer: memberVersion(g.userIDs()),
	})
	if err != nil {
		return 0, err
	}
	s.enqueueEvent("change_external_chat", "update", detail, xml)
	return len(s.deliveries), nil
}

// ContactAdded is the outcome of a person adding a staff member through a
// contact way.
type ContactAdded struct {
	ExternalUserID string `json:"external_userid"`
	UserID         string `json:"userid"`
	State          string `json:"state"`
	WelcomeCode    string `json:"welcome_code"`
	DeliveryID     int    `json:"delivery_id"` // the change_external_contact callback
}

// add_way values of follow_user.
const (
	addWayUnknown = 0 // 未知来源
	addWayQRCode  = 1 // 扫描二维码
)

// AddContact is the person adding the staff member of a 「联系我」 contact way
// (its first userid): they become that member's customer with the way's
// state, and a change_external_contact add_external_contact event is sent.
func (s *Server) AddContact(configID string, p Person) (ContactAdded, error) {
	if p.UnionID == "" {
		return ContactAdded{}, ErrInvalidPerson
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cw, ok := s.contactWays[configID]
	if !ok {
		return ContactAdded{}, fmt.Errorf("%w: %q", ErrUnknownContactWay, configID)
	}
	if len(cw.User) == 0 {
		// The sandbox has no departments, so a party-only way has nobody to add.
		return ContactAdded{}, fmt.Errorf("%w: %q has no staff userid", ErrUnknownContactWay, configID)
	}
	staff := cw.User[0]
	who := s.personFor(p)
	if who.followOf(staff) != nil {
		return ContactAdded{}, fmt.Errorf("%w: %s of %s", ErrAlreadyContact, who.externalUserID, staff)
	}
	addWay := addWayUnknown
	if cw.Scene == sceneQRCode {
		addWay = addWayQRCode
	}
	now := s.now().Unix()
	who.follows = append(who.follows, &follow{
		userID: staff, createTime: now, state: cw.State, addWay: addWay,
		// oper_userid: 客户主动添加时为客户的外部联系人userid
		operUserID: who.externalUserID,
	})
	welcome := s.randomID(43)
	ev := addContactEvent{
		ToUserName: cdata{s.cfg.CorpID}, FromUserName: cdata{"sys"}, CreateTime: now,
		MsgType: cdata{"event"}, Event: cdata{"change_external_contact"}, ChangeType: cdata{"add_external_contact"},
		UserID: cdata{staff}, ExternalUserID: cdata{who.externalUserID}, WelcomeCode: cdata{welcome},
	}
	if cw.State != "" {
		ev.State = &cdata{cw.State}
	}
	xml, err := marshalEvent(ev)
	if err != nil {
		return ContactAdded{}, err
	}
	s.enqueueEvent("change_external_contact", "add_external_contact", "", xml)
	return ContactAdded{
		ExternalUserID: who.externalUserID, UserID: staff, State: cw.State, WelcomeCode: welcome, DeliveryID: len(s.deliveries),
	}, nil
}
