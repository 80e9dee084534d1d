package miniprogram_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/miniprogram/security"

	"github.com/siyu-live/siyu/sandbox/miniprogram"
)

func TestStableTokenNormalMode(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	first := stableToken(t, f.srv, false)
	token, _ := first["access_token"].(string)
	if token == "" || first["expires_in"] != float64(7200) {
		t.Fatalf("first stable token = %v, want a token with expires_in 7200", first)
	}

	f.clock.Advance(1000 * time.Second)
	again := stableToken(t, f.srv, false)
	if again["access_token"] != token || again["expires_in"] != float64(6200) {
		t.Fatalf("stable token inside its life = %v, want the same token with expires_in 6200", again)
	}

	// Inside the last five minutes normal mode hands over to a new token;
	// the old one keeps working until it runs out, then answers 42001.
	f.clock.Advance(6000 * time.Second)
	next := stableToken(t, f.srv, false)
	if next["access_token"] == token || next["expires_in"] != float64(7200) {
		t.Fatalf("stable token near expiry = %v, want a new token", next)
	}
	if got := checkWith(t, f.srv, token); got != 0 {
		t.Fatalf("old token during hand-over: errcode %d, want 0", got)
	}
	f.clock.Advance(200 * time.Second)
	if got := checkWith(t, f.srv, token); got != 42001 {
		t.Fatalf("old token after its expiry: errcode %d, want 42001", got)
	}
	if got := checkWith(t, f.srv, next["access_token"].(string)); got != 0 {
		t.Fatalf("new token: errcode %d, want 0", got)
	}
}

