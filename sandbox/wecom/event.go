package wecom

import (
	"encoding/xml"
	"fmt"
)

// The XML of the events WeCom posts to the callback URL, after decryption,
// following the examples of 客户联系 › 变更回调 › 事件格式.

// cdata is an element whose text is written as <![CDATA[…]]>.
type cdata struct {
	Text string `xml:",cdata"`
}

// addContactEvent is 添加企业客户事件 (change_external_contact /
// add_external_contact).
type addContactEvent struct {
	XMLName        xml.Name `xml:"xml"`
	ToUserName     cdata
	FromUserName   cdata
	CreateTime     int64
	MsgType        cdata
	Event          cdata
	ChangeType     cdata
	UserID         cdata
	ExternalUserID cdata
	State          *cdata `xml:",omitempty"`
	WelcomeCode    cdata
}

// chatMemberEvent is 客户群变更事件 (change_external_chat / update) for
// add_member and del_member. The documented example carries JoinScene and
// QuitScene together, so both are always written; MemChangeList lists the
// changed members as <Item> elements, LastMemVer/CurMemVer the member_version
// before and after.
type chatMemberEvent struct {
	XMLName       xml.Name `xml:"xml"`
	ToUserName    cdata
	FromUserName  cdata
	CreateTime    int64
	MsgType       cdata
	Event         cdata
	ChatID        cdata `xml:"ChatId"`
	ChangeType    cdata
	UpdateDetail  cdata
	JoinScene     int
	QuitScene     int
	MemChangeCnt  int
	MemChangeList memChangeList
	LastMemVer    string
	CurMemVer     string
}

type memChangeList struct {
	Item []string
}

// Event-level join and quit scenes (they differ from member_list's join_scene).
const (
	eventJoinInvited = 0 // 由成员邀请入群（包括直接邀请入群和通过邀请链接入群）
	eventJoinQRCode  = 3 // 通过扫描群二维码入群
	eventQuitSelf    = 0 // 自己退群
)

// envelope is the body POSTed to the callback URL.
type envelope struct {
	XMLName    xml.Name `xml:"xml"`
	ToUserName cdata
	Encrypt    cdata
	AgentID    cdata
}

// marshalEvent renders an event's XML.
func marshalEvent(v any) (string, error) {
	b, err := xml.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("wecom: marshal event: %w", err)
	}
	return string(b), nil
}
