package miniprogram_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/miniprogram/business"
	"github.com/silenceper/wechat/v2/miniprogram/qrcode"

	"github.com/siyu-live/siyu/sandbox/miniprogram"
)

// consoleCall sends one request to the console and decodes its answer.
func consoleCall(t *testing.T, h http.Handler, method, target, body string) (int, any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	var out any
	if rec.Body.Len() > 0 && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %s", method, target, rec.Body.String())
		}
	}
	return rec.Code, out
}

func TestConsolePhoneActions(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	console := f.srv.Console()

	status, out := consoleCall(t, console, http.MethodPost, "/login-code", `{"openid":"o-web","unionid":"u-web"}`)
	loginCode, _ := out.(map[string]any)["code"].(string)
	if status != http.StatusOK || loginCode == "" {
		t.Fatalf("login-code = %d %v", status, out)
	}
	session, err := f.mp.GetAuth().Code2Session(loginCode)
	if err != nil || session.OpenID != "o-web" || session.UnionID != "u-web" {
		t.Fatalf("Code2Session of a console code = %+v, %v", session, err)
	}

	status, out = consoleCall(t, console, http.MethodPost, "/phone-code", `{"phone":"13800138000"}`)
	phoneCode, _ := out.(map[string]any)["code"].(string)
	if status != http.StatusOK || phoneCode == "" {
		t.Fatalf("phone-code = %d %v", status, out)
	}
	if info, err := f.mp.GetBusiness().GetPhoneNumber(&business.GetPhoneNumberRequest{Code: phoneCode}); err != nil || info.PhoneNumber != "13800138000" {
		t.Fatalf("GetPhoneNumber of a console code = %+v, %v", info, err)
	}

	status, out = consoleCall(t, console, http.MethodPost, "/subscribe", `{"openid":"o-web","template_ids":["`+miniprogram.TemplateLiveStart+`"]}`)
	if status != http.StatusOK || out.(map[string]any)[miniprogram.TemplateLiveStart] != "accept" || out.(map[string]any)["errMsg"] != "requestSubscribeMessage:ok" {
		t.Fatalf("subscribe = %d %v", status, out)
	}
	if err := f.mp.GetSubscribe().Send(reminder("o-web")); err != nil {
		t.Fatalf("send after a console accept: %v", err)
	}
	if _, err := f.mp.GetQRCode().GetWXACodeUnlimit(qrcode.QRCoder{Scene: "show=1"}); err != nil {
		t.Fatal(err)
	}
	if err := f.mp.GetShipping().UploadShippingInfo(parcel("4200009", start)); err != nil {
		t.Fatal(err)
	}

	lists := []struct {
		path string
		want string
	}{
		{path: "/consents", want: `"remaining":0`},
		{path: "/subscribe-messages", want: `"thing1":"春季新品发布会"`},
		{path: "/shipping-uploads", want: `"tracking_no":"SF1400012345678"`},
		{path: "/qrcodes", want: `"scene":"show=1"`},
		{path: "/", want: `"WECHAT_APP_ID"`},
	}
	for _, l := range lists {
		t.Run(l.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			console.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, l.path, nil))
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), l.want) {
				t.Fatalf("GET %s = %d %s, want it to contain %s", l.path, rec.Code, rec.Body.String(), l.want)
			}
		})
	}
}

func TestConsoleRejectsBadRequests(t *testing.T) {
	f := newFixture(t, miniprogram.Config{PhoneQuota: 1})
	console := f.srv.Console()
	if _, err := f.srv.MintPhoneCode("13800138000"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{name: "not JSON", method: http.MethodPost, path: "/login-code", body: `{`, status: 400, code: "invalid_json"},
		{name: "no openid", method: http.MethodPost, path: "/login-code", body: `{"unionid":"u"}`, status: 400, code: "invalid_request"},
		{name: "bad phone", method: http.MethodPost, path: "/phone-code", body: `{"phone":"12"}`, status: 400, code: "invalid_phone"},
		{name: "phone quota", method: http.MethodPost, path: "/phone-code", body: `{"phone":"13800138001"}`, status: 403, code: "phone_quota_exhausted"},
		{name: "no templates", method: http.MethodPost, path: "/subscribe", body: `{"openid":"o"}`, status: 400, code: "invalid_request"},
		{name: "four templates", method: http.MethodPost, path: "/subscribe", body: `{"openid":"o","template_ids":["a","b","c","d"]}`, status: 400, code: "invalid_request"},
		{name: "unknown template", method: http.MethodPost, path: "/subscribe", body: `{"openid":"o","template_ids":["tpl-nope"]}`, status: 400, code: "unknown_template"},
		{name: "bad decision", method: http.MethodPost, path: "/subscribe", body: `{"openid":"o","template_ids":["` + miniprogram.TemplateLiveStart + `"],"decision":"maybe"}`, status: 400, code: "invalid_request"},
		{name: "wrong method", method: http.MethodGet, path: "/login-code", status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := consoleCall(t, console, tt.method, tt.path, tt.body)
			if status != tt.status {
				t.Fatalf("status = %d, want %d (%v)", status, tt.status, out)
			}
			if tt.code == "" {
				return
			}
			got, _ := out.(map[string]any)["error"].(map[string]any)
			if got["code"] != tt.code {
				t.Fatalf("error = %v, want code %s", out, tt.code)
			}
		})
	}
}

