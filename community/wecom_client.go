package community

import (
	"context"
	"errors"
	"fmt"

	"github.com/silenceper/wechat/v2/util"
	"github.com/silenceper/wechat/v2/work/externalcontact"
)

// WeComError is WeCom's refusal of an API call: its errcode and errmsg.
type WeComError struct {
	API  string
	Code int64
	Msg  string
}

func (e *WeComError) Error() string {
	return fmt.Sprintf("WeCom %s: errcode %d: %s", e.API, e.Code, e.Msg)
}

// WeComAttachment is one attachment of a WeCom message template: a link,
// a mini-program page or an image (by media_id or pic_url).
type WeComAttachment struct {
	MsgType     string                `json:"msgtype" enum:"link,miniprogram,image"`
	Link        *WeComLink            `json:"link,omitempty"`
	MiniProgram *WeComMiniProgramCard `json:"miniprogram,omitempty"`
	Image       *WeComImageAttachment `json:"image,omitempty"`
}

// WeComLink is a link card.
type WeComLink struct {
	Title  string `json:"title"`
	PicURL string `json:"picurl,omitempty"`
	Desc   string `json:"desc,omitempty"`
	URL    string `json:"url"`
}

// WeComMiniProgramCard opens a mini-program page.
type WeComMiniProgramCard struct {
	Title      string `json:"title"`
	PicMediaID string `json:"pic_media_id"`
	AppID      string `json:"appid"`
	Page       string `json:"page"`
}

// WeComImageAttachment is an image by media_id or pic_url.
type WeComImageAttachment struct {
	MediaID string `json:"media_id,omitempty"`
	PicURL  string `json:"pic_url,omitempty"`
}

// MassMessage is a WeCom message template (企业群发) from one staff member
// to some of their customers.
type MassMessage struct {
	Sender          string
	ExternalUserIDs []string
	Text            string
	Attachments     []WeComAttachment
}

// MassResult is add_msg_template's answer: the task's id and the customers
// it cannot reach.
type MassResult struct {
	MsgID    string
	FailList []string
}

// WeComMassSender creates WeCom message templates (the WeComClient).
type WeComMassSender interface {
	AddMsgTemplate(ctx context.Context, m MassMessage) (MassResult, error)
}

// WeComGroup is a customer group as groupchat/get answers it.
type WeComGroup struct {
	ChatID        string
	Name          string
	Owner         string
	Notice        string
	CreateTime    int64
	MemberVersion string
	Members       []WeComGroupMember
}

// WeComGroupMember is one member of a customer group.
type WeComGroupMember struct {
	UserID    string
	Type      int // 1 staff, 2 external contact
	UnionID   string
	Name      string
	JoinTime  int64
	JoinScene int
	Invitor   string
	State     string
}

// WeComContact is an external contact as externalcontact/get answers it,
// with the staff members who follow them.
type WeComContact struct {
	ExternalUserID string
	UnionID        string
	Name           string
	Follows        []WeComFollow
}

// WeComFollow is a staff member following a customer.
type WeComFollow struct {
	UserID     string
	CreateTime int64
	State      string
}

// WeComAPI is the WeCom 客户联系 API as the community service uses it
// (WeComClient implements it against silenceper/wechat).
type WeComAPI interface {
	WeComMassSender
	// GroupChatIDs lists every customer group's chat id.
	GroupChatIDs(ctx context.Context) ([]string, error)
	// GroupChat returns a group with its members (names included).
	GroupChat(ctx context.Context, chatID string) (WeComGroup, error)
	// AddJoinWay creates a group QR code (scene 2) for up to five groups
	// with a state, and returns its config_id and QR code URL.
	AddJoinWay(ctx context.Context, chatIDs []string, remark, state string) (configID, qrCode string, err error)
	// AddContactWay creates a 「联系我」 QR code of one staff member with a
	// state, and returns its config_id and QR code URL.
	AddContactWay(ctx context.Context, staffUserID, remark, state string) (configID, qrCode string, err error)
	// Contact returns an external contact.
	Contact(ctx context.Context, externalUserID string) (WeComContact, error)
}

// WeComClient is WeComAPI over silenceper/wechat's work client. Its calls
// take no context; they are bounded by the SDK's HTTP client, and run
// through tokens so that an expired token is replaced once.
type WeComClient struct {
	ec     *externalcontact.Client
	tokens TokenRetrier
}

// NewWeComClient wraps ec (work.GetExternalContact()), whose access-token
// handle is tokens.
func NewWeComClient(ec *externalcontact.Client, tokens TokenRetrier) *WeComClient {
	return &WeComClient{ec: ec, tokens: tokens}
}

// call runs an SDK call and turns WeCom's refusals into *WeComError.
func (c *WeComClient) call(ctx context.Context, api string, fn func() error) error {
	err := c.tokens.Retry(ctx, func(ctx context.Context) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn()
	})
	var ce *util.CommonError
	if errors.As(err, &ce) {
		return &WeComError{API: api, Code: ce.ErrCode, Msg: ce.ErrMsg}
	}
	if err != nil {
		return fmt.Errorf("WeCom %s: %w", api, err)
	}
	return nil
}

