package wecom

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// received is one request the Siyu stand-in got.
type received struct {
	method string
	query  url.Values
	body   []byte
}

// siyu stands in for Siyu's callback endpoint; answer decides each reply
// from the attempt number (0-based).
type siyu struct {
	mu     sync.Mutex
	got    []received
	answer func(n int, w http.ResponseWriter, r *http.Request)
	srv    *httptest.Server
}

func newSiyu(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *siyu {
	t.Helper()
	st := &siyu{answer: answer}
	st.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		st.mu.Lock()
		n := len(st.got)
		st.got = append(st.got, received{method: r.Method, query: r.URL.Query(), body: body})
		st.mu.Unlock()
		st.answer(n, w, r)
	}))
	t.Cleanup(st.srv.Close)
	return st
}

func (st *siyu) requests() []received {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]received(nil), st.got...)
}

// answerOK is what Siyu answers when it has taken an event.
func answerOK(_ int, w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "success") }

// hang keeps the request open past the sandbox's deadline.
func hang(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(2 * time.Second):
	}
}

// flush waits for the sandbox's deliveries.
func flush(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// callbackEnvelope is the POSTed XML before decryption.
type callbackEnvelope struct {
	ToUserName string
	Encrypt    string
	AgentID    string
}

// chatEvent is the decrypted change_external_chat event.
type chatEvent struct {
	ToUserName    string
	FromUserName  string
	CreateTime    int64
	MsgType       string
	Event         string
	ChatID        string `xml:"ChatId"`
	ChangeType    string
	UpdateDetail  string
	JoinScene     int
	QuitScene     int
	MemChangeCnt  int
	MemChangeList struct {
		Item []string
	}
	LastMemVer string
	CurMemVer  string
}

// verifySignature is what Siyu checks before decrypting anything.
func verifySignature(token string, req received, encrypted string) bool {
	q := req.query
	return q.Get("msg_signature") == util.Signature(token, q.Get("timestamp"), q.Get("nonce"), encrypted)
}

// TestEventsReachSiyu has Siyu's stand-in receive each event and verify and
// decrypt it with silenceper's own code.
func TestEventsReachSiyu(t *testing.T) {
	clk := newClock()
	stub := newSiyu(t, answerOK)
	s := newSandbox(t, Config{Now: clk.Now, Callback: Callback{URL: stub.srv.URL + "/wecom/callback?brand=1"}})
	tok := token(t, s)
	chat := s.Groups()[0].ChatID
	jw := post(t, s, tok, "/cgi-bin/externalcontact/groupchat/add_join_way", map[string]any{"scene": 2, "chat_id_list": []string{chat}, "state": "show42_inv7"})
	cw := post(t, s, tok, "/cgi-bin/externalcontact/add_contact_way", map[string]any{"type": 1, "scene": 2, "user": []string{"lisi"}, "state": "live_20260520"})
	p := Person{UnionID: "oTmHYjg7Vj0D3ZsP2mDoZ4JpH0Xs", Name: "小满"}
	id := s.ExternalUserID(p.UnionID)
	settings := s.Settings()
	ec := newWork(s).GetExternalContact()
	versionBefore := s.Groups()[0].MemberVersion
	var versionJoined string

	tests := []struct {
		name  string
		act   func(t *testing.T)
		check func(t *testing.T, plain []byte, req received)
	}{
		{"scan join way → add_member", func(t *testing.T) {
			if _, err := s.ScanJoinWay(jw["config_id"].(string), p); err != nil {
				t.Fatal(err)
			}
			versionJoined = s.Groups()[0].MemberVersion
		}, func(t *testing.T, plain []byte, _ received) {
			var ev chatEvent
			if err := xml.Unmarshal(plain, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Event != "change_external_chat" || ev.ChangeType != "update" || ev.UpdateDetail != "add_member" ||
				ev.ChatID != chat || ev.JoinScene != 3 || ev.MemChangeCnt != 1 || len(ev.MemChangeList.Item) != 1 ||
				ev.MemChangeList.Item[0] != id || ev.ToUserName != settings["WECOM_CORP_ID"] || ev.FromUserName != "sys" ||
				ev.MsgType != "event" || ev.CreateTime != clk.Now().Unix() {
				t.Fatalf("event = %+v", ev)
			}
			if ev.LastMemVer != versionBefore || ev.CurMemVer != versionJoined || ev.LastMemVer == ev.CurMemVer {
				t.Fatalf("versions %s → %s, want %s → %s", ev.LastMemVer, ev.CurMemVer, versionBefore, versionJoined)
			}
		}},
		{"add contact → add_external_contact", func(t *testing.T) {
			if _, err := s.AddContact(cw["config_id"].(string), p); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, _ []byte, req received) {
			// silenceper's own callback parser, configured with Siyu's settings.
			msg, err := ec.GetCallbackMessage(req.body)
			if err != nil {
				t.Fatalf("GetCallbackMessage: %v", err)
			}
			if msg.Event != "change_external_contact" || msg.ChangeType != "add_external_contact" || msg.UserID != "lisi" ||
				msg.ExternalUserID != id || msg.State != "live_20260520" || msg.WelcomeCode == "" || msg.ToUserName != settings["WECOM_CORP_ID"] {
				t.Fatalf("event = %+v", msg)
			}
		}},
		{"leave group → del_member", func(t *testing.T) {
			if _, err := s.LeaveGroup(chat, p.UnionID); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, plain []byte, _ received) {
			var ev chatEvent
			if err := xml.Unmarshal(plain, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.UpdateDetail != "del_member" || ev.QuitScene != 0 || ev.MemChangeList.Item[0] != id ||
				ev.LastMemVer != versionJoined || ev.CurMemVer != versionBefore {
				t.Fatalf("event = %+v", ev)
			}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.act(t)
			flush(t, s)
			reqs := stub.requests()
			if len(reqs) != i+1 {
				t.Fatalf("Siyu got %d requests, want %d", len(reqs), i+1)
			}
			req := reqs[i]
			if req.method != http.MethodPost || req.query.Get("brand") != "1" {
				t.Fatalf("request %s %v", req.method, req.query)
			}
			var env callbackEnvelope
			if err := xml.Unmarshal(req.body, &env); err != nil {
				t.Fatal(err)
			}
			if env.ToUserName != settings["WECOM_CORP_ID"] || env.AgentID != settings["WECOM_AGENT_ID"] || env.Encrypt == "" {
				t.Fatalf("envelope = %+v", env)
			}
			if !verifySignature(settings["WECOM_CALLBACK_TOKEN"], req, env.Encrypt) {
				t.Fatal("msg_signature does not verify")
			}
			_, plain, err := util.DecryptMsg(settings["WECOM_CORP_ID"], env.Encrypt, settings["WECOM_CALLBACK_AES_KEY"])
			if err != nil {
				t.Fatalf("DecryptMsg: %v", err)
			}
			tt.check(t, plain, req)
			d := s.Deliveries()[i]
			if d.Status != DeliveryDelivered || len(d.Attempts) != 1 || d.Attempts[0].Answer != "success" || d.Plaintext != string(plain) {
				t.Fatalf("delivery = %+v", d)
			}
		})
	}
}

// TestTamperingIsDetected shows that Siyu's checks catch a changed request.
func TestTamperingIsDetected(t *testing.T) {
	stub := newSiyu(t, answerOK)
	s := newSandbox(t, Config{Callback: Callback{URL: stub.srv.URL}})
	tok := token(t, s)
	jw := post(t, s, tok, "/cgi-bin/externalcontact/groupchat/add_join_way", map[string]any{"scene": 2, "chat_id_list": []string{s.Groups()[0].ChatID}})
	if _, err := s.ScanJoinWay(jw["config_id"].(string), Person{UnionID: "oUnion-x"}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	original := stub.requests()[0]
	var env callbackEnvelope
	if err := xml.Unmarshal(original.body, &env); err != nil {
		t.Fatal(err)
	}
	flip := func(s string) string {
		c := s[10]
		if c == 'A' {
			c = 'B'
		} else {
			c = 'A'
		}
		return s[:10] + string(c) + s[11:]
	}
	withQuery := func(k, v string) received {
		q := url.Values{}
		for key, vals := range original.query {
			q[key] = append([]string(nil), vals...)
		}
		q.Set(k, v)
		return received{method: original.method, query: q, body: original.body}
	}
	tests := []struct {
		name      string
		token     string
		req       received
		encrypted string
		want      bool
	}{
		{"untouched", DefaultCallbackToken, original, env.Encrypt, true},
		{"signature changed", DefaultCallbackToken, withQuery("msg_signature", flip(original.query.Get("msg_signature"))), env.Encrypt, false},
		{"ciphertext changed", DefaultCallbackToken, original, flip(env.Encrypt), false},
		{"timestamp replayed with another value", DefaultCallbackToken, withQuery("timestamp", "1409659813"), env.Encrypt, false},
		{"nonce changed", DefaultCallbackToken, withQuery("nonce", "1372623149"), env.Encrypt, false},
		{"another token", "AnotherToken", original, env.Encrypt, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := verifySignature(tt.token, tt.req, tt.encrypted); got != tt.want {
				t.Fatalf("signature verifies = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDeliveryRetries exercises WeCom's rule: no 200 within 5 s means three
// more tries of the same request. TimeScale makes 5 s into 200 ms.
func TestDeliveryRetries(t *testing.T) {
	tests := []struct {
		name         string
		answer       func(n int, w http.ResponseWriter, r *http.Request)
		wantStatus   string
		wantAttempts int
		wantErrors   int
	}{
		{"answered at once", answerOK, DeliveryDelivered, 1, 0},
		{"empty answer is success", func(int, http.ResponseWriter, *http.Request) {}, DeliveryDelivered, 1, 0},
		{"two timeouts, then answered", func(n int, w http.ResponseWriter, r *http.Request) {
			if n < 2 {
				hang(w, r)
				return
			}
			answerOK(n, w, r)
		}, DeliveryDelivered, 3, 2},
		{"HTTP 500 then answered", func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 0 {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			answerOK(n, w, r)
		}, DeliveryDelivered, 2, 0},
		{"always HTTP 500", func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }, DeliveryFailed, 4, 0},
		{"never answers", func(_ int, w http.ResponseWriter, r *http.Request) { hang(w, r) }, DeliveryFailed, 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := newSiyu(t, tt.answer)
			s := newSandbox(t, Config{TimeScale: 0.04, Callback: Callback{URL: stub.srv.URL}})
			tok := token(t, s)
			jw := post(t, s, tok, "/cgi-bin/externalcontact/groupchat/add_join_way", map[string]any{"scene": 2, "chat_id_list": []string{s.Groups()[0].ChatID}})
			if _, err := s.ScanJoinWay(jw["config_id"].(string), Person{UnionID: "oUnion-retry"}); err != nil {
				t.Fatal(err)
			}
			flush(t, s)
			d := s.Deliveries()[0]
			if d.Status != tt.wantStatus || len(d.Attempts) != tt.wantAttempts {
				t.Fatalf("delivery status %s with %d attempts, want %s with %d: %+v", d.Status, len(d.Attempts), tt.wantStatus, tt.wantAttempts, d.Attempts)
			}
			timeouts := 0
			for _, a := range d.Attempts {
				if strings.HasPrefix(a.Error, "no answer within") {
					timeouts++
				}
			}
			if timeouts != tt.wantErrors {
				t.Fatalf("%d attempts timed out, want %d: %+v", timeouts, tt.wantErrors, d.Attempts)
			}
			reqs := stub.requests()
			if len(reqs) != tt.wantAttempts {
				t.Fatalf("Siyu got %d requests, want %d", len(reqs), tt.wantAttempts)
			}
			for _, r := range reqs[1:] {
				if string(r.body) != string(reqs[0].body) || r.query.Encode() != reqs[0].query.Encode() {
					t.Fatal("a retry differs from the first request")
				}
			}
		})
	}
}

// TestDeliveriesKeepEventOrder runs many phone actions at once; Siyu must
// see the events of each person in the order they happened.
func TestDeliveriesKeepEventOrder(t *testing.T) {
	stub := newSiyu(t, answerOK)
	s := newSandbox(t, Config{Callback: Callback{URL: stub.srv.URL}})
	tok := token(t, s)
	chat := s.Groups()[0].ChatID
	jw := post(t, s, tok, "/cgi-bin/externalcontact/groupchat/add_join_way", map[string]any{"scene": 2, "chat_id_list": []string{chat}})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			union := "oUnion-" + string(rune('a'+i))
			if _, err := s.ScanJoinWay(jw["config_id"].(string), Person{UnionID: union}); err != nil {
				t.Error(err)
				return
			}
			if _, err := s.LeaveGroup(chat, union); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	flush(t, s)
	seen := map[string]string{}
	for _, r := range stub.requests() {
		var env callbackEnvelope
		if err := xml.Unmarshal(r.body, &env); err != nil {
			t.Fatal(err)
		}
		_, plain, err := util.DecryptMsg(DefaultCorpID, env.Encrypt, DefaultCallbackAESKey)
		if err != nil {
			t.Fatal(err)
		}
		var ev chatEvent
		if err := xml.Unmarshal(plain, &ev); err != nil {
			t.Fatal(err)
		}
		who := ev.MemChangeList.Item[0]
		if ev.UpdateDetail == "del_member" && seen[who] != "add_member" {
			t.Fatalf("%s: del_member arrived before add_member", who)
		}
		seen[who] = ev.UpdateDetail
	}
	if len(seen) != 20 {
		t.Fatalf("events for %d people, want 20", len(seen))
	}
	if n := len(s.Groups()[0].MemberList); n != 1 {
		t.Fatalf("group has %d members after everyone left, want the owner only", n)
	}
}