func TestConsoleRejectDecision(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	console := f.srv.Console()
	body := `{"openid":"o-web","template_ids":["` + miniprogram.TemplateLiveStart + `"]}`
	consoleCall(t, console, http.MethodPost, "/subscribe", body)
	status, out := consoleCall(t, console, http.MethodPost, "/subscribe", strings.Replace(body, `]}`, `],"decision":"reject"}`, 1))
	if status != http.StatusOK || out.(map[string]any)[miniprogram.TemplateLiveStart] != "reject" {
		t.Fatalf("reject = %d %v", status, out)
	}
	if got := errcode(t, f.mp.GetSubscribe().Send(reminder("o-web"))); got != 43101 {
		t.Fatalf("send after a reject: errcode %d, want 43101", got)
	}
}

func TestConsoleFaults(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	console := f.srv.Console()
	status, _ := consoleCall(t, console, http.MethodPost, "/faults", `{"path":"jscode2session","errcode":-1,"errmsg":"system error","times":1}`)
	if status != http.StatusCreated {
		t.Fatalf("POST /faults = %d", status)
	}
	code := f.srv.MintLoginCode("o-unlucky", "")
	if _, err := f.mp.GetAuth().Code2Session(code); errcode(t, err) != -1 {
		t.Fatalf("login during the fault: %v, want errcode -1", err)
	}
	// The fault answered before the platform saw the code, so it still works.
	if _, err := f.mp.GetAuth().Code2Session(code); err != nil {
		t.Fatalf("login after the fault: %v", err)
	}

	consoleCall(t, console, http.MethodPost, "/faults", `{"path":"stable_token","status":503}`)
	if _, out := consoleCall(t, console, http.MethodGet, "/faults", ""); len(out.([]any)) != 1 {
		t.Fatalf("GET /faults = %v, want one rule", out)
	}
	if _, err := f.mp.GetAuth().GetPhoneNumber("x"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("token fetch during a 503 fault: %v", err)
	}
	if status, _ := consoleCall(t, console, http.MethodDelete, "/faults", ""); status != http.StatusNoContent {
		t.Fatalf("DELETE /faults = %d", status)
	}
	if _, err := f.mp.GetAuth().GetPhoneNumber("x"); errcode(t, err) != 40029 {
		t.Fatalf("after clearing faults: %v, want errcode 40029", err)
	}
}

func TestUnknownPathAndMethod(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	if got := code(call(t, f.srv, http.MethodGet, "/wxa/nope", nil)); got != 40066 {
		t.Fatalf("unknown path: errcode %d, want 40066", got)
	}
	if got := code(call(t, f.srv, http.MethodGet, "/cgi-bin/stable_token", nil)); got != 43002 {
		t.Fatalf("GET stable_token: errcode %d, want 43002", got)
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/cgi-bin/stable_token", strings.NewReader("grant_type=client_credential")))
	if !strings.Contains(rec.Body.String(), `"errcode":47001`) {
		t.Fatalf("form body: %s, want errcode 47001", rec.Body.String())
	}
}

func TestMountedUnderAPrefix(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	for _, strip := range []string{"/api.weixin.qq.com", "/api.weixin.qq.com/"} {
		t.Run("api stripped of "+strip, func(t *testing.T) {
			h := mountedAt(http.StripPrefix(strip, f.srv), "/api.weixin.qq.com")
			s := f.srv.Settings()
			got := call(t, h, http.MethodPost, "/cgi-bin/stable_token", map[string]any{
				"grant_type": "client_credential", "appid": s[miniprogram.SettingAppID], "secret": s[miniprogram.SettingAppSecret],
			})
			if got["access_token"] == nil {
				t.Fatalf("stable_token through the mount = %v", got)
			}
		})
	}
	for _, strip := range []string{"/sandbox/miniprogram", "/sandbox/miniprogram/"} {
		t.Run("console stripped of "+strip, func(t *testing.T) {
			h := http.StripPrefix(strip, f.srv.Console())
			status, out := consoleCall(t, h, http.MethodPost, "/sandbox/miniprogram/login-code", `{"openid":"o-mounted"}`)
			if status != http.StatusOK || out.(map[string]any)["code"] == nil {
				t.Fatalf("login-code through the mount = %d %v", status, out)
			}
		})
	}
}

// mountedAt returns a handler that puts prefix in front of every path before
// h sees it, the way the composed sandbox is reached.
func mountedAt(h http.Handler, prefix string) http.Handler {
	return &prefixed{h: h, prefix: prefix}
}

type prefixed struct {
	h      http.Handler
	prefix string
}

func (p *prefixed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.URL.Path = p.prefix + r.URL.Path
	p.h.ServeHTTP(w, r)
}
