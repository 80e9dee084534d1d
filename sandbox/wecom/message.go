package wecom

import (
	"net/http"
	"slices"
	"time"
)

// Message is a mass-message task (企业群发) created by add_msg_template, as
// recorded for inspection. WeCom does not send it by itself: the sender
// confirms it in the app; the sandbox only records it.
type Message struct {
	MsgID           string       `json:"msgid"`
	ChatType        string       `json:"chat_type"`
	Sender          string       `json:"sender,omitempty"`
	ExternalUserIDs []string     `json:"external_userid"`
	ChatIDList      []string     `json:"chat_id_list"`
	AllowSelect     bool         `json:"allow_select"`
	Text            string       `json:"text"`
	Attachments     []Attachment `json:"attachments"`
	FailList        []string     `json:"fail_list"`
	CreateTime      time.Time    `json:"create_time"`
}

// Attachment is one attachment of a mass message; only the object named by
// MsgType is kept.
type Attachment struct {
	MsgType     string                 `json:"msgtype"`
	Image       *AttachmentImage       `json:"image,omitempty"`
	Link        *AttachmentLink        `json:"link,omitempty"`
	MiniProgram *AttachmentMiniProgram `json:"miniprogram,omitempty"`
	Video       *AttachmentMedia       `json:"video,omitempty"`
	File        *AttachmentMedia       `json:"file,omitempty"`
}

// AttachmentImage is an image attachment.
type AttachmentImage struct {
	MediaID string `json:"media_id,omitempty"`
	PicURL  string `json:"pic_url,omitempty"`
}

// AttachmentLink is a link (图文) attachment.
type AttachmentLink struct {
	Title  string `json:"title"`
	PicURL string `json:"picurl,omitempty"`
	Desc   string `json:"desc,omitempty"`
	URL    string `json:"url"`
}

// AttachmentMiniProgram is a mini-program card attachment.
type AttachmentMiniProgram struct {
	Title      string `json:"title"`
	PicMediaID string `json:"pic_media_id"`
	AppID      string `json:"appid"`
	Page       string `json:"page"`
}

// AttachmentMedia is a video or file attachment.
type AttachmentMedia struct {
	MediaID string `json:"media_id"`
}

type msgTemplateRequest struct {
	ChatType       string   `json:"chat_type"`
	ExternalUserID []string `json:"external_userid"`
	ChatIDList     []string `json:"chat_id_list"`
	TagFilter      struct {
		GroupList []struct {
			TagList []string `json:"tag_list"`
		} `json:"group_list"`
	} `json:"tag_filter"`
	Sender      string `json:"sender"`
	AllowSelect bool   `json:"allow_select"`
	Text        struct {
		Content string `json:"content"`
	} `json:"text"`
	Attachments []Attachment `json:"attachments"`
}

// The documented limits of add_msg_template.
const (
	maxMsgCustomers   = 10000 // external_userid: 最多可传入1万个客户
	maxMsgChats       = 2000  // chat_id_list: 最多可一次指定2000个客户群
	maxMsgTextBytes   = 4000  // text.content: 最多4000个字节
	maxMsgAttachments = 9     // attachments: 最多支持添加9个附件
	maxLinkDescBytes  = 512   // link.desc: 最多512个字节
	maxMiniTitleBytes = 64    // miniprogram.title: 最多64个字节
)

type msgTemplateAnswer struct {
	status
	FailList []string `json:"fail_list"`
	MsgID    string   `json:"msgid"`
}

// addMsgTemplate serves POST externalcontact/add_msg_template. Ids the corp
// never saw answer 40096; known ids that are not customers of the sender (or
// of anyone, without a sender) go to fail_list, the documented "无效或无法
// 发送的external_userid列表".
func (s *Server) addMsgTemplate(w http.ResponseWriter, r *http.Request) {
	var req msgTemplateRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if req.ChatType == "" {
		req.ChatType = "single" // 默认为single
	}
	if err := validateMsgContent(req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.mu.Lock()
	msg, err := s.buildMessage(req)
	if err == nil {
		s.messages = append(s.messages, msg)
	}
	s.mu.Unlock()
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, msgTemplateAnswer{status: okStatus, FailList: slices.Clone(msg.FailList), MsgID: msg.MsgID})
}

// validateMsgContent checks the text and attachments.
func validateMsgContent(req msgTemplateRequest) *apiError {
	if len(req.Text.Content) > maxMsgTextBytes {
		return errContentTooLong()
	}
	if req.Text.Content == "" && len(req.Attachments) == 0 {
		return errInvalidParam("text and attachments are both empty")
	}
	if len(req.Attachments) > maxMsgAttachments {
		return errInvalidParam("attachments holds more than %d items", maxMsgAttachments)
	}
	for i, a := range req.Attachments {
		if err := validateAttachment(a); err != nil {
			return errInvalidParam("attachments[%d]: %s", i, err.msg)
		}
	}
	return nil
}

// validateAttachment checks that the object named by msgtype is filled in.
func validateAttachment(a Attachment) *apiError {
	switch a.MsgType {
	case "image":
		if a.Image == nil || (a.Image.MediaID == "" && a.Image.PicURL == "") {
			return &apiError{40058, "image needs media_id or pic_url"}
		}
	case "link":
		if a.Link == nil || a.Link.Title == "" || a.Link.URL == "" {
			return &apiError{40058, "link needs title and url"}
		}
		if len(a.Link.Desc) > maxLinkDescBytes {
			return &apiError{40058, "link.desc exceeds 512 bytes"}
		}
	case "miniprogram":
		m := a.MiniProgram
		if m == nil || m.Title == "" || m.PicMediaID == "" || m.AppID == "" || m.Page == "" {
			return &apiError{40058, "miniprogram needs title, pic_media_id, appid and page"}
		}
		if len(m.Title) > maxMiniTitleBytes {
			return &apiError{40058, "miniprogram.title exceeds 64 bytes"}
		}
	case "video":
		if a.Video == nil || a.Video.MediaID == "" {
			return &apiError{40058, "video needs media_id"}
		}
	case "file":
		if a.File == nil || a.File.MediaID == "" {
			return &apiError{40058, "file needs media_id"}
		}
	default:
		return &apiError{40058, "msgtype must be image, link, miniprogram, video or file"}
	}
	return nil
}

