package wecom

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/work/externalcontact"
)

// call sends one request to the platform API and decodes the JSON answer.
func call(t *testing.T, s *Server, method, target, body string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	if rec.Code != http.StatusOK {
		return rec.Code, nil
	}
	var ans map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %q", method, target, rec.Body.String())
	}
	return rec.Code, ans
}

// token gets an access_token straight from the API.
func token(t *testing.T, s *Server) string {
	t.Helper()
	_, ans := call(t, s, http.MethodGet, "/cgi-bin/gettoken?corpid="+DefaultCorpID+"&corpsecret="+DefaultCorpSecret, "")
	tok, _ := ans["access_token"].(string)
	if tok == "" {
		t.Fatalf("gettoken = %v", ans)
	}
	return tok
}

func TestTokenErrors(t *testing.T) {
	clk := newClock()
	s := newSandbox(t, Config{Now: clk.Now})
	valid := token(t, s)
	expiredSandbox, err := New(Config{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer expiredSandbox.Close()
	expired := token(t, expiredSandbox)
	expiredSandbox.ExpireTokens()

	tests := []struct {
		name     string
		server   *Server
		target   string
		wantHTTP int
		wantCode float64
		wantMsg  string
	}{
		{"gettoken without parameters", s, "/cgi-bin/gettoken", 200, 41004, "corpsecret missing"},
		{"gettoken without secret", s, "/cgi-bin/gettoken?corpid=" + DefaultCorpID, 200, 41004, "corpsecret missing"},
		{"gettoken without corpid", s, "/cgi-bin/gettoken?corpsecret=x", 200, 41002, "corpid missing"},
		{"gettoken with a wrong corpid", s, "/cgi-bin/gettoken?corpid=ww0000000000000000&corpsecret=" + DefaultCorpSecret, 200, 40013, "invalid corpid"},
		{"gettoken with a wrong secret", s, "/cgi-bin/gettoken?corpid=" + DefaultCorpID + "&corpsecret=wrong", 200, 40001, "invalid credential"},
		{"gettoken", s, "/cgi-bin/gettoken?corpid=" + DefaultCorpID + "&corpsecret=" + DefaultCorpSecret, 200, 0, "ok"},
		{"API without access_token", s, "/cgi-bin/externalcontact/get_follow_user_list", 200, 41001, "access_token missing"},
		{"API with an unknown access_token", s, "/cgi-bin/externalcontact/get_follow_user_list?access_token=FAKE_TOKEN", 200, 40014, "invalid access_token"},
		{"API with an expired access_token", expiredSandbox, "/cgi-bin/externalcontact/get_follow_user_list?access_token=" + expired, 200, 42001, "access_token expired"},
		{"API with a valid access_token", s, "/cgi-bin/externalcontact/get_follow_user_list?access_token=" + valid, 200, 0, "ok"},
		{"unknown path", s, "/cgi-bin/this_api_does_not_exist?access_token=" + valid, 404, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, ans := call(t, tt.server, http.MethodGet, tt.target, "")
			if code != tt.wantHTTP {
				t.Fatalf("HTTP %d, want %d", code, tt.wantHTTP)
			}
			if code != http.StatusOK {
				return
			}
			if ans["errcode"] != tt.wantCode {
				t.Fatalf("errcode = %v, want %v (%v)", ans["errcode"], tt.wantCode, ans)
			}
			msg, _ := ans["errmsg"].(string)
			if !strings.HasPrefix(msg, tt.wantMsg) {
				t.Fatalf("errmsg = %q, want prefix %q", msg, tt.wantMsg)
			}
			if tt.wantCode != 0 && !strings.Contains(msg, "more info at https://open.work.weixin.qq.com/devtool/query?e=") {
				t.Fatalf("errmsg %q lacks the devtool link", msg)
			}
		})
	}
}

func TestTokenLifetime(t *testing.T) {
	clk := newClock()
	s := newSandbox(t, Config{Now: clk.Now})
	target := "/cgi-bin/gettoken?corpid=" + DefaultCorpID + "&corpsecret=" + DefaultCorpSecret
	_, first := call(t, s, http.MethodGet, target, "")
	if first["expires_in"] != float64(7200) {
		t.Fatalf("expires_in = %v, want 7200", first["expires_in"])
	}
	clk.Add(1000 * time.Second)
	_, again := call(t, s, http.MethodGet, target, "")
	if again["access_token"] != first["access_token"] || again["expires_in"] != float64(6200) {
		t.Fatalf("within validity gettoken = %v, want the same token with 6200 s left", again)
	}
	clk.Add(6200 * time.Second)
	_, renewed := call(t, s, http.MethodGet, target, "")
	if renewed["access_token"] == first["access_token"] || renewed["expires_in"] != float64(7200) {
		t.Fatalf("after expiry gettoken = %v, want a new token", renewed)
	}
}

// TestSDKTokenErrors shows the SDK meeting 42001 when its cached token has
// expired on the platform, and 40014 when the platform never issued it.
func TestSDKTokenErrors(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(t *testing.T, s *Server, clk *clock)
		want  int64
	}{
		{"expired after 7200 s", func(t *testing.T, s *Server, clk *clock) { clk.Add(7200 * time.Second) }, 42001},
		{"expired by the console", func(t *testing.T, s *Server, clk *clock) { s.ExpireTokens() }, 42001},
		{"unknown after a sandbox restart", func(t *testing.T, s *Server, clk *clock) { newSandbox(t, Config{Now: clk.Now}) }, 40014},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			s := newSandbox(t, Config{Now: clk.Now})
			ec := newWork(s).GetExternalContact()
			req := &externalcontact.GroupChatListRequest{Limit: 10}
			if _, err := ec.GetGroupChatList(req); err != nil {
				t.Fatalf("first call: %v", err)
			}
			tt.spoil(t, s, clk)
			_, err := ec.GetGroupChatList(req)
			if errCode(err) != tt.want {
				t.Fatalf("error = %v, want errcode %d", err, tt.want)
			}
		})
	}
}
