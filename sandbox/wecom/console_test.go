package wecom

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestConsole walks through the console endpoints in order; later steps see
// what earlier ones did.
func TestConsole(t *testing.T) {
	stub := newSiyu(t, answerOK)
	s := newSandbox(t, Config{})
	console := s.Console()
	tok := token(t, s)
	chat := s.Groups()[0].ChatID
	jw := post(t, s, tok, "/cgi-bin/externalcontact/groupchat/add_join_way", map[string]any{"scene": 2, "chat_id_list": []string{chat}, "state": "show42"})
	cw := post(t, s, tok, "/cgi-bin/externalcontact/add_contact_way", map[string]any{"type": 1, "scene": 2, "user": []string{"wangwu"}, "state": "card"})
	joinWay, contactWay := jw["config_id"].(string), cw["config_id"].(string)
	shopper := s.ExternalUserID("oUnion-console")

	// list decodes a JSON array answer and reports its length.
	length := func(want int) func(t *testing.T, body string) {
		return func(t *testing.T, body string) {
			var list []json.RawMessage
			if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) != want {
				t.Fatalf("answer %s: %d items, want %d (%v)", body, len(list), want, err)
			}
		}
	}
	contains := func(parts ...string) func(t *testing.T, body string) {
		return func(t *testing.T, body string) {
			for _, p := range parts {
				if !strings.Contains(body, p) {
					t.Fatalf("answer %s lacks %s", body, p)
				}
			}
		}
	}
	apiErrcode := func(path string, body any, want float64) func(t *testing.T, _ string) {
		return func(t *testing.T, _ string) {
			if ans := post(t, s, tok, path, body); ans["errcode"] != want {
				t.Fatalf("%s errcode = %v, want %v", path, ans["errcode"], want)
			}
		}
	}

	steps := []struct {
		name   string
		method string
		path   string
		body   string
		want   int
		check  func(t *testing.T, body string)
	}{
		{"register an invalid callback", "POST", "/callback", `{"url":"` + stub.srv.URL + `","token":"SiyuToken","encoding_aes_key":"short"}`, 400, contains(`"invalid_request"`)},
		{"register the callback", "POST", "/callback", `{"url":"` + stub.srv.URL + `","token":"SiyuToken","encoding_aes_key":"` + DefaultCallbackAESKey + `"}`, 200, contains(`"token":"SiyuToken"`)},
		{"read the callback", "GET", "/callback", "", 200, contains(stub.srv.URL)},
		{"settings follow the callback", "", "", "", 0, func(t *testing.T, _ string) {
			if got := s.Settings()["WECOM_CALLBACK_TOKEN"]; got != "SiyuToken" {
				t.Fatalf("WECOM_CALLBACK_TOKEN = %q", got)
			}
		}},
		{"verify the callback URL", "POST", "/verify-callback", "", 200, contains(`"ok":false`, `"status_code":200`)},
		{"body not JSON", "POST", "/scan-join-way", `{`, 400, contains(`"invalid_json"`)},
		{"scan without unionid", "POST", "/scan-join-way", `{"config_id":"` + joinWay + `"}`, 400, contains(`"invalid_request"`)},
		{"scan an unknown join way", "POST", "/scan-join-way", `{"config_id":"nope","unionid":"oUnion-console"}`, 404, contains(`"not_found"`)},
		{"scan the join way", "POST", "/scan-join-way", `{"config_id":"` + joinWay + `","unionid":"oUnion-console","name":"控制台"}`, 200, contains(`"external_userid":"`+shopper+`"`, `"join_scene":3`, `"state":"show42"`)},
		{"scan it again", "POST", "/scan-join-way", `{"config_id":"` + joinWay + `","unionid":"oUnion-console"}`, 409, contains(`"conflict"`)},
		{"add the contact", "POST", "/add-contact", `{"config_id":"` + contactWay + `","unionid":"oUnion-console","name":"控制台"}`, 200, contains(`"userid":"wangwu"`, `"state":"card"`)},
		{"add it again", "POST", "/add-contact", `{"config_id":"` + contactWay + `","unionid":"oUnion-console"}`, 409, contains(`"conflict"`)},
		{"leave the group", "POST", "/leave-group", `{"chat_id":"` + chat + `","unionid":"oUnion-console"}`, 200, contains(`"chat_id":"` + chat + `"`)},
		{"leave it again", "POST", "/leave-group", `{"chat_id":"` + chat + `","unionid":"oUnion-console"}`, 409, contains(`"conflict"`)},
		{"leave an unknown group", "POST", "/leave-group", `{"chat_id":"wrNope","unionid":"oUnion-console"}`, 404, contains(`"not_found"`)},
		{"flush", "", "", "", 0, func(t *testing.T, _ string) { flush(t, s) }},
		{"deliveries", "GET", "/deliveries", "", 200, length(4)},
		{"groups", "GET", "/groups", "", 200, length(2)},
		{"contacts", "GET", "/contacts", "", 200, length(1)},
		{"join ways", "GET", "/join-ways", "", 200, length(1)},
		{"contact ways", "GET", "/contact-ways", "", 200, length(1)},
		{"tags", "GET", "/tags", "", 200, length(2)},
		{"messages before any", "GET", "/messages", "", 200, length(0)},
		{"a mass message", "", "", "", 0, apiErrcode("/cgi-bin/externalcontact/add_msg_template", map[string]any{"sender": "wangwu", "text": map[string]string{"content": "hi"}}, 0)},
		{"messages", "GET", "/messages", "", 200, contains(`"sender":"wangwu"`, `"external_userid":["`+shopper+`"]`)},
		{"install a fault", "POST", "/faults", `{"path":"groupchat/get","errcode":45009,"errmsg":"api freq out of limit"}`, 201, nil},
		{"the fault answers", "", "", "", 0, apiErrcode("/cgi-bin/externalcontact/groupchat/get", map[string]any{"chat_id": chat}, 45009)},
		{"list faults", "GET", "/faults", "", 200, length(1)},
		{"clear faults", "DELETE", "/faults", "", 204, nil},
		{"the API is back", "", "", "", 0, apiErrcode("/cgi-bin/externalcontact/groupchat/get", map[string]any{"chat_id": chat}, 0)},
		{"expire tokens", "POST", "/expire-tokens", "", 204, nil},
		{"the old token has expired", "", "", "", 0, apiErrcode("/cgi-bin/externalcontact/groupchat/get", map[string]any{"chat_id": chat}, 42001)},
	}
	for _, step := range steps {
		ok := t.Run(step.name, func(t *testing.T) {
			if step.method == "" {
				step.check(t, "")
				return
			}
			rec := httptest.NewRecorder()
			console.ServeHTTP(rec, httptest.NewRequest(step.method, step.path, strings.NewReader(step.body)))
			if rec.Code != step.want {
				t.Fatalf("%s %s: HTTP %d, want %d: %s", step.method, step.path, rec.Code, step.want, rec.Body)
			}
			if step.check != nil {
				step.check(t, rec.Body.String())
			}
		})
		if !ok {
			t.FailNow()
		}
	}
}

// TestConsoleVerifiesWithSiyuAnsweringEcho registers a Siyu that answers the
// echostr plaintext and checks the console reports success.
func TestConsoleVerifiesWithSiyuAnsweringEcho(t *testing.T) {
	stub := newSiyu(t, verifyingSiyu(t, DefaultCallbackToken))
	s := newSandbox(t, Config{Callback: Callback{URL: stub.srv.URL}})
	rec := httptest.NewRecorder()
	s.Console().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/verify-callback", nil))
	var v Verification
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || rec.Code != http.StatusOK || !v.OK || v.Answer != v.Expected {
		t.Fatalf("verify-callback = HTTP %d %s (%v)", rec.Code, rec.Body, err)
	}
}
