package community_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/sandbox/fault"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/testsupport"
)

// wireSender speaks subscribeMessage.send to the sandbox platform over
// HTTP, as WeChat is spoken to. (WeChatSubscribe, the silenceper wrapper,
// is exercised in the live package's tests, whose TestMain routes the
// SDK's process-global client; this package's tests must not.)
type wireSender struct {
	base          string
	appID, secret string
	mu            sync.Mutex
	token         string
}

func (w *wireSender) accessToken() (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.token != "" {
		return w.token, nil
	}
	q := url.Values{"grant_type": {"client_credential"}, "appid": {w.appID}, "secret": {w.secret}}
	resp, err := http.Get(w.base + "/cgi-bin/token?" + q.Encode())
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		ErrCode     int64  `json:"errcode"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		return "", fmt.Errorf("token: %v (errcode %d)", err, body.ErrCode)
	}
	w.token = body.AccessToken
	return w.token, nil
}

func (w *wireSender) SendSubscribe(ctx context.Context, m community.SubscribeMessage) error {
	tok, err := w.accessToken()
	if err != nil {
		return err
	}
	data := map[string]map[string]string{}
	for k, v := range m.Data {
		data[k] = map[string]string{"value": v}
	}
	b, _ := json.Marshal(map[string]any{"touser": m.OpenID, "template_id": m.TemplateID, "page": m.Page, "data": data})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, w.base+"/cgi-bin/message/subscribe/send?access_token="+tok, bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("subscribe/send: HTTP %d", resp.StatusCode)
	}
	var out struct {
		ErrCode int64  `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return err
	}
	if out.ErrCode != 0 {
		return &community.SendError{Code: out.ErrCode, Msg: out.ErrMsg}
	}
	return nil
}

const longTerm = "tpl-long-term"

func newLedger(t *testing.T, db *bun.DB) (*community.Consents, *miniprogram.Server) {
	t.Helper()
	mp, sender := newPlatform(t)
	ledger, err := community.NewConsents(community.ConsentsConfig{DB: db, Sender: sender, LongTermTemplates: []string{longTerm}})
	if err != nil {
		t.Fatal(err)
	}
	return ledger, mp
}

// newPlatform starts the sandbox platform, with one long-term template,
// and a sender speaking to it.
func newPlatform(t *testing.T) (*miniprogram.Server, *wireSender) {
	t.Helper()
	tpls := miniprogram.DefaultTemplates()
	tpls[longTerm] = miniprogram.Template{Title: "会员通知", Keywords: []string{"thing1"}}
	mp, err := miniprogram.New(miniprogram.Config{Templates: tpls, LongTermTemplates: []string{longTerm}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mp)
	t.Cleanup(srv.Close)
	set := mp.Settings()
	return mp, &wireSender{base: srv.URL, appID: set[miniprogram.SettingAppID], secret: set[miniprogram.SettingAppSecret]}
}

func reminder(openid string) community.SubscribeMessage {
	return community.SubscribeMessage{OpenID: openid, TemplateID: miniprogram.TemplateLiveStart, Page: "pages/live/index",
		Data: map[string]string{"thing1": "春季新品直播", "time2": "2026-03-01 20:00", "thing3": "直播即将开始", "thing4": "点击进入直播间"}}
}

func grant(t *testing.T, ctx context.Context, db *bun.DB, l *community.Consents, member string, tpls ...string) {
	t.Helper()
	if err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return l.Grant(ctx, tx, member, tpls) }); err != nil {
		t.Fatal(err)
	}
}

func sentTo(mp *miniprogram.Server, openid string) int {
	n := 0
	for _, m := range mp.SentSubscribeMessages() {
		if m.ToUser == openid {
			n++
		}
	}
	return n
}

