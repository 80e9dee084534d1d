package miniprogram_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/siyu-live/siyu/sandbox/miniprogram"
)

func TestCode2SessionThroughSDK(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	auth := f.mp.GetAuth()

	withUnion := f.srv.MintLoginCode("o-alice", "u-alice")
	got, err := auth.Code2Session(withUnion)
	if err != nil {
		t.Fatal(err)
	}
	key, err := base64.StdEncoding.DecodeString(got.SessionKey)
	if got.OpenID != "o-alice" || got.UnionID != "u-alice" || err != nil || len(key) != 16 {
		t.Fatalf("Code2Session = %+v, want o-alice, u-alice and a base64 16-byte session key", got)
	}
	again, err := auth.Code2Session(f.srv.MintLoginCode("o-alice", ""))
	if err != nil {
		t.Fatal(err)
	}
	if again.SessionKey == got.SessionKey || again.UnionID != "u-alice" {
		t.Fatalf("second login = %+v, want a new session key and the remembered unionid", again)
	}
	noUnion, err := auth.Code2Session(f.srv.MintLoginCode("o-bob", ""))
	if err != nil || noUnion.UnionID != "" {
		t.Fatalf("login without unionid = %+v, %v", noUnion, err)
	}

	tests := []struct {
		name string
		code func() string
		want int64
	}{
		{name: "used twice", code: func() string {
			c := f.srv.MintLoginCode("o-carol", "")
			if _, err := auth.Code2Session(c); err != nil {
				t.Fatal(err)
			}
			return c
		}, want: 40163},
		{name: "unknown", code: func() string { return "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d" }, want: 40029},
		{name: "expired", code: func() string {
			c := f.srv.MintLoginCode("o-dave", "")
			f.clock.Advance(5 * time.Minute)
			return c
		}, want: 40029},
		{name: "just in time", code: func() string {
			c := f.srv.MintLoginCode("o-erin", "")
			f.clock.Advance(5*time.Minute - time.Second)
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.Code2Session(tt.code())
			if got := errcode(t, err); got != tt.want {
				t.Fatalf("errcode = %d, want %d (%v)", got, tt.want, err)
			}
		})
	}
}

func TestCode2SessionCredentials(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	s := f.srv.Settings()
	tests := []struct {
		name   string
		secret string
		grant  string
		code   string
		want   int
	}{
		{name: "wrong secret", secret: "bad", grant: "authorization_code", code: "x", want: 40125},
		{name: "wrong grant type", secret: s[miniprogram.SettingAppSecret], grant: "client_credential", code: "x", want: 40002},
		{name: "no code", secret: s[miniprogram.SettingAppSecret], grant: "authorization_code", want: 41008},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{"appid": {s[miniprogram.SettingAppID]}, "secret": {tt.secret}, "grant_type": {tt.grant}, "js_code": {tt.code}}
			if got := code(call(t, f.srv, http.MethodGet, "/sns/jscode2session?"+q.Encode(), nil)); got != tt.want {
				t.Fatalf("errcode = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCode2SessionUserMinuteLimit(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	auth := f.mp.GetAuth()
	for i := range 100 {
		if _, err := auth.Code2Session(f.srv.MintLoginCode("o-busy", "")); err != nil {
			t.Fatalf("login %d: %v", i+1, err)
		}
	}
	_, err := auth.Code2Session(f.srv.MintLoginCode("o-busy", ""))
	if got := errcode(t, err); got != 45011 {
		t.Fatalf("101st login in a minute: errcode %d, want 45011", got)
	}
	if _, err := auth.Code2Session(f.srv.MintLoginCode("o-calm", "")); err != nil {
		t.Fatalf("another user in the same minute: %v", err)
	}
	f.clock.Advance(time.Minute)
	if _, err := auth.Code2Session(f.srv.MintLoginCode("o-busy", "")); err != nil {
		t.Fatalf("next minute: %v", err)
	}
}

func TestLoginConcurrently(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	s := f.srv.Settings()
	var wg sync.WaitGroup
	errs := make(chan string, 40)
	for i := range 40 {
		wg.Go(func() {
			openid := "o-crowd-" + string(rune('a'+i%26))
			c := f.srv.MintLoginCode(openid, "")
			q := url.Values{"appid": {s[miniprogram.SettingAppID]}, "secret": {s[miniprogram.SettingAppSecret]}, "grant_type": {"authorization_code"}, "js_code": {c}}
			// t.Fatal is for the test goroutine, so this call is made by hand.
			rec := httptest.NewRecorder()
			f.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/sns/jscode2session?"+q.Encode(), nil))
			var got struct {
				OpenID string `json:"openid"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.OpenID != openid {
				errs <- openid
			}
		})
	}
	wg.Wait()
	close(errs)
	for openid := range errs {
		t.Errorf("concurrent login of %s failed", openid)
	}
}
