package miniprogram_test

import (
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/silenceper/wechat/v2/miniprogram/security"

	"github.com/siyu-live/siyu/sandbox/miniprogram"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestMsgCheckThroughSDK(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	f.srv.MintLoginCode("o-chatter", "")
	sec := f.mp.GetSecurity()
	tests := []struct {
		name    string
		req     security.MsgCheckRequest
		suggest security.CheckSuggest
		label   security.CheckLabel
	}{
		{name: "clean", req: security.MsgCheckRequest{Content: "主播今天的口红色号好好看"}, suggest: security.CheckSuggestPass, label: 100},
		{name: "ads", req: security.MsgCheckRequest{Content: "想要便宜的加微信找我"}, suggest: security.CheckSuggestReview, label: 10001},
		{name: "fraud", req: security.MsgCheckRequest{Content: "兼职刷单日赚三百"}, suggest: security.CheckSuggestRisky, label: 20008},
		{name: "most severe wins", req: security.MsgCheckRequest{Content: "卧槽，加微信，刷单"}, suggest: security.CheckSuggestRisky, label: 20008},
		{name: "title is judged", req: security.MsgCheckRequest{Title: "赌博技巧", Content: "你好"}, suggest: security.CheckSuggestRisky, label: 20006},
		{name: "nickname is judged", req: security.MsgCheckRequest{Nickname: "傻逼", Content: "你好"}, suggest: security.CheckSuggestRisky, label: 20003},
		{name: "signature outside profiles is not judged", req: security.MsgCheckRequest{Signature: "赌博", Content: "你好"}, suggest: security.CheckSuggestPass, label: 100},
		{name: "signature of a profile is judged", req: security.MsgCheckRequest{Scene: security.MsgSceneMaterial, Signature: "赌博", Content: "你好"}, suggest: security.CheckSuggestRisky, label: 20006},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			req.OpenID = "o-chatter"
			if req.Scene == 0 {
				req.Scene = security.MsgSceneComment
			}
			res, err := sec.MsgCheck(&req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Result.Suggest != tt.suggest || res.Result.Label != tt.label {
				t.Fatalf("result = %+v, want %s %d", res.Result, tt.suggest, tt.label)
			}
			if res.TraceID == "" || len(res.Detail) != 2 || res.Detail[0].Strategy != "content_model" || res.Detail[0].Label != tt.label {
				t.Fatalf("answer = %+v, want a trace id and content_model and keyword details", res)
			}
		})
	}
}

func TestMsgCheckErrors(t *testing.T) {
	f := newFixture(t, miniprogram.Config{Words: map[string]miniprogram.Verdict{"SPAM": {Suggest: "risky", Label: 21000}}})
	f.srv.MintLoginCode("o-chatter", "")
	sec := f.mp.GetSecurity()
	tests := []struct {
		name string
		req  security.MsgCheckRequest
		want int64
	}{
		{name: "configured word, any case", req: security.MsgCheckRequest{OpenID: "o-chatter", Scene: 2, Content: "buy spam now"}},
		{name: "scene 0", req: security.MsgCheckRequest{OpenID: "o-chatter", Content: "hi"}, want: 40129},
		{name: "scene 5", req: security.MsgCheckRequest{OpenID: "o-chatter", Scene: 5, Content: "hi"}, want: 40129},
		{name: "no openid", req: security.MsgCheckRequest{Scene: 2, Content: "hi"}, want: 40003},
		{name: "openid never seen", req: security.MsgCheckRequest{OpenID: "o-ghost", Scene: 2, Content: "hi"}, want: 40003},
		{name: "no content", req: security.MsgCheckRequest{OpenID: "o-chatter", Scene: 2}, want: 44002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := sec.MsgCheck(&tt.req)
			if got := errcode(t, err); got != tt.want {
				t.Fatalf("errcode = %d, want %d", got, tt.want)
			}
			if tt.want == 0 && res.Result.Suggest != security.CheckSuggestRisky {
				t.Fatalf("result = %+v, want risky", res.Result)
			}
		})
	}

	// The retired 1.0 interface answers 87014 for risky text.
	if _, err := sec.MsgCheckV1("hello"); err != nil {
		t.Fatalf("1.0 check of clean text: %v", err)
	}
	if _, err := sec.MsgCheckV1("SPAM"); errcode(t, err) != 87014 {
		t.Fatalf("1.0 check of risky text: %v, want errcode 87014", err)
	}
}

// traceID is the one random field of a content-security answer.
var traceID = regexp.MustCompile(`"trace_id":"[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}"`)

func TestMsgCheckGolden(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	f.srv.MintLoginCode("o-chatter", "")
	token := stableToken(t, f.srv, false)["access_token"].(string)
	answer := call(t, f.srv, http.MethodPost, "/wxa/msg_sec_check?access_token="+token, map[string]any{
		"version": "2", "openid": "o-chatter", "scene": 2, "content": "私聊领券，加微信",
	})
	compact, err := json.Marshal(answer)
	if err != nil {
		t.Fatal(err)
	}
	if !traceID.Match(compact) {
		t.Fatalf("answer has no platform-shaped trace_id: %s", compact)
	}
	answer["trace_id"] = "TRACE"
	got, err := json.MarshalIndent(answer, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "msg_sec_check_review.json", got)
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
