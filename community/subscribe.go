package community

import (
	"context"
	"errors"
	"fmt"

	"github.com/silenceper/wechat/v2/miniprogram/subscribe"
	"github.com/silenceper/wechat/v2/util"
)

// SubscribeMessage is one subscribe message (订阅消息) to a shopper.
type SubscribeMessage struct {
	OpenID     string
	TemplateID string
	// Page is the mini-program page the message opens, with its query.
	Page string
	// Data fills the template's keywords (thing1, time2, …).
	Data map[string]string
}

// SendError is WeChat's refusal of a subscribe message: its errcode and
// errmsg.
type SendError struct {
	Code int64
	Msg  string
}

func (e *SendError) Error() string {
	return fmt.Sprintf("subscribe/send: errcode %d: %s", e.Code, e.Msg)
}

// SubscribeSender sends one subscribe message. WeChat's refusals are
// *SendError; anything else (the network) is another error.
type SubscribeSender interface {
	SendSubscribe(ctx context.Context, m SubscribeMessage) error
}

// WeChatSubscribe is a SubscribeSender calling subscribeMessage.send
// through silenceper/wechat.
type WeChatSubscribe struct {
	sub    *subscribe.Subscribe
	tokens TokenRetrier
	// state is miniprogram_state: developer, trial or formal (empty means
	// formal).
	state string
}

// NewWeChatSubscribe returns a sender using sub (from
// miniprogram.GetSubscribe()); state is the miniprogram_state messages
// open ("developer", "trial", "formal" or "" for formal); tokens, when not
// nil, retries a send whose access token WeChat refused.
func NewWeChatSubscribe(sub *subscribe.Subscribe, state string, tokens TokenRetrier) *WeChatSubscribe {
	return &WeChatSubscribe{sub: sub, state: state, tokens: tokens}
}

// SendSubscribe implements SubscribeSender. silenceper's Send takes no
// context; it is bounded by the SDK's HTTP client.
func (w *WeChatSubscribe) SendSubscribe(ctx context.Context, m SubscribeMessage) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data := make(map[string]*subscribe.DataItem, len(m.Data))
	for k, v := range m.Data {
		data[k] = &subscribe.DataItem{Value: v}
	}
	msg := &subscribe.Message{
		ToUser: m.OpenID, TemplateID: m.TemplateID, Page: m.Page, Data: data,
		MiniprogramState: w.state, Lang: "zh_CN",
	}
	var err error
	if w.tokens != nil {
		err = w.tokens.Retry(ctx, func(context.Context) error { return w.sub.Send(msg) })
	} else {
		err = w.sub.Send(msg)
	}
	var ce *util.CommonError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return &SendError{Code: ce.ErrCode, Msg: ce.ErrMsg}
	}
	return fmt.Errorf("subscribe/send: %w", err)
}
