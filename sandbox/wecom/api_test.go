package wecom

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// post calls a POST API with a valid token and a JSON body (a string is sent
// as is, anything else is marshalled).
func post(t *testing.T, s *Server, tok, path string, body any) map[string]any {
	t.Helper()
	raw, ok := body.(string)
	if !ok {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		raw = string(b)
	}
	code, ans := call(t, s, http.MethodPost, path+"?access_token="+tok, raw)
	if code != http.StatusOK {
		t.Fatalf("POST %s: HTTP %d", path, code)
	}
	return ans
}

// seedCustomer creates a QR contact way for lisi and has a person add it.
func seedCustomer(t *testing.T, s *Server, tok string, p Person) ContactAdded {
	t.Helper()
	ans := post(t, s, tok, "/cgi-bin/externalcontact/add_contact_way", map[string]any{
		"type": 1, "scene": 2, "user": []string{"lisi"}, "state": "seed",
	})
	id, _ := ans["config_id"].(string)
	added, err := s.AddContact(id, p)
	if err != nil {
		t.Fatalf("AddContact: %v", err)
	}
	return added
}

func TestAPIValidation(t *testing.T) {
	s := newSandbox(t, Config{})
	tok := token(t, s)
	customer := seedCustomer(t, s, tok, Person{UnionID: "oUnion-customer", Name: "顾客"})
	groups := s.Groups()
	chat := groups[0].ChatID
	tag := s.TagGroups()[0].Tags[0].ID
	// A group member who is nobody's customer.
	jw := post(t, s, tok, "/cgi-bin/externalcontact/groupchat/add_join_way", map[string]any{"scene": 2, "chat_id_list": []string{chat}})
	member, err := s.ScanJoinWay(jw["config_id"].(string), Person{UnionID: "oUnion-member", Name: "群友"})
	if err != nil {
		t.Fatal(err)
	}
	thirty := strings.Repeat("直", 30)
	six := []string{chat, chat, chat, chat, chat, chat}
	manyAttachments := make([]map[string]any, 10)
	for i := range manyAttachments {
		manyAttachments[i] = map[string]any{"msgtype": "video", "video": map[string]string{"media_id": "M"}}
	}

	tests := []struct {
		name string
		path string
		body any
		want float64
	}{
		{"body not JSON", "/cgi-bin/externalcontact/mark_tag", "{not json", 47001},
		{"mark_tag unknown staff", "/cgi-bin/externalcontact/mark_tag", map[string]any{"userid": "nobody", "external_userid": customer.ExternalUserID, "add_tag": []string{tag}}, 40003},
		{"mark_tag unknown customer", "/cgi-bin/externalcontact/mark_tag", map[string]any{"userid": "lisi", "external_userid": "wmUnknown", "add_tag": []string{tag}}, 40096},
		{"mark_tag not a customer of that staff", "/cgi-bin/externalcontact/mark_tag", map[string]any{"userid": "zhangsan", "external_userid": customer.ExternalUserID, "add_tag": []string{tag}}, 84061},
		{"mark_tag nothing to do", "/cgi-bin/externalcontact/mark_tag", map[string]any{"userid": "lisi", "external_userid": customer.ExternalUserID}, 40058},
		{"mark_tag tag not in the library", "/cgi-bin/externalcontact/mark_tag", map[string]any{"userid": "lisi", "external_userid": customer.ExternalUserID, "add_tag": []string{"etUnknown"}}, 40068},
		{"mark_tag", "/cgi-bin/externalcontact/mark_tag", map[string]any{"userid": "lisi", "external_userid": customer.ExternalUserID, "add_tag": []string{tag}}, 0},
		{"get a group member nobody added", "/cgi-bin/externalcontact/get?external_userid=" + member.ExternalUserID, nil, 84061},
		{"contact way without type", "/cgi-bin/externalcontact/add_contact_way", map[string]any{"scene": 2, "user": []string{"lisi"}}, 41037},
		{"contact way type 1 with two users", "/cgi-bin/externalcontact/add_contact_way", map[string]any{"type": 1, "scene": 2, "user": []string{"lisi", "wangwu"}}, 40058},
		{"contact way unknown user", "/cgi-bin/externalcontact/add_contact_way", map[string]any{"type": 1, "scene": 2, "user": []string{"nobody"}}, 40003},
		{"contact way state of 31 characters", "/cgi-bin/externalcontact/add_contact_way", map[string]any{"type": 1, "scene": 2, "user": []string{"lisi"}, "state": thirty + "x"}, 40058},
		{"contact way state of 30 characters", "/cgi-bin/externalcontact/add_contact_way", map[string]any{"type": 1, "scene": 2, "user": []string{"lisi"}, "state": thirty}, 0},
		{"contact way temp chat for several users", "/cgi-bin/externalcontact/add_contact_way", map[string]any{"type": 2, "scene": 2, "user": []string{"lisi", "wangwu"}, "is_temp": true}, 40058},
		{"group list limit 0", "/cgi-bin/externalcontact/groupchat/list", map[string]any{"limit": 0}, 40058},
		{"group list limit 1001", "/cgi-bin/externalcontact/groupchat/list", map[string]any{"limit": 1001}, 40058},
		{"group list limit 1000", "/cgi-bin/externalcontact/groupchat/list", map[string]any{"limit": 1000}, 0},
		{"group list bad cursor", "/cgi-bin/externalcontact/groupchat/list", map[string]any{"limit": 10, "cursor": "%%%"}, 40058},
		{"group list status_filter 4", "/cgi-bin/externalcontact/groupchat/list", map[string]any{"limit": 10, "status_filter": 4}, 40058},
		{"group get unknown chat", "/cgi-bin/externalcontact/groupchat/get", map[string]any{"chat_id": "wrUnknown"}, 40050},
		{"join way with 6 groups", "/cgi-bin/externalcontact/groupchat/add_join_way", map[string]any{"scene": 2, "chat_id_list": six}, 40058},
		{"join way without groups", "/cgi-bin/externalcontact/groupchat/add_join_way", map[string]any{"scene": 2}, 40058},
		{"join way unknown group", "/cgi-bin/externalcontact/groupchat/add_join_way", map[string]any{"scene": 2, "chat_id_list": []string{"wrUnknown"}}, 40050},
		{"join way scene 3", "/cgi-bin/externalcontact/groupchat/add_join_way", map[string]any{"scene": 3, "chat_id_list": []string{chat}}, 40058},
		{"join way state of 31 characters", "/cgi-bin/externalcontact/groupchat/add_join_way", map[string]any{"scene": 2, "chat_id_list": []string{chat}, "state": thirty + "x"}, 40058},
		{"join way state of 30 characters", "/cgi-bin/externalcontact/groupchat/add_join_way", map[string]any{"scene": 2, "chat_id_list": []string{chat}, "state": thirty}, 0},
		{"join way room_base_name of 41 characters", "/cgi-bin/externalcontact/groupchat/add_join_way", map[string]any{"scene": 2, "chat_id_list": []string{chat}, "room_base_name": strings.Repeat("群", 41)}, 40058},
		{"get unknown join way", "/cgi-bin/externalcontact/groupchat/get_join_way", map[string]any{"config_id": "0123"}, 40058},
		{"message text over 4000 bytes", "/cgi-bin/externalcontact/add_msg_template", map[string]any{"external_userid": []string{customer.ExternalUserID}, "text": map[string]string{"content": strings.Repeat("a", 4001)}}, 45002},
		{"message text of 4000 bytes", "/cgi-bin/externalcontact/add_msg_template", map[string]any{"external_userid": []string{customer.ExternalUserID}, "text": map[string]string{"content": strings.Repeat("a", 4000)}}, 0},
		{"message without text or attachments", "/cgi-bin/externalcontact/add_msg_template", map[string]any{"external_userid": []string{customer.ExternalUserID}}, 40058},
		{"message with 10 attachments", "/cgi-bin/externalcontact/add_msg_template", map[string]any{"external_userid": []string{customer.ExternalUserID}, "attachments": manyAttachments}, 40058},
		{"message with 9 attachments", "/cgi-bin/externalcontact/add_msg_template", map[string]any{"external_userid": []string{customer.ExternalUserID}, "attachments": manyAttachments[:9]}, 0},
		{"message link without url", "/cgi-bin/externalcontact/add_msg_template", map[string]any{"external_userid": []string{customer.ExternalUserID}, "attachments": []map[string]any{{"msgtype": "link", "link": map[string]string{"title": "t"}}}}, 40058},
		{"message unknown msgtype", "/cgi-bin/externalcontact/add_msg_template", map[string]any{"external_userid": []string{customer.ExternalUserID}, "attachments": []map[string]any{{"msgtype": "voice"}}}, 40058},
		{"message neither customers nor sender", "/cgi-bin/externalcontact/add_msg_template", map[string]any{"text": map[string]string{"content": "hi"}}, 40058},
		{"message unknown customer", "/cgi-bin/externalcontact/add_msg_template", map[string]any{"external_userid": []string{"wmUnknown"}, "text": map[string]string{"content": "hi"}}, 40096},
		{"message unknown sender", "/cgi-bin/externalcontact/add_msg_template", map[string]any{"sender": "nobody", "text": map[string]string{"content": "hi"}}, 40003},
		{"message to groups without sender", "/cgi-bin/externalcontact/add_msg_template", map[string]any{"chat_type": "group", "text": map[string]string{"content": "hi"}}, 40058},
		{"message to an unknown group", "/cgi-bin/externalcontact/add_msg_template", map[string]any{"chat_type": "group", "sender": "zhangsan", "chat_id_list": []string{"wrUnknown"}, "text": map[string]string{"content": "hi"}}, 40050},
		{"message bad chat_type", "/cgi-bin/externalcontact/add_msg_template", map[string]any{"chat_type": "all", "sender": "zhangsan", "text": map[string]string{"content": "hi"}}, 40058},
		{"message tag filter with an unknown tag", "/cgi-bin/externalcontact/add_msg_template", map[string]any{"sender": "lisi", "tag_filter": map[string]any{"group_list": []map[string]any{{"tag_list": []string{"etUnknown"}}}}, "text": map[string]string{"content": "hi"}}, 40068},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ans map[string]any
			if tt.body == nil {
				_, ans = call(t, s, http.MethodGet, tt.path+"&access_token="+tok, "")
			} else {
				ans = post(t, s, tok, tt.path, tt.body)
			}
			if ans["errcode"] != tt.want {
				t.Fatalf("errcode = %v, want %v (%v)", ans["errcode"], tt.want, ans["errmsg"])
			}
		})
	}
}