func TestConsentLedger(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()

		t.Run("nothing is sent without a consent", func(t *testing.T) {
			l, mp := newLedger(t, db)
			if err := mp.GrantSubscribe("o-none", miniprogram.TemplateOrderShip, 1); err != nil {
				t.Fatal(err)
			}
			_, err := l.Send(ctx, community.SendRequest{Key: "k-none", MemberID: "m-none", Message: reminder("o-none")})
			if !errors.Is(err, community.ErrNoConsent) {
				t.Fatalf("err = %v, want ErrNoConsent", err)
			}
			if n := sentTo(mp, "o-none"); n != 0 {
				t.Fatalf("sent %d messages", n)
			}
		})

		t.Run("one consent allows one send, once per key", func(t *testing.T) {
			l, mp := newLedger(t, db)
			if err := mp.GrantSubscribe("o-one", miniprogram.TemplateLiveStart, 1); err != nil {
				t.Fatal(err)
			}
			grant(t, ctx, db, l, "m-one", miniprogram.TemplateLiveStart)
			for i := range 2 {
				st, err := l.Send(ctx, community.SendRequest{Key: "k-one", MemberID: "m-one", Message: reminder("o-one")})
				if err != nil || st != community.SendSent {
					t.Fatalf("send %d: %v %v", i, st, err)
				}
			}
			if _, err := l.Send(ctx, community.SendRequest{Key: "k-one-again", MemberID: "m-one", Message: reminder("o-one")}); !errors.Is(err, community.ErrNoConsent) {
				t.Fatalf("second key: %v, want ErrNoConsent", err)
			}
			if n := sentTo(mp, "o-one"); n != 1 {
				t.Fatalf("sent %d messages, want 1", n)
			}
			c, _ := l.Consent(ctx, "m-one", miniprogram.TemplateLiveStart)
			if c.Remaining != 0 || c.Granted != 1 || c.Used != 1 {
				t.Fatalf("consent = %+v", c)
			}
		})

		t.Run("43101 marks the consent used", func(t *testing.T) {
			l, mp := newLedger(t, db)
			// The ledger believes in a consent WeChat does not have.
			mp.MintLoginCode("o-stale", "")
			grant(t, ctx, db, l, "m-stale", miniprogram.TemplateLiveStart)
			st, err := l.Send(ctx, community.SendRequest{Key: "k-stale", MemberID: "m-stale", Message: reminder("o-stale")})
			if err != nil || st != community.SendRefused {
				t.Fatalf("send: %v %v, want refused", st, err)
			}
			c, _ := l.Consent(ctx, "m-stale", miniprogram.TemplateLiveStart)
			if c.Remaining != 0 || c.Used != 1 {
				t.Fatalf("consent = %+v", c)
			}
			if st, err := l.Send(ctx, community.SendRequest{Key: "k-stale", MemberID: "m-stale", Message: reminder("o-stale")}); st != community.SendRefused || err != nil {
				t.Fatalf("same key again: %v %v", st, err)
			}
		})

		t.Run("long-term templates are not spent", func(t *testing.T) {
			l, mp := newLedger(t, db)
			if err := mp.GrantSubscribe("o-long", longTerm, 1); err != nil {
				t.Fatal(err)
			}
			grant(t, ctx, db, l, "m-long", longTerm)
			for i := range 3 {
				msg := community.SubscribeMessage{OpenID: "o-long", TemplateID: longTerm, Data: map[string]string{"thing1": "新品上架"}}
				st, err := l.Send(ctx, community.SendRequest{Key: fmt.Sprint("k-long-", i), MemberID: "m-long", Message: msg})
				if err != nil || st != community.SendSent {
					t.Fatalf("send %d: %v %v", i, st, err)
				}
			}
			if n := sentTo(mp, "o-long"); n != 3 {
				t.Fatalf("sent %d, want 3", n)
			}
			if err := mp.RejectSubscribe("o-long", longTerm); err != nil {
				t.Fatal(err)
			}
			msg := community.SubscribeMessage{OpenID: "o-long", TemplateID: longTerm, Data: map[string]string{"thing1": "新品上架"}}
			if st, err := l.Send(ctx, community.SendRequest{Key: "k-long-off", MemberID: "m-long", Message: msg}); st != community.SendRefused || err != nil {
				t.Fatalf("after withdrawal: %v %v", st, err)
			}
			if _, err := l.Send(ctx, community.SendRequest{Key: "k-long-after", MemberID: "m-long", Message: msg}); !errors.Is(err, community.ErrNoConsent) {
				t.Fatalf("after 43101: %v, want ErrNoConsent", err)
			}
		})

		t.Run("a rejected message gives its consent back", func(t *testing.T) {
			l, mp := newLedger(t, db)
			if err := mp.GrantSubscribe("o-bad", miniprogram.TemplateLiveStart, 1); err != nil {
				t.Fatal(err)
			}
			grant(t, ctx, db, l, "m-bad", miniprogram.TemplateLiveStart)
			bad := reminder("o-bad")
			bad.Data["thing1"] = "一个远远超过二十个字符限制的直播标题会被微信拒绝的"
			st, err := l.Send(ctx, community.SendRequest{Key: "k-bad", MemberID: "m-bad", Message: bad})
			if err != nil || st != community.SendRejected {
				t.Fatalf("send: %v %v, want rejected", st, err)
			}
			if c, _ := l.Consent(ctx, "m-bad", miniprogram.TemplateLiveStart); c.Remaining != 1 || c.Used != 0 {
				t.Fatalf("consent = %+v, want it back", c)
			}
			if st, err := l.Send(ctx, community.SendRequest{Key: "k-good", MemberID: "m-bad", Message: reminder("o-bad")}); st != community.SendSent || err != nil {
				t.Fatalf("good send: %v %v", st, err)
			}
		})

		t.Run("a batch reserves in one go and gives back what it did not send", func(t *testing.T) {
			l, mp := newLedger(t, db)
			for _, m := range []string{"b1", "b2", "b3"} {
				if err := mp.GrantSubscribe("o-"+m, miniprogram.TemplateLiveStart, 1); err != nil {
					t.Fatal(err)
				}
			}
			if err := mp.GrantSubscribe("o-blong", longTerm, 1); err != nil {
				t.Fatal(err)
			}
			grant(t, ctx, db, l, "m-b1", miniprogram.TemplateLiveStart)
			grant(t, ctx, db, l, "m-b2", miniprogram.TemplateLiveStart, miniprogram.TemplateLiveStart)
			grant(t, ctx, db, l, "m-b3", miniprogram.TemplateLiveStart)
			grant(t, ctx, db, l, "m-blong", longTerm)
			if st, err := l.Send(ctx, community.SendRequest{Key: "kb-done", MemberID: "m-b3", Message: reminder("o-b3")}); st != community.SendSent || err != nil {
				t.Fatalf("earlier send: %v %v", st, err)
			}
			long := community.SubscribeMessage{OpenID: "o-blong", TemplateID: longTerm, Data: map[string]string{"thing1": "新品上架"}}
			reqs := []community.SendRequest{
				{Key: "kb-1", MemberID: "m-b1", Message: reminder("o-b1")},
				{Key: "kb-2a", MemberID: "m-b2", Message: reminder("o-b2")},
				{Key: "kb-2b", MemberID: "m-b2", Message: reminder("o-b2")},
				{Key: "kb-2c", MemberID: "m-b2", Message: reminder("o-b2")}, // two consents, three keys
				{Key: "kb-done", MemberID: "m-b3", Message: reminder("o-b3")},
				{Key: "kb-none", MemberID: "m-bnone", Message: reminder("o-bnone")},
				{Key: "kb-long", MemberID: "m-blong", Message: long},
			}
			if _, err := l.Reserve(ctx, append(reqs[:1:1], reqs[0])); !errors.Is(err, community.ErrInvalidConsent) {
				t.Fatalf("a key twice: %v", err)
			}
			res, err := l.Reserve(ctx, reqs)
			if err != nil {
				t.Fatal(err)
			}
			want := []community.Reservation{
				{Status: community.SendPending, Reserved: true},
				{Status: community.SendPending, Reserved: true},
				{Status: community.SendPending, Reserved: true},
				{NoConsent: true},
				{Status: community.SendSent},
				{NoConsent: true},
				{Status: community.SendPending, Reserved: true},
			}
			for i := range want {
				if res[i] != want[i] {
					t.Fatalf("reservation %d (%s) = %+v, want %+v", i, reqs[i].Key, res[i], want[i])
				}
			}
			if c, _ := l.Consent(ctx, "m-b2", miniprogram.TemplateLiveStart); c.Remaining != 0 || c.Used != 2 {
				t.Fatalf("m-b2 consent = %+v", c)
			}
			// Reserving again resumes: nothing more is spent.
			again, err := l.Reserve(ctx, reqs[:2])
			if err != nil || again[0] != (community.Reservation{Status: community.SendPending}) {
				t.Fatalf("again: %+v, %v", again, err)
			}
			if st, err := l.Deliver(ctx, reqs[0]); st != community.SendSent || err != nil {
				t.Fatalf("deliver: %v %v", st, err)
			}
			// The batch stops: the rest are given back; a settled key is not.
			if err := l.Release(ctx, []community.SendRequest{reqs[0], reqs[1], reqs[2], reqs[6]}); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				member, tpl     string
				remaining, used int
			}{{"m-b1", miniprogram.TemplateLiveStart, 0, 1}, {"m-b2", miniprogram.TemplateLiveStart, 2, 0}, {"m-blong", longTerm, 0, 0}} {
				got, _ := l.Consent(ctx, c.member, c.tpl)
				if got.Remaining != c.remaining || got.Used != c.used {
					t.Fatalf("%s consent = %+v, want %d remaining, %d used", c.member, got, c.remaining, c.used)
				}
			}
			if st, err := l.Send(ctx, community.SendRequest{Key: "kb-2a", MemberID: "m-b2", Message: reminder("o-b2")}); st != community.SendSent || err != nil {
				t.Fatalf("a released key sends afresh: %v %v", st, err)
			}
			if n := sentTo(mp, "o-b1") + sentTo(mp, "o-b2") + sentTo(mp, "o-blong"); n != 2 {
				t.Fatalf("sent %d, want 2", n)
			}
		})

		t.Run("a send WeChat did not answer resumes under its key", func(t *testing.T) {
			l, mp := newLedger(t, db)
			if err := mp.GrantSubscribe("o-busy", miniprogram.TemplateLiveStart, 2); err != nil {
				t.Fatal(err)
			}
			grant(t, ctx, db, l, "m-busy", miniprogram.TemplateLiveStart, miniprogram.TemplateLiveStart)
			mp.Faults().Add(fault.Rule{Path: "subscribe/send", Errcode: -1, Errmsg: "system error", Times: 1})
			st, err := l.Send(ctx, community.SendRequest{Key: "k-busy", MemberID: "m-busy", Message: reminder("o-busy")})
			if err == nil || st != community.SendPending {
				t.Fatalf("busy send: %v %v, want a pending error", st, err)
			}
			if st, err := l.Send(ctx, community.SendRequest{Key: "k-busy", MemberID: "m-busy", Message: reminder("o-busy")}); st != community.SendSent || err != nil {
				t.Fatalf("retry: %v %v", st, err)
			}
			// The retry spent no second consent.
			if c, _ := l.Consent(ctx, "m-busy", miniprogram.TemplateLiveStart); c.Remaining != 1 || c.Used != 1 || c.Granted != 2 {
				t.Fatalf("consent = %+v", c)
			}
			if n := sentTo(mp, "o-busy"); n != 1 {
				t.Fatalf("sent %d, want 1", n)
			}
		})
	})
}
