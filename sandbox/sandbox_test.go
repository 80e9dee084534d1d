package sandbox_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/miniprogram"
	mpconfig "github.com/silenceper/wechat/v2/miniprogram/config"
	"github.com/silenceper/wechat/v2/util"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	wxutils "github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/siyu-live/siyu/sandbox"
)

// route is where the process-global silenceper client is sent; silenceper
// has one http.Client for the whole process, so tests swap its target.
var route = &swappable{}

type swappable struct{ rt http.RoundTripper }

func (s *swappable) RoundTrip(r *http.Request) (*http.Response, error) { return s.rt.RoundTrip(r) }

func TestMain(m *testing.M) {
	util.DefaultHTTPClient = &http.Client{Transport: route}
	os.Exit(m.Run())
}

func newSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.New(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

// Both transports carry the unmodified SDKs to the sandbox: in-process, and
// to a standalone sandbox over HTTP.
func TestTransports(t *testing.T) {
	sb := newSandbox(t)
	standalone := httptest.NewServer(sb)
	t.Cleanup(standalone.Close)
	base, _ := url.Parse(standalone.URL)
	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
	}{
		{"in-process", sb.Transport(nil)},
		{"remote", sandbox.Remote(base, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			route.rt = tc.rt
			settings := sb.Settings()
			mp := miniprogram.NewMiniProgram(&mpconfig.Config{AppID: settings["WECHAT_APP_ID"], AppSecret: settings["WECHAT_APP_SECRET"], Cache: cache.NewMemory()})
			code := sb.MiniProgram.MintLoginCode("o-transport-"+tc.name, "u-transport")
			res, err := mp.GetAuth().Code2Session(code)
			if err != nil || res.OpenID != "o-transport-"+tc.name || res.UnionID != "u-transport" {
				t.Fatalf("Code2Session: %+v %v", res, err)
			}
			// The same code twice is refused, as WeChat does.
			if _, err := mp.GetAuth().Code2Session(code); err == nil {
				t.Fatal("a code was accepted twice")
			}

			c := sb.Pay.Credentials()
			key, err := wxutils.LoadPrivateKey(c.MerchantPrivateKeyPEM)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := wxutils.LoadPublicKey(c.PublicKeyPEM)
			if err != nil {
				t.Fatal(err)
			}
			client, err := core.NewClient(context.Background(),
				option.WithWechatPayPublicKeyAuthCipher(c.MchID, c.MerchantSerial, key, c.PublicKeyID, pub),
				option.WithHTTPClient(&http.Client{Transport: tc.rt, Timeout: 10 * time.Second}))
			if err != nil {
				t.Fatal(err)
			}
			svc := jsapi.JsapiApiService{Client: client}
			resp, _, err := svc.PrepayWithRequestPayment(context.Background(), jsapi.PrepayRequest{
				Appid: core.String(c.AppID), Mchid: core.String(c.MchID), Description: core.String("Siyu test"),
				OutTradeNo: core.String("SY" + time.Now().Format("150405.000000")[7:] + tc.name[:2]),
				NotifyUrl:  core.String("https://siyu.example/callbacks/wxpay/transactions"),
				Amount:     &jsapi.Amount{Total: core.Int64(100), Currency: core.String("CNY")},
				Payer:      &jsapi.Payer{Openid: core.String("o-transport-" + tc.name)},
			})
			if err != nil || resp.PrepayId == nil || *resp.PrepayId == "" {
				t.Fatalf("prepay: %v", err)
			}
		})
	}
}

// The consoles are mounted under /sandbox/ and the index lists them without
// secrets.
func TestConsoles(t *testing.T) {
	sb := newSandbox(t)
	for _, path := range []string{"/sandbox/", sandbox.ConsoleWeCom + "/groups", sandbox.ConsolePay + "/orders", sandbox.ConsoleMiniProgram + "/subscribe-messages"} {
		rec := httptest.NewRecorder()
		sb.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s = %d %s", path, rec.Code, rec.Body.String())
		}
	}
	rec := httptest.NewRecorder()
	sb.ServeHTTP(rec, httptest.NewRequest("GET", "/sandbox/", nil))
	if body := rec.Body.String(); containsAny(body, sb.Settings()["WECHAT_APP_SECRET"], sb.Settings()["WECHATPAY_APIV3_KEY"]) {
		t.Fatalf("index leaks a secret: %s", body)
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
