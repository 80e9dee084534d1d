package miniprogram_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/silenceper/wechat/v2/miniprogram/subscribe"

	"github.com/siyu-live/siyu/sandbox/miniprogram"
)

// reminder is a valid live-start reminder for the default template.
func reminder(openid string) *subscribe.Message {
	return &subscribe.Message{
		ToUser:     openid,
		TemplateID: miniprogram.TemplateLiveStart,
		Page:       "pages/live/index?show=42",
		Data: map[string]*subscribe.DataItem{
			"thing1": {Value: "春季新品发布会"},
			"time2":  {Value: "2026年3月2日 20:00"},
			"thing3": {Value: "主播小美"},
			"thing4": {Value: "点击进入直播间"},
		},
		MiniprogramState: "formal",
		Lang:             "zh_CN",
	}
}

func TestSubscribeSendThroughSDK(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	sub := f.mp.GetSubscribe()

	f.srv.MintLoginCode("o-fan", "")
	if got := errcode(t, sub.Send(reminder("o-fan"))); got != 43101 {
		t.Fatalf("send without consent: errcode %d, want 43101", got)
	}
	if err := f.srv.GrantSubscribe("o-fan", miniprogram.TemplateLiveStart, 2); err != nil {
		t.Fatal(err)
	}
	id, err := sub.SendGetMsgID(reminder("o-fan"))
	if err != nil || id <= 0 {
		t.Fatalf("first send: msgid %d, %v", id, err)
	}
	if err := sub.Send(reminder("o-fan")); err != nil {
		t.Fatalf("second send on two accepts: %v", err)
	}
	if got := errcode(t, sub.Send(reminder("o-fan"))); got != 43101 {
		t.Fatalf("third send on two accepts: errcode %d, want 43101", got)
	}

	sent := f.srv.SentSubscribeMessages()
	if len(sent) != 2 {
		t.Fatalf("recorded %d messages, want 2", len(sent))
	}
	m := sent[0]
	if m.MsgID != id || m.ToUser != "o-fan" || m.TemplateID != miniprogram.TemplateLiveStart || m.Data["thing1"] != "春季新品发布会" || m.Page != "pages/live/index?show=42" || !m.SentAt.Equal(start) {
		t.Fatalf("recorded message = %+v", m)
	}
	if c := f.srv.Consents(); len(c) != 1 || c[0].Remaining != 0 || !c[0].Accepted {
		t.Fatalf("consents after spending them = %+v", c)
	}
}

func TestSubscribeLongTermConsent(t *testing.T) {
	f := newFixture(t, miniprogram.Config{LongTermTemplates: []string{miniprogram.TemplateLiveStart}})
	sub := f.mp.GetSubscribe()
	if err := f.srv.GrantSubscribe("o-loyal", miniprogram.TemplateLiveStart, 1); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := sub.Send(reminder("o-loyal")); err != nil {
			t.Fatalf("send %d on a long-term consent: %v", i+1, err)
		}
	}
	if err := f.srv.RejectSubscribe("o-loyal", miniprogram.TemplateLiveStart); err != nil {
		t.Fatal(err)
	}
	if got := errcode(t, sub.Send(reminder("o-loyal"))); got != 43101 {
		t.Fatalf("send after the user switched it off: errcode %d, want 43101", got)
	}
}