// buildMessage resolves the recipients of req; it needs s.mu.
func (s *Server) buildMessage(req msgTemplateRequest) (Message, *apiError) {
	if req.Sender != "" {
		if _, ok := s.staff[req.Sender]; !ok {
			return Message{}, errInvalidUserID()
		}
	}
	for _, g := range req.TagFilter.GroupList {
		for _, id := range g.TagList {
			if _, ok := s.tags[id]; !ok {
				return Message{}, errInvalidTagID()
			}
		}
	}
	msg := Message{
		MsgID: "msg" + s.randomID(29), ChatType: req.ChatType, Sender: req.Sender, AllowSelect: req.AllowSelect,
		Text: req.Text.Content, ExternalUserIDs: []string{}, ChatIDList: []string{}, FailList: []string{},
		CreateTime: s.now(),
	}
	for _, a := range req.Attachments {
		msg.Attachments = append(msg.Attachments, a.kept())
	}
	switch req.ChatType {
	case "single":
		return msg, s.resolveCustomers(req, &msg)
	case "group":
		return msg, s.resolveChats(req, &msg)
	}
	return Message{}, errInvalidParam("chat_type must be single or group")
}

// resolveCustomers fills the customers a single-chat task goes to.
func (s *Server) resolveCustomers(req msgTemplateRequest, msg *Message) *apiError {
	if len(req.ExternalUserID) == 0 && req.Sender == "" {
		return errInvalidParam("external_userid and sender are both empty")
	}
	if len(req.ExternalUserID) > maxMsgCustomers {
		return errInvalidParam("external_userid holds more than %d ids", maxMsgCustomers)
	}
	candidates := req.ExternalUserID
	if len(candidates) == 0 {
		// Without a list the task covers every customer of the sender.
		for id, p := range s.people {
			if p.followOf(req.Sender) != nil {
				candidates = append(candidates, id)
			}
		}
		slices.Sort(candidates)
	}
	for _, id := range candidates {
		p, ok := s.people[id]
		if !ok {
			return errInvalidExternalUserID()
		}
		tags, customer := s.followTags(p, req.Sender)
		switch {
		case !customer:
			msg.FailList = append(msg.FailList, id)
		case matchesTagFilter(tags, req):
			msg.ExternalUserIDs = append(msg.ExternalUserIDs, id)
		}
	}
	return nil
}

// followTags returns the tags p carries with the sender (with anyone,
// without a sender) and whether p is such a customer at all.
func (s *Server) followTags(p *person, sender string) ([]string, bool) {
	var tags []string
	customer := false
	for _, f := range p.follows {
		if sender == "" || f.userID == sender {
			customer = true
			tags = append(tags, f.tagIDs...)
		}
	}
	return tags, customer
}

// matchesTagFilter applies tag_filter: tags of one group are ORed, groups
// are ANDed ("同组标签之间按或关系进行筛选，不同组标签按且关系筛选"). A
// customer the filter excludes is simply not targeted.
func matchesTagFilter(tags []string, req msgTemplateRequest) bool {
	for _, g := range req.TagFilter.GroupList {
		if len(g.TagList) > 0 && !slices.ContainsFunc(g.TagList, func(id string) bool { return slices.Contains(tags, id) }) {
			return false
		}
	}
	return true
}

// resolveChats fills the groups a group-chat task goes to.
func (s *Server) resolveChats(req msgTemplateRequest, msg *Message) *apiError {
	if req.Sender == "" {
		// sender: 当类型为发送给客户群时必填
		return errInvalidParam("sender is required when chat_type is group")
	}
	if len(req.ChatIDList) > maxMsgChats {
		return errInvalidParam("chat_id_list holds more than %d ids", maxMsgChats)
	}
	for _, id := range req.ChatIDList {
		if _, ok := s.groups[id]; !ok {
			return errChatNotFound()
		}
	}
	chats := slices.Clone(req.ChatIDList)
	if len(chats) == 0 {
		// Without a list the owner picks among their groups.
		for _, id := range s.groupOrder {
			if s.groups[id].owner == req.Sender {
				chats = append(chats, id)
			}
		}
	}
	msg.ChatIDList = append(msg.ChatIDList, chats...)
	return nil
}

// kept returns the attachment with only the object its msgtype names.
func (a Attachment) kept() Attachment {
	out := Attachment{MsgType: a.MsgType}
	switch a.MsgType {
	case "image":
		out.Image = a.Image
	case "link":
		out.Link = a.Link
	case "miniprogram":
		out.MiniProgram = a.MiniProgram
	case "video":
		out.Video = a.Video
	case "file":
		out.File = a.File
	}
	return out
}

// Messages lists the mass-message tasks in the order they were created.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages))
	for _, m := range s.messages {
		m.ExternalUserIDs = slices.Clone(m.ExternalUserIDs)
		m.ChatIDList = slices.Clone(m.ChatIDList)
		m.FailList = slices.Clone(m.FailList)
		m.Attachments = slices.Clone(m.Attachments)
		out = append(out, m)
	}
	return out
}
