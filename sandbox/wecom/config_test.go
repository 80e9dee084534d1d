package wecom

import (
	"errors"
	"strings"
	"testing"
)

func TestNewRejectsInvalidConfig(t *testing.T) {
	staff := []Staff{{UserID: "zhangsan", Name: "张三"}}
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"staff listed twice", Config{Staff: []Staff{{UserID: "a"}, {UserID: "a"}}}, ErrInvalidConfig},
		{"staff without userid", Config{Staff: []Staff{{Name: "无名"}}}, ErrInvalidConfig},
		{"group owner not staff", Config{Staff: staff, Groups: []GroupSeed{{Name: "群", Owner: "lisi"}}}, ErrInvalidConfig},
		{"group member not staff", Config{Staff: staff, Groups: []GroupSeed{{Name: "群", Owner: "zhangsan", Members: []string{"lisi"}}}}, ErrInvalidConfig},
		{"group admin not a member", Config{Staff: staff, Groups: []GroupSeed{{Name: "群", Owner: "zhangsan", Admins: []string{"lisi"}}}}, ErrInvalidConfig},
		{"tag without name", Config{TagGroups: []TagGroup{{Name: "组", Tags: []Tag{{}}}}}, ErrInvalidConfig},
		{"callback key too short", Config{Callback: Callback{EncodingAESKey: "abc"}}, ErrInvalidCallback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New error = %v, want %v", err, tt.want)
			}
			if s != nil {
				t.Fatal("New returned a server with an error")
			}
		})
	}
}

func TestDefaultsAndSettings(t *testing.T) {
	s := newSandbox(t, Config{})
	st := s.Settings()
	want := map[string]string{
		"WECOM_CORP_ID":          DefaultCorpID,
		"WECOM_CORP_SECRET":      DefaultCorpSecret,
		"WECOM_AGENT_ID":         DefaultAgentID,
		"WECOM_CALLBACK_TOKEN":   DefaultCallbackToken,
		"WECOM_CALLBACK_AES_KEY": DefaultCallbackAESKey,
	}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("%s = %q, want %q", k, st[k], v)
		}
	}
	if len(st) != len(want) {
		t.Errorf("settings = %v", st)
	}
	groups := s.Groups()
	if len(groups) != 2 {
		t.Fatalf("groups = %+v", groups)
	}
	for _, g := range groups {
		if !strings.HasPrefix(g.ChatID, "wr") || len(g.ChatID) != 32 {
			t.Errorf("chat_id %q is not WeCom-shaped", g.ChatID)
		}
	}
	again, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.Groups()[0].ChatID != groups[0].ChatID || again.TagGroups()[0].Tags[0].ID != s.TagGroups()[0].Tags[0].ID {
		t.Error("seeded ids differ between two sandboxes with the same config")
	}
}