func TestSubscribeSendValidation(t *testing.T) {
	f := newFixture(t, miniprogram.Config{Pages: []string{"pages/live/index"}})
	sub := f.mp.GetSubscribe()
	if err := f.srv.GrantSubscribe("o-fan", miniprogram.TemplateLiveStart, 100); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.GrantSubscribe("o-fan", miniprogram.TemplateCouponDue, 100); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(m *subscribe.Message)
		want   int64
	}{
		{name: "valid", change: func(*subscribe.Message) {}},
		{name: "no touser", change: func(m *subscribe.Message) { m.ToUser = "" }, want: 40003},
		{name: "unknown touser", change: func(m *subscribe.Message) { m.ToUser = "o-stranger" }, want: 40003},
		{name: "no template", change: func(m *subscribe.Message) { m.TemplateID = "" }, want: 40037},
		{name: "unknown template", change: func(m *subscribe.Message) { m.TemplateID = "tpl-nope" }, want: 40037},
		{name: "page not released", change: func(m *subscribe.Message) { m.Page = "pages/old/index" }, want: 41030},
		{name: "no page", change: func(m *subscribe.Message) { m.Page = "" }},
		{name: "missing keyword", change: func(m *subscribe.Message) { delete(m.Data, "thing3") }, want: 47003},
		{name: "empty keyword", change: func(m *subscribe.Message) { m.Data["thing3"].Value = " " }, want: 47003},
		{name: "thing over 20 characters", change: func(m *subscribe.Message) {
			m.Data["thing1"].Value = "【开车族必囤】狂卖50万双老北京空气棉布鞋"
		}, want: 47003},
		{name: "time without a clock", change: func(m *subscribe.Message) { m.Data["time2"].Value = "明天晚上" }, want: 47003},
		{name: "time range", change: func(m *subscribe.Message) { m.Data["time2"].Value = "20:00~22:00" }},
		{name: "extra keyword", change: func(m *subscribe.Message) { m.Data["thing9"] = &subscribe.DataItem{Value: "ignored"} }},
		{name: "no data", change: func(m *subscribe.Message) { m.Data = nil }, want: 47003},
		{name: "bad miniprogram_state", change: func(m *subscribe.Message) { m.MiniprogramState = "beta" }, want: 47003},
		{name: "numeric amount", change: func(m *subscribe.Message) {
			m.TemplateID = miniprogram.TemplateCouponDue
			m.Data = map[string]*subscribe.DataItem{"thing1": {Value: "满100减20"}, "amount2": {Value: 20}, "date3": {Value: "2026-03-31"}, "thing4": {Value: "即将过期"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := reminder("o-fan")
			tt.change(m)
			if got := errcode(t, sub.Send(m)); got != tt.want {
				t.Fatalf("errcode = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSubscribeDataAsString(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	if err := f.srv.GrantSubscribe("o-fan", miniprogram.TemplateLiveStart, 1); err != nil {
		t.Fatal(err)
	}
	token := stableToken(t, f.srv, false)["access_token"].(string)
	// A common mistake: data sent as a JSON string. The platform reports the
	// first keyword as empty.
	got := call(t, f.srv, http.MethodPost, "/cgi-bin/message/subscribe/send?access_token="+token, map[string]any{
		"touser": "o-fan", "template_id": miniprogram.TemplateLiveStart, "data": `{"thing1":{"value":"x"}}`,
	})
	if code(got) != 47003 || got["errmsg"] != "argument invalid! data.thing1.value is empty" {
		t.Fatalf("answer = %v", got)
	}
}

func TestGrantSubscribeErrors(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	if err := f.srv.GrantSubscribe("o-fan", "tpl-nope", 1); !errors.Is(err, miniprogram.ErrUnknownTemplate) {
		t.Fatalf("unknown template: %v", err)
	}
	if err := f.srv.GrantSubscribe("o-fan", miniprogram.TemplateLiveStart, 0); !errors.Is(err, miniprogram.ErrConsentCount) {
		t.Fatalf("zero count: %v", err)
	}
	if err := f.srv.RejectSubscribe("o-fan", "tpl-nope"); !errors.Is(err, miniprogram.ErrUnknownTemplate) {
		t.Fatalf("reject unknown template: %v", err)
	}
	if _, err := miniprogram.New(miniprogram.Config{LongTermTemplates: []string{"tpl-nope"}}); !errors.Is(err, miniprogram.ErrConfig) {
		t.Fatalf("New with an unknown long-term template: %v", err)
	}
	if _, err := miniprogram.New(miniprogram.Config{Words: map[string]miniprogram.Verdict{"x": {Suggest: "block"}}}); !errors.Is(err, miniprogram.ErrConfig) {
		t.Fatalf("New with an unknown suggestion: %v", err)
	}
}