func TestStableTokenForceRefreshThroughSDK(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	s := f.srv.Settings()
	ak := credential.NewStableAccessToken(s[miniprogram.SettingAppID], s[miniprogram.SettingAppSecret], "test", cache.NewMemory()).(*credential.StableAccessToken)
	ctx := context.Background()

	old, err := ak.GetAccessTokenDirectly(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := ak.GetAccessTokenDirectly(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == old.AccessToken || fresh.ExpiresIn != 7200 {
		t.Fatalf("force refresh = %+v, want a new token for 7200s", fresh)
	}
	if got := checkWith(t, f.srv, old.AccessToken); got != 0 {
		t.Fatalf("previous token right after a force refresh: errcode %d, want 0", got)
	}

	// A force refresh sooner than 30s after the last does not refresh.
	f.clock.Advance(10 * time.Second)
	same, err := ak.GetAccessTokenDirectly(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if same.AccessToken != fresh.AccessToken {
		t.Fatal("a force refresh 10s after the last issued a new token")
	}

	f.clock.Advance(5 * time.Minute)
	if got := checkWith(t, f.srv, old.AccessToken); got != 40001 {
		t.Fatalf("previous token 5 minutes after a force refresh: errcode %d, want 40001", got)
	}

	// 20 force refreshes a day: one is spent, 19 more work, the 21st fails.
	for i := range 19 {
		f.clock.Advance(31 * time.Second)
		if _, err := ak.GetAccessTokenDirectly(ctx, true); err != nil {
			t.Fatalf("force refresh %d: %v", i+2, err)
		}
	}
	f.clock.Advance(31 * time.Second)
	_, err = ak.GetAccessTokenDirectly(ctx, true)
	if got := errcode(t, err); got != 45009 {
		t.Fatalf("21st force refresh of the day: errcode %d, want 45009 (%v)", got, err)
	}
	if _, err := ak.GetAccessTokenDirectly(ctx, false); err != nil {
		t.Fatalf("normal mode after the force quota is spent: %v", err)
	}

	// The quota is per day in China time.
	f.clock.Advance(24 * time.Hour)
	if _, err := ak.GetAccessTokenDirectly(ctx, true); err != nil {
		t.Fatalf("force refresh the next day: %v", err)
	}
}

func TestTokenCredentials(t *testing.T) {
	f := newFixture(t, miniprogram.Config{AppID: "wxcafe0000000001", AppSecret: "s3cret"})
	tests := []struct {
		name                 string
		grant, appid, secret string
		code                 int
	}{
		{name: "ok", grant: "client_credential", appid: "wxcafe0000000001", secret: "s3cret"},
		{name: "wrong secret", grant: "client_credential", appid: "wxcafe0000000001", secret: "nope", code: 40125},
		{name: "wrong appid", grant: "client_credential", appid: "wxdead", secret: "s3cret", code: 40013},
		{name: "wrong grant type", grant: "authorization_code", appid: "wxcafe0000000001", secret: "s3cret", code: 40002},
		{name: "no appid", grant: "client_credential", secret: "s3cret", code: 41002},
		{name: "no secret", grant: "client_credential", appid: "wxcafe0000000001", code: 41004},
	}
	for _, tt := range tests {
		t.Run("stable_token/"+tt.name, func(t *testing.T) {
			got := call(t, f.srv, http.MethodPost, "/cgi-bin/stable_token", map[string]any{"grant_type": tt.grant, "appid": tt.appid, "secret": tt.secret})
			if code(got) != tt.code {
				t.Fatalf("errcode = %d, want %d (%v)", code(got), tt.code, got)
			}
		})
		t.Run("token/"+tt.name, func(t *testing.T) {
			q := url.Values{"grant_type": {tt.grant}, "appid": {tt.appid}, "secret": {tt.secret}}
			got := call(t, f.srv, http.MethodGet, "/cgi-bin/token?"+q.Encode(), nil)
			if code(got) != tt.code {
				t.Fatalf("errcode = %d, want %d (%v)", code(got), tt.code, got)
			}
		})
	}
}

func TestPlainTokenThroughSDK(t *testing.T) {
	f := newFixture(t, miniprogram.Config{Limits: map[string]miniprogram.Limit{"/cgi-bin/token": {PerDay: 3}}})
	s := f.srv.Settings()
	endpoint := "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=" + s[miniprogram.SettingAppID] + "&secret=" + s[miniprogram.SettingAppSecret]

	first, err := credential.GetTokenFromServer(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	second, err := credential.GetTokenFromServer(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if first.AccessToken == second.AccessToken || second.ExpiresIn != 7200 {
		t.Fatalf("cgi-bin/token twice = %q, %+v; want a new token each time", first.AccessToken, second)
	}
	// cgi-bin/token and stable_token are isolated: a stable token does not
	// retire the plain one.
	stableToken(t, f.srv, true)
	if got := checkWith(t, f.srv, first.AccessToken); got != 0 {
		t.Fatalf("replaced token inside the overlap: errcode %d, want 0", got)
	}
	f.clock.Advance(5 * time.Minute)
	if got := checkWith(t, f.srv, first.AccessToken); got != 40001 {
		t.Fatalf("replaced token after the overlap: errcode %d, want 40001", got)
	}
	if got := checkWith(t, f.srv, second.AccessToken); got != 0 {
		t.Fatalf("latest token: errcode %d, want 0", got)
	}
	if _, err := credential.GetTokenFromServer(endpoint); err != nil {
		t.Fatalf("third call of a 3-a-day quota: %v", err)
	}
	_, err = credential.GetTokenFromServer(endpoint)
	if got := errcode(t, err); got != 45009 {
		t.Fatalf("fourth call of a 3-a-day quota: errcode %d, want 45009", got)
	}
}

func TestAccessTokenChecks(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{name: "missing", token: "", want: 41001},
		{name: "unknown", token: "91_not-a-token", want: 40001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkWith(t, f.srv, tt.token); got != tt.want {
				t.Fatalf("errcode = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestExpiredTokenThroughSDK(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	f.srv.MintLoginCode("o-expiry", "")
	check := func() error {
		_, err := f.mp.GetSecurity().MsgCheck(&security.MsgCheckRequest{OpenID: "o-expiry", Scene: security.MsgSceneComment, Content: "你好"})
		return err
	}
	if err := check(); err != nil {
		t.Fatalf("first call: %v", err)
	}
	// The SDK keeps the token for 6900s of real time; the platform's clock
	// runs past its 7200s.
	f.clock.Advance(7201 * time.Second)
	if got := errcode(t, check()); got != 42001 {
		t.Fatalf("call with an expired token: errcode %d, want 42001", got)
	}
}
