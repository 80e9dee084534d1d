package wecom

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/util"
)

// The sample of WeCom's callback crypto documentation (加解密方案说明), as
// shipped with the official WXBizMsgCrypt libraries.
const (
	vectorCorpID  = "wx5823bf96d3bd56c7"
	vectorToken   = "QDG6eK"
	vectorAESKey  = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	vectorEncrypt = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
	vectorEchoStr = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)

func TestSignatureMatchesOfficialSample(t *testing.T) {
	tests := []struct {
		name, timestamp, nonce, encrypted, want string
	}{
		{"event POST", "1409659813", "1372623149", vectorEncrypt, "477715d11cdb4164915debcba66cb864d751f3e6"},
		{"URL verification GET", "1409659589", "263014780", vectorEchoStr, "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := signature(vectorToken, tt.timestamp, tt.nonce, tt.encrypted); got != tt.want {
				t.Fatalf("signature = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestEncryptReproducesOfficialSample decrypts the official sample with
// silenceper and re-encrypts its random prefix and message: the ciphertext
// must be the sample's, byte for byte.
func TestEncryptReproducesOfficialSample(t *testing.T) {
	tests := []struct {
		name, encrypted, wantPrefix string
	}{
		{"event", vectorEncrypt, "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"},
		{"echostr", vectorEchoStr, ""},
	}
	key, err := aesKey(vectorAESKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			random, msg, err := util.DecryptMsg(vectorCorpID, tt.encrypted, vectorAESKey)
			if err != nil {
				t.Fatalf("silenceper DecryptMsg: %v", err)
			}
			if !strings.HasPrefix(string(msg), tt.wantPrefix) {
				t.Fatalf("plaintext = %q", msg)
			}
			got, err := encrypt(key, random, string(msg), vectorCorpID)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.encrypted {
				t.Fatalf("encrypt =\n%s\nwant\n%s", got, tt.encrypted)
			}
		})
	}
}

// TestEncryptDecryptsWithSDK covers the padding edges: a plaintext that fills
// whole 32-byte blocks gets a full block of padding.
func TestEncryptDecryptsWithSDK(t *testing.T) {
	key, err := aesKey(DefaultCallbackAESKey)
	if err != nil {
		t.Fatal(err)
	}
	// random(16) + length(4) + corp id(18) = 38 bytes around the message.
	tests := []struct {
		name string
		msg  string
	}{
		{"empty", ""},
		{"one byte", "x"},
		{"pads to one byte", strings.Repeat("a", 64-38-1)},
		{"fills the blocks", strings.Repeat("a", 64-38)},
		{"one past the blocks", strings.Repeat("a", 64-38+1)},
		{"multi-byte UTF-8", "<xml><Name><![CDATA[小满]]></Name></xml>"},
		{"long", strings.Repeat("0123456789", 400)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			random := []byte("0123456789abcdef")
			enc, err := encrypt(key, random, tt.msg, DefaultCorpID)
			if err != nil {
				t.Fatal(err)
			}
			gotRandom, gotMsg, err := util.DecryptMsg(DefaultCorpID, enc, DefaultCallbackAESKey)
			if err != nil {
				t.Fatalf("silenceper DecryptMsg: %v", err)
			}
			if string(gotMsg) != tt.msg || string(gotRandom) != string(random) {
				t.Fatalf("decrypted %q / %q", gotRandom, gotMsg)
			}
			if _, _, err := util.DecryptMsg("ww0000000000000000", enc, DefaultCallbackAESKey); err == nil {
				t.Fatal("decrypting with another corp id succeeded; the receive id check is not effective")
			}
		})
	}
}

func TestCallbackValidation(t *testing.T) {
	tests := []struct {
		name string
		cb   Callback
		ok   bool
	}{
		{"defaults", Callback{Token: DefaultCallbackToken, EncodingAESKey: DefaultCallbackAESKey}, true},
		{"official sample", Callback{URL: "https://siyu.example/wecom/callback", Token: vectorToken, EncodingAESKey: vectorAESKey}, true},
		{"key of 42 characters", Callback{Token: "abc", EncodingAESKey: vectorAESKey[:42]}, false},
		{"key not base64", Callback{Token: "abc", EncodingAESKey: strings.Repeat("*", 43)}, false},
		{"token too short", Callback{Token: "ab", EncodingAESKey: vectorAESKey}, false},
		{"token with punctuation", Callback{Token: "abc-def", EncodingAESKey: vectorAESKey}, false},
		{"relative URL", Callback{URL: "/wecom/callback", Token: "abc", EncodingAESKey: vectorAESKey}, false},
	}
	s := newSandbox(t, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.SetCallback(tt.cb)
			if (err == nil) != tt.ok {
				t.Fatalf("SetCallback(%+v) = %v, want ok=%v", tt.cb, err, tt.ok)
			}
		})
	}
}

// TestEventGolden pins the decrypted XML of every event kind.
func TestEventGolden(t *testing.T) {
	clk := newClock()
	s := newSandbox(t, Config{Now: clk.Now, Random: rand.NewChaCha8([32]byte{'s', 'i', 'y', 'u'})})
	tok := token(t, s)
	chat := s.Groups()[0].ChatID
	jw := post(t, s, tok, "/cgi-bin/externalcontact/groupchat/add_join_way", map[string]any{
		"scene": 2, "chat_id_list": []string{chat}, "state": "show42_inv7",
	})
	cw := post(t, s, tok, "/cgi-bin/externalcontact/add_contact_way", map[string]any{
		"type": 1, "scene": 2, "user": []string{"lisi"}, "state": "live_20260520",
	})
	p := Person{UnionID: "oTmHYjg7Vj0D3ZsP2mDoZ4JpH0Xs", Name: "小满"}
	if _, err := s.ScanJoinWay(jw["config_id"].(string), p); err != nil {
		t.Fatal(err)
	}
	clk.Add(60e9)
	if _, err := s.AddContact(cw["config_id"].(string), p); err != nil {
		t.Fatal(err)
	}
	clk.Add(60e9)
	if _, err := s.LeaveGroup(chat, p.UnionID); err != nil {
		t.Fatal(err)
	}
	deliveries := s.Deliveries()
	tests := []struct {
		name  string
		index int
	}{
		{"change_external_chat_add_member", 0},
		{"change_external_contact_add_external_contact", 1},
		{"change_external_chat_del_member", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := deliveries[tt.index].Plaintext
			path := filepath.Join("testdata", tt.name+".xml")
			if *update {
				if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got+"\n" != string(want) {
				t.Fatalf("event XML =\n%s\nwant\n%s", got, want)
			}
		})
	}
}
