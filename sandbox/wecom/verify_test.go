package wecom

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/silenceper/wechat/v2/cache"
	workconfig "github.com/silenceper/wechat/v2/work/config"
	"github.com/silenceper/wechat/v2/work/kf"
)

// verifyingSiyu answers URL verifications the way Siyu does, with
// silenceper's VerifyURL configured with token.
func verifyingSiyu(t *testing.T, token string) func(int, http.ResponseWriter, *http.Request) {
	t.Helper()
	client, err := kf.NewClient(&workconfig.Config{
		CorpID: DefaultCorpID, CorpSecret: DefaultCorpSecret, Token: token,
		EncodingAESKey: DefaultCallbackAESKey, Cache: cache.NewMemory(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return func(_ int, w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		echo, err := client.VerifyURL(kf.SignatureOptions{
			Signature: q.Get("msg_signature"), TimeStamp: q.Get("timestamp"), Nonce: q.Get("nonce"), EchoStr: q.Get("echostr"),
		})
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, echo)
	}
}

// TestVerifyCallback performs WeCom's URL verification against Siyu's
// stand-in, which answers with silenceper's VerifyURL.
func TestVerifyCallback(t *testing.T) {
	verifier := func(token string) func(int, http.ResponseWriter, *http.Request) { return verifyingSiyu(t, token) }
	tests := []struct {
		name   string
		answer func(int, http.ResponseWriter, *http.Request)
		wantOK bool
	}{
		{"Siyu decrypts the echostr", verifier(DefaultCallbackToken), true},
		{"Siyu has another token", verifier("AnotherToken"), false},
		{"Siyu adds a newline", func(n int, w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			verifier(DefaultCallbackToken)(n, rec, r)
			_, _ = io.WriteString(w, rec.Body.String()+"\n")
		}, false},
		{"Siyu answers too late", func(n int, w http.ResponseWriter, r *http.Request) { hang(w, r) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := newSiyu(t, tt.answer)
			s := newSandbox(t, Config{TimeScale: 0.2, Callback: Callback{URL: stub.srv.URL}})
			v, err := s.VerifyCallback(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if v.OK != tt.wantOK {
				t.Fatalf("verification = %+v, want ok=%v", v, tt.wantOK)
			}
			reqs := stub.requests()
			if len(reqs) != 1 || reqs[0].method != http.MethodGet || reqs[0].query.Get("echostr") == "" {
				t.Fatalf("Siyu got %+v", reqs)
			}
			d := s.Deliveries()[0]
			if d.Kind != "verify_url" || d.Plaintext != v.Expected || (d.Status == DeliveryVerified) != tt.wantOK {
				t.Fatalf("delivery = %+v", d)
			}
		})
	}
}

func TestNoCallbackConfigured(t *testing.T) {
	s := newSandbox(t, Config{})
	if _, err := s.VerifyCallback(context.Background()); !errors.Is(err, ErrNoCallback) {
		t.Fatalf("VerifyCallback error = %v, want ErrNoCallback", err)
	}
	tok := token(t, s)
	jw := post(t, s, tok, "/cgi-bin/externalcontact/groupchat/add_join_way", map[string]any{"scene": 2, "chat_id_list": []string{s.Groups()[0].ChatID}})
	if _, err := s.ScanJoinWay(jw["config_id"].(string), Person{UnionID: "oUnion-x"}); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	if d := s.Deliveries(); len(d) != 1 || d[0].Status != DeliveryNoCallback || d[0].Plaintext == "" {
		t.Fatalf("deliveries = %+v", d)
	}
}