// GroupChatIDs implements WeComAPI, following next_cursor.
func (c *WeComClient) GroupChatIDs(ctx context.Context) ([]string, error) {
	var ids []string
	cursor := ""
	for {
		var res *externalcontact.GroupChatListResponse
		err := c.call(ctx, "groupchat/list", func() error {
			var err error
			res, err = c.ec.GetGroupChatList(&externalcontact.GroupChatListRequest{Cursor: cursor, Limit: 1000})
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, g := range res.GroupChatList {
			ids = append(ids, g.ChatID)
		}
		if res.NextCursor == "" || len(res.GroupChatList) == 0 {
			return ids, nil
		}
		cursor = res.NextCursor
	}
}

// GroupChat implements WeComAPI.
func (c *WeComClient) GroupChat(ctx context.Context, chatID string) (WeComGroup, error) {
	var res *externalcontact.GroupChatDetailResponse
	err := c.call(ctx, "groupchat/get", func() error {
		var err error
		res, err = c.ec.GetGroupChatDetail(&externalcontact.GroupChatDetailRequest{ChatID: chatID, NeedName: 1})
		return err
	})
	if err != nil {
		return WeComGroup{}, err
	}
	g := res.GroupChat
	out := WeComGroup{ChatID: g.ChatID, Name: g.Name, Owner: g.Owner, Notice: g.Notice, CreateTime: g.CreateTime, MemberVersion: g.MemberVersion}
	for _, m := range g.MemberList {
		out.Members = append(out.Members, WeComGroupMember{UserID: m.UserID, Type: m.Type, UnionID: m.UnionID, Name: m.Name,
			JoinTime: int64(m.JoinTime), JoinScene: m.JoinScene, Invitor: m.Invitor.UserID, State: m.State})
	}
	return out, nil
}

// AddJoinWay implements WeComAPI: add_join_way, then get_join_way for the
// QR code, which add_join_way does not answer.
func (c *WeComClient) AddJoinWay(ctx context.Context, chatIDs []string, remark, state string) (string, string, error) {
	var configID string
	err := c.call(ctx, "groupchat/add_join_way", func() error {
		res, err := c.ec.AddJoinWay(&externalcontact.AddJoinWayRequest{Scene: 2, Remark: remark, AutoCreateRoom: 1, ChatIDList: chatIDs, State: state})
		if err == nil {
			configID = res.ConfigID
		}
		return err
	})
	if err != nil {
		return "", "", err
	}
	var qr string
	err = c.call(ctx, "groupchat/get_join_way", func() error {
		res, err := c.ec.GetJoinWay(&externalcontact.JoinWayConfigRequest{ConfigID: configID})
		if err == nil {
			qr = res.JoinWay.QrCode
		}
		return err
	})
	return configID, qr, err
}

// AddContactWay implements WeComAPI (type 1 single, scene 2 QR code).
func (c *WeComClient) AddContactWay(ctx context.Context, staffUserID, remark, state string) (string, string, error) {
	var configID, qr string
	err := c.call(ctx, "add_contact_way", func() error {
		res, err := c.ec.AddContactWay(&externalcontact.AddContactWayRequest{Type: 1, Scene: 2, Remark: remark, SkipVerify: true, State: state, User: []string{staffUserID}})
		if err == nil {
			configID, qr = res.ConfigID, res.QrCode
		}
		return err
	})
	return configID, qr, err
}

// Contact implements WeComAPI.
func (c *WeComClient) Contact(ctx context.Context, externalUserID string) (WeComContact, error) {
	var res *externalcontact.ExternalUserDetailResponse
	err := c.call(ctx, "externalcontact/get", func() error {
		var err error
		res, err = c.ec.GetExternalUserDetail(externalUserID)
		return err
	})
	if err != nil {
		return WeComContact{}, err
	}
	out := WeComContact{ExternalUserID: res.ExternalContact.ExternalUserID, UnionID: res.ExternalContact.UnionID, Name: res.ExternalContact.Name}
	for _, f := range res.FollowUser {
		out.Follows = append(out.Follows, WeComFollow{UserID: f.UserID, CreateTime: int64(f.CreateTime), State: f.State})
	}
	return out, nil
}

// AddMsgTemplate implements WeComMassSender (chat_type single).
func (c *WeComClient) AddMsgTemplate(ctx context.Context, m MassMessage) (MassResult, error) {
	req := &externalcontact.AddMsgTemplateRequest{ChatType: "single", ExternalUserID: m.ExternalUserIDs, Sender: m.Sender,
		Text: externalcontact.MsgText{Content: m.Text}}
	for _, a := range m.Attachments {
		at := &externalcontact.Attachment{MsgType: a.MsgType}
		switch {
		case a.Link != nil:
			at.Link = externalcontact.AttachmentLink{Title: a.Link.Title, PicURL: a.Link.PicURL, Desc: a.Link.Desc, URL: a.Link.URL}
		case a.MiniProgram != nil:
			at.MiniProgram = externalcontact.AttachmentMiniProgram{Title: a.MiniProgram.Title, PicMediaID: a.MiniProgram.PicMediaID, AppID: a.MiniProgram.AppID, Page: a.MiniProgram.Page}
		case a.Image != nil:
			at.Image = externalcontact.AttachmentImg{MediaID: a.Image.MediaID, PicURL: a.Image.PicURL}
		}
		req.Attachments = append(req.Attachments, at)
	}
	var out MassResult
	err := c.call(ctx, "add_msg_template", func() error {
		res, err := c.ec.AddMsgTemplate(req)
		if err == nil {
			out = MassResult{MsgID: res.MsgID, FailList: res.FailList}
		}
		return err
	})
	return out, err
}