func TestJoinWayDefaults(t *testing.T) {
	s := newSandbox(t, Config{})
	tok := token(t, s)
	chat := s.Groups()[0].ChatID
	tests := []struct {
		name       string
		body       map[string]any
		wantAuto   float64
		wantRemark string
		wantQR     bool
	}{
		{"auto_create_room defaults to 1", map[string]any{"scene": 2, "chat_id_list": []string{chat}}, 1, "", true},
		{"auto_create_room 0 is kept", map[string]any{"scene": 2, "chat_id_list": []string{chat}, "auto_create_room": 0}, 0, "", true},
		{"remark is cut at 30 characters", map[string]any{"scene": 2, "chat_id_list": []string{chat}, "remark": strings.Repeat("备", 35)}, 1, strings.Repeat("备", 30), true},
		{"a mini-program way has no QR code", map[string]any{"scene": 1, "chat_id_list": []string{chat}}, 1, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			added := post(t, s, tok, "/cgi-bin/externalcontact/groupchat/add_join_way", tt.body)
			got := post(t, s, tok, "/cgi-bin/externalcontact/groupchat/get_join_way", map[string]any{"config_id": added["config_id"]})
			jw, _ := got["join_way"].(map[string]any)
			if jw == nil {
				t.Fatalf("get_join_way = %v", got)
			}
			_, hasQR := jw["qr_code"]
			if jw["auto_create_room"] != tt.wantAuto || jw["remark"] != tt.wantRemark || hasQR != tt.wantQR {
				t.Fatalf("join_way = %v", jw)
			}
		})
	}
}

