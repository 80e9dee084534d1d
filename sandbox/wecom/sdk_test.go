package wecom

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/util"
	"github.com/silenceper/wechat/v2/work/externalcontact"
)

// errCode returns the errcode of an SDK error, or 0.
func errCode(err error) int64 {
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return ce.ErrCode
	}
	return 0
}

// TestSDKFlow drives the unmodified silenceper work client through what Siyu
// does, step by step; later steps use what earlier ones created.
func TestSDKFlow(t *testing.T) {
	clk := newClock()
	s := newSandbox(t, Config{Now: clk.Now})
	ec := newWork(s).GetExternalContact()
	groups := s.Groups()
	shopper := Person{UnionID: "oTmHYjg7Vj0D3ZsP2mDoZ4JpH0Xs", Name: "小满"}
	scanner := Person{UnionID: "oTmHYjvQq2YJbq0ZrNs1b8xB7aKc", Name: "阿青"}
	var contactWayID, joinWayID, shopperID string
	tags := s.TagGroups()

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"gettoken", func(t *testing.T) {
			tok, err := ec.GetAccessToken()
			if err != nil || len(tok) < 64 {
				t.Fatalf("GetAccessToken = %q, %v", tok, err)
			}
		}},
		{"add and read a contact way", func(t *testing.T) {
			res, err := ec.AddContactWay(&externalcontact.AddContactWayRequest{
				Type: 1, Scene: 2, User: []string{"lisi"}, State: "live_20260520", SkipVerify: true, Remark: "直播间加微",
			})
			if err != nil {
				t.Fatalf("AddContactWay: %v", err)
			}
			if len(res.ConfigID) != 32 || !strings.HasPrefix(res.QrCode, "https://") {
				t.Fatalf("AddContactWay = %+v", res)
			}
			contactWayID = res.ConfigID
			got, err := ec.GetContactWay(&externalcontact.GetContactWayRequest{ConfigID: contactWayID})
			if err != nil {
				t.Fatalf("GetContactWay: %v", err)
			}
			if cw := got.ContactWay; cw.State != "live_20260520" || !slices.Equal(cw.User, []string{"lisi"}) || cw.QrCode != res.QrCode {
				t.Fatalf("GetContactWay = %+v", cw)
			}
		}},
		{"the shopper adds the staff member and is read back", func(t *testing.T) {
			added, err := s.AddContact(contactWayID, shopper)
			if err != nil {
				t.Fatalf("AddContact: %v", err)
			}
			shopperID = added.ExternalUserID
			if !strings.HasPrefix(shopperID, "wm") || len(shopperID) != 32 || shopperID != s.ExternalUserID(shopper.UnionID) {
				t.Fatalf("external_userid = %q", shopperID)
			}
			res, err := ec.GetExternalUserDetail(shopperID)
			if err != nil {
				t.Fatalf("GetExternalUserDetail: %v", err)
			}
			c := res.ExternalContact
			if c.ExternalUserID != shopperID || c.Name != "小满" || c.UnionID != shopper.UnionID || c.Type != 1 || c.Avatar == "" {
				t.Fatalf("external_contact = %+v", c)
			}
			if len(res.FollowUser) != 1 {
				t.Fatalf("follow_user = %+v", res.FollowUser)
			}
			f := res.FollowUser[0]
			if f.UserID != "lisi" || f.State != "live_20260520" || f.AddWay != 1 || f.CreateTime != clk.Now().Unix() || f.OperUserID != shopperID {
				t.Fatalf("follow_user[0] = %+v", f)
			}
		}},
		{"tags are listed, marked and removed", func(t *testing.T) {
			lib, err := ec.GetCropTagList(externalcontact.GetCropTagRequest{})
			if err != nil || len(lib) != 2 || len(lib[0].Tag) != 2 {
				t.Fatalf("GetCropTagList = %+v, %v", lib, err)
			}
			live, repeat := tags[0].Tags[0], tags[1].Tags[1]
			if lib[0].Tag[0].ID != live.ID || lib[0].Tag[0].Name != "直播间" {
				t.Fatalf("first tag = %+v, want %+v", lib[0].Tag[0], live)
			}
			if err := ec.MarkTag(externalcontact.MarkTagRequest{UserID: "lisi", ExternalUserID: shopperID, AddTag: []string{live.ID, repeat.ID}}); err != nil {
				t.Fatalf("MarkTag add: %v", err)
			}
			if err := ec.MarkTag(externalcontact.MarkTagRequest{UserID: "lisi", ExternalUserID: shopperID, RemoveTag: []string{live.ID}}); err != nil {
				t.Fatalf("MarkTag remove: %v", err)
			}
			res, err := ec.GetExternalUserDetail(shopperID)
			if err != nil {
				t.Fatalf("GetExternalUserDetail: %v", err)
			}
			got := res.FollowUser[0].Tags
			if len(got) != 1 || got[0].TagID != repeat.ID || got[0].TagName != "复购" || got[0].GroupName != "客户等级" || got[0].Type != 1 {
				t.Fatalf("tags = %+v", got)
			}
		}},
		{"groups are listed page by page", func(t *testing.T) {
			first, err := ec.GetGroupChatList(&externalcontact.GroupChatListRequest{Limit: 1})
			if err != nil || len(first.GroupChatList) != 1 || first.NextCursor == "" {
				t.Fatalf("page 1 = %+v, %v", first, err)
			}
			second, err := ec.GetGroupChatList(&externalcontact.GroupChatListRequest{Limit: 1, Cursor: first.NextCursor})
			if err != nil || len(second.GroupChatList) != 1 || second.NextCursor != "" {
				t.Fatalf("page 2 = %+v, %v", second, err)
			}
			ids := []string{first.GroupChatList[0].ChatID, second.GroupChatList[0].ChatID}
			if !slices.Equal(ids, []string{groups[0].ChatID, groups[1].ChatID}) {
				t.Fatalf("chat ids = %v", ids)
			}
		}},
		{"a group is read with names", func(t *testing.T) {
			res, err := ec.GetGroupChatDetail(&externalcontact.GroupChatDetailRequest{ChatID: groups[0].ChatID, NeedName: 1})
			if err != nil {
				t.Fatalf("GetGroupChatDetail: %v", err)
			}
			g := res.GroupChat
			if g.Owner != "zhangsan" || g.Name != "直播福利1群" || len(g.MemberList) != 1 || g.MemberVersion == "" {
				t.Fatalf("group_chat = %+v", g)
			}
			if m := g.MemberList[0]; m.UserID != "zhangsan" || m.Type != 1 || m.Name != "张三" || m.JoinScene != 1 {
				t.Fatalf("owner member = %+v", m)
			}
		}},
		{"a join way is added, read and updated with its state", func(t *testing.T) {
			res, err := ec.AddJoinWay(&externalcontact.AddJoinWayRequest{
				Scene: 2, Remark: "直播间二维码", AutoCreateRoom: 1, RoomBaseName: "直播福利群", RoomBaseID: 3,
				ChatIDList: []string{groups[0].ChatID, groups[1].ChatID}, State: "show42_inv7",
			})
			if err != nil || len(res.ConfigID) != 32 {
				t.Fatalf("AddJoinWay = %+v, %v", res, err)
			}
			joinWayID = res.ConfigID
			got, err := ec.GetJoinWay(&externalcontact.JoinWayConfigRequest{ConfigID: joinWayID})
			if err != nil {
				t.Fatalf("GetJoinWay: %v", err)
			}
			jw := got.JoinWay
			if jw.ConfigID != joinWayID || jw.Scene != 2 || jw.State != "show42_inv7" || jw.Remark != "直播间二维码" ||
				jw.AutoCreateRoom != 1 || jw.RoomBaseName != "直播福利群" || jw.RoomBaseID != 3 ||
				!slices.Equal(jw.ChatIDList, []string{groups[0].ChatID, groups[1].ChatID}) || !strings.HasPrefix(jw.QrCode, "https://") {
				t.Fatalf("join_way = %+v", jw)
			}
			if err := ec.UpdateJoinWay(&externalcontact.UpdateJoinWayRequest{
				ConfigID: joinWayID, Scene: 2, ChatIDList: []string{groups[0].ChatID}, State: "show42_inv8", AutoCreateRoom: 0,
			}); err != nil {
				t.Fatalf("UpdateJoinWay: %v", err)
			}
			got, err = ec.GetJoinWay(&externalcontact.JoinWayConfigRequest{ConfigID: joinWayID})
			if err != nil || got.JoinWay.State != "show42_inv8" || len(got.JoinWay.ChatIDList) != 1 || got.JoinWay.AutoCreateRoom != 0 {
				t.Fatalf("GetJoinWay after update = %+v, %v", got, err)
			}
		}},
		{"a scan joins the group with scene 3 and the state", func(t *testing.T) {
			m, err := s.ScanJoinWay(joinWayID, scanner)
			if err != nil {
				t.Fatalf("ScanJoinWay: %v", err)
			}
			res, err := ec.GetGroupChatDetail(&externalcontact.GroupChatDetailRequest{ChatID: groups[0].ChatID})
			if err != nil {
				t.Fatalf("GetGroupChatDetail: %v", err)
			}
			members := res.GroupChat.MemberList
			if len(members) != 2 {
				t.Fatalf("member_list = %+v", members)
			}
			got := members[1]
			if got.UserID != m.ExternalUserID || got.Type != 2 || got.JoinScene != 3 || got.State != "show42_inv8" ||
				got.UnionID != scanner.UnionID || got.Name != "" || int64(got.JoinTime) != clk.Now().Unix() {
				t.Fatalf("new member = %+v", got)
			}
			// A group member nobody has added is not an external contact.
			_, err = ec.GetExternalUserDetail(m.ExternalUserID)
			if errCode(err) != 84061 {
				t.Fatalf("GetExternalUserDetail(group member) error = %v, want errcode 84061", err)
			}
		}},
		{"a mass message is created and recorded", func(t *testing.T) {
			scannerID := s.ExternalUserID(scanner.UnionID)
			res, err := ec.AddMsgTemplate(&externalcontact.AddMsgTemplateRequest{
				ChatType: "single", ExternalUserID: []string{shopperID, scannerID}, Sender: "lisi",
				Text: externalcontact.MsgText{Content: "今晚8点开播，福利券已放入卡包"},
				Attachments: []*externalcontact.Attachment{{MsgType: "miniprogram", MiniProgram: externalcontact.AttachmentMiniProgram{
					Title: "今晚直播", PicMediaID: "MEDIA_ID", AppID: "wx8bd80126147dfAAA", Page: "/pages/live/index.html",
				}}},
			})
			if err != nil {
				t.Fatalf("AddMsgTemplate: %v", err)
			}
			if !strings.HasPrefix(res.MsgID, "msg") || !slices.Equal(res.FailList, []string{scannerID}) {
				t.Fatalf("AddMsgTemplate = %+v", res)
			}
			msgs := s.Messages()
			if len(msgs) != 1 {
				t.Fatalf("Messages = %+v", msgs)
			}
			m := msgs[0]
			if m.MsgID != res.MsgID || !slices.Equal(m.ExternalUserIDs, []string{shopperID}) || m.Sender != "lisi" ||
				len(m.Attachments) != 1 || m.Attachments[0].MiniProgram == nil || m.Attachments[0].Link != nil {
				t.Fatalf("recorded message = %+v", m)
			}
		}},
		{"a deleted join way is gone", func(t *testing.T) {
			if err := ec.DelJoinWay(&externalcontact.JoinWayConfigRequest{ConfigID: joinWayID}); err != nil {
				t.Fatalf("DelJoinWay: %v", err)
			}
			_, err := ec.GetJoinWay(&externalcontact.JoinWayConfigRequest{ConfigID: joinWayID})
			if errCode(err) != 40058 {
				t.Fatalf("GetJoinWay after delete error = %v, want errcode 40058", err)
			}
		}},
	}
	for _, step := range steps {
		if !t.Run(step.name, step.run) {
			t.FailNow()
		}
	}
}
