package wxpay

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
)

// TestForeignKeyRejected: the unmodified SDK signing with a key other than
// the merchant's gets 401 SIGN_ERROR.
func TestForeignKeyRejected(t *testing.T) {
	s := newServer(t, Config{}, nil)
	c := loadCreds(t, s)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	client, err := core.NewClient(context.Background(),
		option.WithWechatPayPublicKeyAuthCipher(c.MchID, c.MerchantSerial, other, c.PublicKeyID, c.pub),
		option.WithHTTPClient(apiHTTPClient(s)))
	if err != nil {
		t.Fatal(err)
	}
	pay := jsapi.JsapiApiService{Client: client}
	_, _, err = pay.Prepay(context.Background(), validPrepay(s, "SY"+digits(12), 100))
	if status, code := sdkCode(err); status != http.StatusUnauthorized || code != "SIGN_ERROR" {
		t.Fatalf("foreign key: %v", err)
	}
	if len(s.Orders()) != 0 {
		t.Fatal("an order was made from a request with a foreign signature")
	}
}

// TestAuthentication checks each part of the Authorization rule.
func TestAuthentication(t *testing.T) {
	s := newServer(t, Config{}, nil)
	k := s.keys
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	uri := "/v3/pay/transactions/out-trade-no/SY000000000001?mchid=" + s.cfg.MchID
	for _, tc := range []struct {
		name   string
		send   func() *http.Response
		status int
	}{
		{"well signed (unknown order)", func() *http.Response {
			return rawRequest(t, s, k.MerchantKey, s.cfg.MchID, k.MerchantSerial, time.Now(), "GET", uri, nil)
		}, http.StatusNotFound},
		{"serial in lower case", func() *http.Response {
			return rawRequest(t, s, k.MerchantKey, s.cfg.MchID, toLower(k.MerchantSerial), time.Now(), "GET", uri, nil)
		}, http.StatusNotFound},
		{"signed by another key", func() *http.Response {
			return rawRequest(t, s, other, s.cfg.MchID, k.MerchantSerial, time.Now(), "GET", uri, nil)
		}, http.StatusUnauthorized},
		{"another mchid", func() *http.Response {
			return rawRequest(t, s, k.MerchantKey, "1900000001", k.MerchantSerial, time.Now(), "GET", uri, nil)
		}, http.StatusUnauthorized},
		{"another certificate serial", func() *http.Response {
			return rawRequest(t, s, k.MerchantKey, s.cfg.MchID, hexUpper(40), time.Now(), "GET", uri, nil)
		}, http.StatusUnauthorized},
		{"timestamp 6 minutes old", func() *http.Response {
			return rawRequest(t, s, k.MerchantKey, s.cfg.MchID, k.MerchantSerial, time.Now().Add(-6*time.Minute), "GET", uri, nil)
		}, http.StatusUnauthorized},
		{"timestamp 6 minutes ahead", func() *http.Response {
			return rawRequest(t, s, k.MerchantKey, s.cfg.MchID, k.MerchantSerial, time.Now().Add(6*time.Minute), "GET", uri, nil)
		}, http.StatusUnauthorized},
		{"timestamp 4 minutes old", func() *http.Response {
			return rawRequest(t, s, k.MerchantKey, s.cfg.MchID, k.MerchantSerial, time.Now().Add(-4*time.Minute), "GET", uri, nil)
		}, http.StatusNotFound},
		{"no Authorization", func() *http.Response {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("GET", uri, nil))
			return rec.Result()
		}, http.StatusUnauthorized},
		{"another schema", func() *http.Response {
			req := httptest.NewRequest("GET", uri, nil)
			req.Header.Set("Authorization", `WECHATPAY2-SM2-WITH-SM3 mchid="`+s.cfg.MchID+`",nonce_str="a",signature="b",timestamp="1",serial_no="c"`)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			return rec.Result()
		}, http.StatusUnauthorized},
		{"body changed after signing", func() *http.Response {
			n := nonce()
			ts := time.Now().Unix()
			body := `{"mchid":"` + s.cfg.MchID + `"}`
			sig, _ := signSHA256(k.MerchantKey, "POST\n/v3/pay/transactions/out-trade-no/SY000000000001/close\n"+itoa(ts)+"\n"+n+"\n"+body+"\n")
			req := httptest.NewRequest("POST", "/v3/pay/transactions/out-trade-no/SY000000000001/close", stringReader(body+" "))
			req.Header.Set("Authorization", signatureType+` mchid="`+s.cfg.MchID+`",nonce_str="`+n+`",signature="`+sig+`",timestamp="`+itoa(ts)+`",serial_no="`+k.MerchantSerial+`"`)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			return rec.Result()
		}, http.StatusUnauthorized},
		{"query changed after signing", func() *http.Response {
			n := nonce()
			ts := time.Now().Unix()
			sig, _ := signSHA256(k.MerchantKey, "GET\n"+uri+"\n"+itoa(ts)+"\n"+n+"\n\n")
			req := httptest.NewRequest("GET", uri+"&x=1", nil)
			req.Header.Set("Authorization", signatureType+` mchid="`+s.cfg.MchID+`",nonce_str="`+n+`",signature="`+sig+`",timestamp="`+itoa(ts)+`",serial_no="`+k.MerchantSerial+`"`)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			return rec.Result()
		}, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := tc.send()
			status, code, _ := apiErr(t, resp)
			if status != tc.status {
				t.Fatalf("status %d %s, want %d", status, code, tc.status)
			}
			if status == http.StatusUnauthorized && code != "SIGN_ERROR" {
				t.Fatalf("code %q, want SIGN_ERROR", code)
			}
			if resp.Header.Get("Wechatpay-Signature") != "" {
				t.Fatal("an error answer is signed")
			}
		})
	}
}

// TestParseAuthorization accepts the documented form in any field order.
func TestParseAuthorization(t *testing.T) {
	for _, tc := range []struct {
		header string
		ok     bool
	}{
		{`WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",timestamp="1",serial_no="s",signature="a/b+c=="`, true},
		{`WECHATPAY2-SHA256-RSA2048 signature="x",serial_no="s", timestamp="1" ,nonce_str="n",mchid="1"`, true},
		{`WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",timestamp="1",serial_no="s"`, false},
		{`WECHATPAY2-SHA256-RSA2048 mchid=1,nonce_str="n",timestamp="1",serial_no="s",signature="x"`, false},
		{`WECHATPAY2-SHA256-RSA2048 mchid="1" nonce_str="n",timestamp="1",serial_no="s",signature="x"`, false},
		{`WECHATPAY2-SHA256-RSA2048 mchid="1,nonce_str="n"`, false},
		{`Bearer abc`, false},
		{``, false},
	} {
		t.Run(tc.header, func(t *testing.T) {
			if _, ok := parseAuthorization(tc.header); ok != tc.ok {
				t.Fatalf("ok %v, want %v", ok, tc.ok)
			}
		})
	}
}
