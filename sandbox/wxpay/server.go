package wxpay

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/siyu-live/siyu/sandbox/fault"
)

// Server is the sandbox WeChat Pay platform for one merchant. It is safe
// for concurrent use; Close stops its background work (notification
// deliveries, refund settlements).
type Server struct {
	cfg    Config
	keys   *Keys
	creds  Credentials
	faults *fault.Set
	api    http.Handler

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu             sync.Mutex
	closed         bool
	orders         map[string]*order // by out_trade_no
	byTransaction  map[string]*order
	byPrepay       map[string]*order
	refunds        map[string]*refund // by out_refund_no
	notifications  []*notification
	notifyRules    []*NotifyRule
	reorder        int             // how many more notifications to hold back
	held           []*notification // held back, to be sent newest first
	responseProbes int             // how many more API responses carry a probe signature
	migrationTurn  int             // alternates notification signers in ModeMigrating
}

// New starts a platform with cfg's defaults filled in.
func New(cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:           cfg,
		keys:          cfg.Keys,
		faults:        &fault.Set{},
		orders:        map[string]*order{},
		byTransaction: map[string]*order{},
		byPrepay:      map[string]*order{},
		refunds:       map[string]*refund{},
	}
	creds, err := s.credentials()
	if err != nil {
		return nil, err
	}
	s.creds = creds
	s.ctx, s.cancel = context.WithCancel(context.Background())

	mux := http.NewServeMux()
	mux.Handle("/v3/certificates", s.route(http.MethodGet, s.certificates))
	mux.Handle("/v3/pay/transactions/jsapi", s.route(http.MethodPost, s.prepay))
	mux.Handle("/v3/pay/transactions/out-trade-no/{out_trade_no}", s.route(http.MethodGet, s.queryByOutTradeNo))
	mux.Handle("/v3/pay/transactions/out-trade-no/{out_trade_no}/close", s.route(http.MethodPost, s.closeOrder))
	mux.Handle("/v3/pay/transactions/id/{transaction_id}", s.route(http.MethodGet, s.queryByTransactionID))
	mux.Handle("/v3/refund/domestic/refunds", s.route(http.MethodPost, s.createRefund))
	mux.Handle("/v3/refund/domestic/refunds/{out_refund_no}", s.route(http.MethodGet, s.queryRefund))
	// Unknown paths answer 404 with an empty body, as the platform does.
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	}))
	s.api = s.faults.Middleware(mux)
	return s, nil
}

// ServeHTTP serves the platform API at its real paths (/v3/...), behind
// the fault set managed at Console's /faults.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.api.ServeHTTP(w, r) }

// Faults is the fault set in front of the API.
func (s *Server) Faults() *fault.Set { return s.faults }

// Close stops notification deliveries and pending refund settlements and
// waits for them to finish.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// spawn runs fn in the background until Close. The caller holds s.mu, so
// that no spawn races with Close's Wait.
func (s *Server) spawn(fn func(ctx context.Context)) {
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn(s.ctx)
	}()
}

// sleep waits d or until ctx ends, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// route authenticates a request for one API and hands the body it read to h.
func (s *Server) route(method string, h func(w http.ResponseWriter, r *http.Request, body []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, invalidRequest("读取请求体失败"))
			return
		}
		if e := s.authenticate(r, body); e != nil {
			writeError(w, e)
			return
		}
		h(w, r, body)
	})
}

// ProbeResponses makes the next n API responses carry a deliberately wrong
// WECHATPAY/SIGNTEST/ signature, which a merchant that verifies responses
// must reject.
func (s *Server) ProbeResponses(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.responseProbes = max(n, 0)
}

func (s *Server) takeResponseProbe() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.responseProbes == 0 {
		return false
	}
	s.responseProbes--
	return true
}

// Credentials returns what the merchant configures its client with.
func (s *Server) Credentials() Credentials { return s.creds }

func (s *Server) credentials() (Credentials, error) {
	priv, err := privatePEM(s.keys.MerchantKey)
	if err != nil {
		return Credentials{}, err
	}
	pub, err := publicPEM(&s.keys.PublicKey.PublicKey)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{
		MchID:                 s.cfg.MchID,
		AppID:                 s.cfg.AppID,
		MerchantPrivateKeyPEM: priv,
		MerchantSerial:        s.keys.MerchantSerial,
		APIv3Key:              s.cfg.APIv3Key,
		PublicKeyPEM:          pub,
		PublicKeyID:           s.keys.PublicKeyID,
		CertificatePEM:        encodePEM("CERTIFICATE", s.keys.Cert.Raw),
		CertificateSerial:     s.keys.CertSerial(),
		Mode:                  s.cfg.Mode,
	}, nil
}

// Settings returns the settings Siyu needs to talk to this platform, by
// environment variable name. The verification material offered follows the
// mode: a public-key merchant has no platform certificate to configure.
func (s *Server) Settings() map[string]string {
	c := s.creds
	// The names are Siyu's own settings (see `siyu help`). In certificate
	// mode Siyu downloads the platform certificate itself, so it is not listed.
	m := map[string]string{
		"WECHATPAY_MCH_ID":          c.MchID,
		"WECHATPAY_MCH_CERT_SERIAL": c.MerchantSerial,
		"WECHATPAY_MCH_PRIVATE_KEY": c.MerchantPrivateKeyPEM,
		"WECHATPAY_APIV3_KEY":       c.APIv3Key,
		"WECHATPAY_VERIFY_MODE":     string(c.Mode),
	}
	if c.Mode != ModeCertificate {
		m["WECHATPAY_PUBLIC_KEY_ID"] = c.PublicKeyID
		m["WECHATPAY_PUBLIC_KEY"] = c.PublicKeyPEM
	}
	return m
}
