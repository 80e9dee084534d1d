package wxpay

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// sharedKeys are generated once per test binary: three RSA-2048 keys take
// seconds under -race, and every test would otherwise pay for them.
var sharedKeys = sync.OnceValues(func() (*Keys, error) { return GenerateKeys(time.Now()) })

// clock is a platform clock a test can move.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newServer starts a platform for one test, with the shared keys, a
// merchant id of its own (wechatpay-go keeps certificate downloaders in a
// process-wide map keyed by merchant id) and fast waits, and notifications
// routed to m when m is not nil.
func newServer(t *testing.T, cfg Config, m *merchant) *Server {
	t.Helper()
	keys, err := sharedKeys()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Keys = keys
	if cfg.MchID == "" {
		cfg.MchID = "19" + digits(8)
	}
	if cfg.TimeScale == 0 {
		cfg.TimeScale = 0.001
	}
	if m != nil {
		cfg.HTTPClient = &http.Client{Transport: handlerTransport{m}}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// handlerTransport serves every request with h inside the process,
// keeping the request URI exactly as the client wrote it.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	in := httptest.NewRequestWithContext(r.Context(), r.Method, r.URL.RequestURI(), bytes.NewReader(body))
	in.Header = r.Header.Clone()
	in.Host = r.URL.Host
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// apiHTTPClient reaches s's API in-process.
func apiHTTPClient(s *Server) *http.Client {
	return &http.Client{Transport: handlerTransport{s}, Timeout: 10 * time.Second}
}

// creds are the server's credentials loaded the way a merchant would load
// them, through wechatpay-go's PEM helpers.
type creds struct {
	Credentials
	key  *rsa.PrivateKey
	pub  *rsa.PublicKey
	cert *x509.Certificate
}

func loadCreds(t *testing.T, s *Server) creds {
	t.Helper()
	c := creds{Credentials: s.Credentials()}
	var err error
	if c.key, err = utils.LoadPrivateKey(c.MerchantPrivateKeyPEM); err != nil {
		t.Fatal(err)
	}
	if c.pub, err = utils.LoadPublicKey(c.PublicKeyPEM); err != nil {
		t.Fatal(err)
	}
	if c.cert, err = utils.LoadCertificate(c.CertificatePEM); err != nil {
		t.Fatal(err)
	}
	return c
}

// verifyWith says how a test merchant verifies the platform.
type verifyWith string

const (
	withPublicKey   verifyWith = "public key"
	withCertificate verifyWith = "downloaded certificate"
)

// sdkClient is the unmodified wechatpay-go client configured as a merchant
// would: WithWechatPayPublicKeyAuthCipher, or WithWechatPayAutoAuthCipher,
// whose downloader is registered first with a client that reaches the
// sandbox (WithWechatPayAutoAuthCipher's own would dial the real host).
func sdkClient(t *testing.T, s *Server, how verifyWith) *core.Client {
	t.Helper()
	c := loadCreds(t, s)
	ctx := context.Background()
	hc := apiHTTPClient(s)
	var opt core.ClientOption
	switch how {
	case withPublicKey:
		opt = option.WithWechatPayPublicKeyAuthCipher(c.MchID, c.MerchantSerial, c.key, c.PublicKeyID, c.pub)
	case withCertificate:
		dl, err := core.NewClient(ctx,
			option.WithMerchantCredential(c.MchID, c.MerchantSerial, c.key),
			option.WithoutValidator(),
			option.WithHTTPClient(hc))
		if err != nil {
			t.Fatal(err)
		}
		mgr := downloader.MgrInstance()
		if err := mgr.RegisterDownloaderWithClient(ctx, dl, c.MchID, c.APIv3Key); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mgr.RemoveDownloader(ctx, c.MchID) })
		opt = option.WithWechatPayAutoAuthCipher(c.MchID, c.MerchantSerial, c.key, c.APIv3Key)
	}
	client, err := core.NewClient(ctx, opt, option.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// notifyVerifier is the verifier a merchant in mode passes to
// notify.NewRSANotifyHandler.
func notifyVerifier(t *testing.T, s *Server, mode Mode) auth.Verifier {
	c := loadCreds(t, s)
	certs := core.NewCertificateMapWithList([]*x509.Certificate{c.cert})
	switch mode {
	case ModePublicKey:
		return verifiers.NewSHA256WithRSAPubkeyVerifier(c.PublicKeyID, *c.pub)
	case ModeCertificate:
		return verifiers.NewSHA256WithRSAVerifier(certs)
	default:
		return verifiers.NewSHA256WithRSACombinedVerifier(certs, c.PublicKeyID, *c.pub)
	}
}

func notifyHandler(t *testing.T, s *Server, mode Mode) *notify.Handler {
	t.Helper()
	h, err := notify.NewRSANotifyHandler(s.Credentials().APIv3Key, notifyVerifier(t, s, mode))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// received is one notification request as the merchant got it.
type received struct {
	header http.Header
	body   []byte
	at     time.Time
}

// request rebuilds the notification as an *http.Request, the form
// notify.Handler takes.
func (r received) request() *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/notify", bytes.NewReader(r.body))
	req.Header = r.header.Clone()
	return req
}

// merchant is a notify_url: it records every request and answers what
// answer says (200 when answer is nil); when handler is set it verifies
// with it first and answers 401 to what fails, as a merchant must.
type merchant struct {
	mu       sync.Mutex
	got      []received
	answer   func(n int) int
	handler  *notify.Handler
	rejected int
}

func (m *merchant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	m.got = append(m.got, received{header: r.Header.Clone(), body: body, at: time.Now()})
	n := len(m.got)
	answer, handler := m.answer, m.handler
	m.mu.Unlock()
	if handler != nil {
		var content map[string]any
		if _, err := handler.ParseNotifyRequest(context.Background(), received{header: r.Header, body: body}.request(), &content); err != nil {
			m.mu.Lock()
			m.rejected++
			m.mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"code":"FAIL","message":"验签失败"}`))
			return
		}
	}
	status := http.StatusOK
	if answer != nil {
		status = answer(n)
	}
	w.WriteHeader(status)
}

func (m *merchant) rejections() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rejected
}

func (m *merchant) received() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.got...)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// notificationsOf returns the notifications of one event type.
func notificationsOf(s *Server, eventType string) []Notification {
	var out []Notification
	for _, n := range s.Notifications() {
		if n.EventType == eventType {
			out = append(out, n)
		}
	}
	return out
}

// prepayRequest is a valid JSAPI prepay for s.
func validPrepay(s *Server, outTradeNo string, total int64) jsapi.PrepayRequest {
	c := s.Credentials()
	return jsapi.PrepayRequest{
		Appid:       core.String(c.AppID),
		Mchid:       core.String(c.MchID),
		Description: core.String("私域直播间-秒杀 T恤"),
		OutTradeNo:  core.String(outTradeNo),
		NotifyUrl:   core.String("https://shop.example.com/pay/notify"),
		Amount:      &jsapi.Amount{Total: core.Int64(total), Currency: core.String("CNY")},
		Payer:       &jsapi.Payer{Openid: core.String("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")},
	}
}

// rawRequest signs and sends one API request by hand, for cases the SDK
// would refuse to build. key signs it; ts is its timestamp.
func rawRequest(t *testing.T, s *Server, key *rsa.PrivateKey, mchid, serial string, ts time.Time, method, uri string, body []byte) *http.Response {
	t.Helper()
	n := nonce()
	msg := method + "\n" + uri + "\n" + strconv.FormatInt(ts.Unix(), 10) + "\n" + n + "\n" + string(body) + "\n"
	sig, err := signSHA256(key, msg)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(method, uri, bytes.NewReader(body))
	req.Header.Set("Authorization", signatureType+` mchid="`+mchid+`",nonce_str="`+n+`",signature="`+sig+`",timestamp="`+strconv.FormatInt(ts.Unix(), 10)+`",serial_no="`+serial+`"`)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec.Result()
}

// call sends a request signed properly by the merchant.
func call(t *testing.T, s *Server, method, uri string, body any) *http.Response {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	return rawRequest(t, s, s.keys.MerchantKey, s.cfg.MchID, s.keys.MerchantSerial, time.Now(), method, uri, b)
}

// apiErr reads an error answer.
func apiErr(t *testing.T, resp *http.Response) (int, string, string) {
	t.Helper()
	defer resp.Body.Close()
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("error body %q: %v", b, err)
		}
	}
	return resp.StatusCode, e.Code, e.Message
}

// sdkCode is the APIv3 error code inside a wechatpay-go error.
func sdkCode(err error) (int, string) {
	var e *core.APIError
	if errors.As(err, &e) {
		return e.StatusCode, e.Code
	}
	return 0, ""
}

func itoa(n int64) string             { return strconv.FormatInt(n, 10) }
func stringReader(s string) io.Reader { return bytes.NewReader([]byte(s)) }
func toLower(s string) string         { return string(bytes.ToLower([]byte(s))) }

// receivedFor finds the request that delivered the notification with id;
// deliveries run concurrently, so arrival order proves nothing.
func (m *merchant) receivedFor(t *testing.T, id string) received {
	t.Helper()
	for _, r := range m.received() {
		if bytes.Contains(r.body, []byte(`"id":"`+id+`"`)) {
			return r
		}
	}
	t.Fatalf("notification %s never arrived", id)
	return received{}
}