func TestMessageRecipients(t *testing.T) {
	s := newSandbox(t, Config{})
	tok := token(t, s)
	a := seedCustomer(t, s, tok, Person{UnionID: "oUnion-a", Name: "A"})
	b := seedCustomer(t, s, tok, Person{UnionID: "oUnion-b", Name: "B"})
	repeat := s.TagGroups()[1].Tags[1].ID
	if ans := post(t, s, tok, "/cgi-bin/externalcontact/mark_tag", map[string]any{"userid": "lisi", "external_userid": b.ExternalUserID, "add_tag": []string{repeat}}); ans["errcode"] != float64(0) {
		t.Fatalf("mark_tag = %v", ans)
	}
	groups := s.Groups()
	tests := []struct {
		name      string
		body      map[string]any
		wantUsers string
		wantFail  string
		wantChats string
	}{
		{"every customer of the sender", map[string]any{"sender": "lisi"}, strings.Join(sorted(a.ExternalUserID, b.ExternalUserID), ","), "", ""},
		{"customers of another sender fail", map[string]any{"sender": "wangwu", "external_userid": []string{a.ExternalUserID}}, "", a.ExternalUserID, ""},
		{"tag filter", map[string]any{"sender": "lisi", "tag_filter": map[string]any{"group_list": []map[string]any{{"tag_list": []string{repeat}}}}}, b.ExternalUserID, "", ""},
		{"groups of the owner", map[string]any{"chat_type": "group", "sender": "zhangsan"}, "", "", groups[0].ChatID + "," + groups[1].ChatID},
		{"listed groups", map[string]any{"chat_type": "group", "sender": "zhangsan", "chat_id_list": []string{groups[1].ChatID}}, "", "", groups[1].ChatID},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.body["text"] = map[string]string{"content": fmt.Sprintf("消息 %d", i)}
			ans := post(t, s, tok, "/cgi-bin/externalcontact/add_msg_template", tt.body)
			if ans["errcode"] != float64(0) {
				t.Fatalf("add_msg_template = %v", ans)
			}
			msgs := s.Messages()
			m := msgs[len(msgs)-1]
			if m.MsgID != ans["msgid"] {
				t.Fatalf("last message %q, answer msgid %v", m.MsgID, ans["msgid"])
			}
			if got := strings.Join(m.ExternalUserIDs, ","); got != tt.wantUsers {
				t.Errorf("external_userid = %q, want %q", got, tt.wantUsers)
			}
			if got := strings.Join(m.FailList, ","); got != tt.wantFail {
				t.Errorf("fail_list = %q, want %q", got, tt.wantFail)
			}
			if got := strings.Join(m.ChatIDList, ","); got != tt.wantChats {
				t.Errorf("chat_id_list = %q, want %q", got, tt.wantChats)
			}
		})
	}
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}
