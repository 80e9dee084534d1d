package payments

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	wxpayments "github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// How Siyu verifies what WeChat Pay signs.
const (
	// VerifyPublicKey uses the WeChat Pay public key (PUB_KEY_ID_…), the
	// mode of every merchant registered since late 2024.
	VerifyPublicKey = "public_key"
	// VerifyCertificate uses the platform certificates, downloaded from
	// /v3/certificates and refreshed daily.
	VerifyCertificate = "certificate"
	// VerifyMigrating is a merchant switching from certificates to the
	// public key: API calls use the public key, and notifications, which
	// come signed either way during the switch, go through the combined
	// verifier.
	VerifyMigrating = "migrating"
)

// WeChatPayConfig is a merchant's WeChat Pay credentials.
type WeChatPayConfig struct {
	AppID            string
	MchID            string
	MchCertSerial    string
	MchPrivateKeyPEM string
	APIv3Key         string
	PublicKeyID      string
	PublicKeyPEM     string
	// Verify is VerifyPublicKey, VerifyCertificate or VerifyMigrating;
	// empty means public key when PublicKeyID is set, else certificate.
	Verify     string
	NotifyURL  string
	RefundURL  string
	HTTPClient *http.Client
}

// WeChatPay is the wechatpay-go client wrapped for the service: it
// implements Pay, and its NotifyHandler verifies and decrypts
// notifications for Notifications.
type WeChatPay struct {
	cfg     WeChatPayConfig
	client  *core.Client
	jsapi   jsapi.JsapiApiService
	refunds refunddomestic.RefundsApiService
	notify  *notify.Handler
	mgr     *downloader.CertificateDownloaderMgr
}

// NewWeChatPay builds the client. In certificate and migrating modes it
// downloads the platform certificates once before returning, through its
// own downloader manager (not the SDK's process-wide one).
func NewWeChatPay(ctx context.Context, cfg WeChatPayConfig) (*WeChatPay, error) {
	if cfg.Verify == "" {
		cfg.Verify = VerifyCertificate
		if cfg.PublicKeyID != "" {
			cfg.Verify = VerifyPublicKey
		}
	}
	if len(cfg.APIv3Key) != 32 {
		return nil, fmt.Errorf("wechat pay: the APIv3 key must be 32 characters, not %d", len(cfg.APIv3Key))
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	key, err := utils.LoadPrivateKey(cfg.MchPrivateKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("wechat pay: merchant private key: %w", err)
	}
	var pub *rsa.PublicKey
	if cfg.Verify != VerifyCertificate {
		if cfg.PublicKeyID == "" {
			return nil, fmt.Errorf("wechat pay: %s mode needs the public key id and key", cfg.Verify)
		}
		if pub, err = utils.LoadPublicKey(cfg.PublicKeyPEM); err != nil {
			return nil, fmt.Errorf("wechat pay: public key: %w", err)
		}
	}
	w := &WeChatPay{cfg: cfg}
	var certs core.CertificateGetter
	if cfg.Verify != VerifyPublicKey {
		dl, err := core.NewClient(ctx, option.WithMerchantCredential(cfg.MchID, cfg.MchCertSerial, key),
			option.WithoutValidator(), option.WithHTTPClient(cfg.HTTPClient))
		if err != nil {
			return nil, fmt.Errorf("wechat pay: certificate client: %w", err)
		}
		// The manager's refresh goroutine lives until Close.
		w.mgr = downloader.NewCertificateDownloaderMgr(context.WithoutCancel(ctx))
		if err := w.mgr.RegisterDownloaderWithClient(ctx, dl, cfg.MchID, cfg.APIv3Key); err != nil {
			w.mgr.Stop()
			return nil, fmt.Errorf("wechat pay: download platform certificates: %w", err)
		}
		certs = w.mgr.GetCertificateVisitor(cfg.MchID)
	}
	var opt core.ClientOption
	var verifier auth.Verifier
	switch cfg.Verify {
	case VerifyPublicKey:
		opt = option.WithWechatPayPublicKeyAuthCipher(cfg.MchID, cfg.MchCertSerial, key, cfg.PublicKeyID, pub)
		verifier = verifiers.NewSHA256WithRSAPubkeyVerifier(cfg.PublicKeyID, *pub)
	case VerifyCertificate:
		opt = option.WithWechatPayAutoAuthCipherUsingDownloaderMgr(cfg.MchID, cfg.MchCertSerial, key, w.mgr)
		verifier = verifiers.NewSHA256WithRSAVerifier(certs)
	case VerifyMigrating:
		opt = option.WithWechatPayPublicKeyAuthCipher(cfg.MchID, cfg.MchCertSerial, key, cfg.PublicKeyID, pub)
		verifier = verifiers.NewSHA256WithRSACombinedVerifier(certs, cfg.PublicKeyID, *pub)
	default:
		return nil, fmt.Errorf("wechat pay: verify mode %q is none of public_key, certificate, migrating", cfg.Verify)
	}
	if w.client, err = core.NewClient(ctx, opt, option.WithHTTPClient(cfg.HTTPClient)); err != nil {
		w.Close()
		return nil, fmt.Errorf("wechat pay: client: %w", err)
	}
	if w.notify, err = notify.NewRSANotifyHandler(cfg.APIv3Key, verifier); err != nil {
		w.Close()
		return nil, fmt.Errorf("wechat pay: notify handler: %w", err)
	}
	w.jsapi = jsapi.JsapiApiService{Client: w.client}
	w.refunds = refunddomestic.RefundsApiService{Client: w.client}
	return w, nil
}

// Close stops the certificate refresh.
func (w *WeChatPay) Close() {
	if w.mgr != nil {
		w.mgr.Stop()
	}
}

// NotifyHandler verifies and decrypts notifications.
func (w *WeChatPay) NotifyHandler() *notify.Handler { return w.notify }

// AppID implements Pay.
func (w *WeChatPay) AppID() string { return w.cfg.AppID }

// MchID implements Pay.
func (w *WeChatPay) MchID() string { return w.cfg.MchID }

// Certificates returns the platform certificates held (certificate and
// migrating modes), by serial.
func (w *WeChatPay) Certificates(ctx context.Context) map[string]*x509.Certificate {
	if w.mgr == nil {
		return nil
	}
	return w.mgr.GetCertificateMap(ctx, w.cfg.MchID)
}

// apiCode returns the WeChat Pay error code of err, or "".
func apiCode(err error) string {
	var ae *core.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// description fits WeChat Pay's 127-character limit.
func description(s string) string {
	if utf8.RuneCountInString(s) <= 127 {
		return s
	}
	r := []rune(s)
	return string(r[:126]) + "…"
}

// Prepay implements Pay with PrepayWithRequestPayment.
func (w *WeChatPay) Prepay(ctx context.Context, req PrepayRequest) (PayParams, error) {
	in := jsapi.PrepayRequest{
		Appid:       core.String(w.cfg.AppID),
		Mchid:       core.String(w.cfg.MchID),
		Description: core.String(description(req.Description)),
		OutTradeNo:  core.String(req.OutTradeNo),
		NotifyUrl:   core.String(w.cfg.NotifyURL),
		Amount:      &jsapi.Amount{Total: core.Int64(req.Total), Currency: core.String("CNY")},
		Payer:       &jsapi.Payer{Openid: core.String(req.OpenID)},
	}
	if !req.TimeExpire.IsZero() {
		// WeChat Pay compares instants; whole seconds keep a repeated
		// prepay identical to the first.
		in.TimeExpire = core.Time(req.TimeExpire.Truncate(time.Second))
	}
	if req.Attach != "" {
		in.Attach = core.String(req.Attach)
	}
	resp, _, err := w.jsapi.PrepayWithRequestPayment(ctx, in)
	if err != nil {
		return PayParams{}, fmt.Errorf("prepay %s: %w", req.OutTradeNo, err)
	}
	return PayParams{TimeStamp: *resp.TimeStamp, NonceStr: *resp.NonceStr, Package: *resp.Package,
		SignType: *resp.SignType, PaySign: *resp.PaySign}, nil
}

// QueryOrder implements Pay.
func (w *WeChatPay) QueryOrder(ctx context.Context, no string) (Transaction, error) {
	tx, _, err := w.jsapi.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String(no), Mchid: core.String(w.cfg.MchID)})
	if err != nil {
		if apiCode(err) == "ORDER_NOT_EXIST" {
			return Transaction{}, fmt.Errorf("%w: %s", ErrWeChatOrderNotFound, no)
		}
		return Transaction{}, fmt.Errorf("query %s: %w", no, err)
	}
	return transactionOf(tx), nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func num(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// transactionOf converts wechatpay-go's transaction.
func transactionOf(tx *wxpayments.Transaction) Transaction {
	t := Transaction{AppID: str(tx.Appid), MchID: str(tx.Mchid), OutTradeNo: str(tx.OutTradeNo),
		TransactionID: str(tx.TransactionId), TradeState: str(tx.TradeState)}
	if tx.Amount != nil {
		t.Total, t.PayerTotal = num(tx.Amount.Total), num(tx.Amount.PayerTotal)
	}
	if tx.Payer != nil {
		t.OpenID = str(tx.Payer.Openid)
	}
	if ts, err := time.Parse(time.RFC3339, str(tx.SuccessTime)); err == nil {
		t.SuccessTime = ts.UTC()
	}
	return t
}

// CloseOrder implements Pay.
func (w *WeChatPay) CloseOrder(ctx context.Context, no string) error {
	_, err := w.jsapi.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: core.String(no), Mchid: core.String(w.cfg.MchID)})
	switch apiCode(err) {
	case "":
		if err != nil {
			return fmt.Errorf("close %s: %w", no, err)
		}
		return nil
	case "ORDERPAID":
		return fmt.Errorf("%w: %s", ErrWeChatOrderPaid, no)
	case "ORDER_NOT_EXIST":
		return fmt.Errorf("%w: %s", ErrWeChatOrderNotFound, no)
	default:
		return fmt.Errorf("close %s: %w", no, err)
	}
}

// Refund implements Pay.
func (w *WeChatPay) Refund(ctx context.Context, req RefundRequest) (RefundResult, error) {
	in := refunddomestic.CreateRequest{
		OutTradeNo:  core.String(req.OutTradeNo),
		OutRefundNo: core.String(req.OutRefundNo),
		NotifyUrl:   core.String(w.cfg.RefundURL),
		Amount:      &refunddomestic.AmountReq{Refund: core.Int64(req.Amount), Total: core.Int64(req.Total), Currency: core.String("CNY")},
	}
	if req.Reason != "" {
		r := []rune(req.Reason)
		if len(r) > 80 {
			r = r[:80]
		}
		in.Reason = core.String(string(r))
	}
	rf, _, err := w.refunds.Create(ctx, in)
	if err != nil {
		return RefundResult{}, fmt.Errorf("refund %s: %w", req.OutRefundNo, err)
	}
	return refundOf(rf), nil
}

// QueryRefund implements Pay.
func (w *WeChatPay) QueryRefund(ctx context.Context, no string) (RefundResult, error) {
	rf, _, err := w.refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(no)})
	if err != nil {
		if apiCode(err) == "RESOURCE_NOT_EXISTS" {
			return RefundResult{}, fmt.Errorf("%w: %s", ErrWeChatOrderNotFound, no)
		}
		return RefundResult{}, fmt.Errorf("query refund %s: %w", no, err)
	}
	return refundOf(rf), nil
}

func refundOf(rf *refunddomestic.Refund) RefundResult {
	r := RefundResult{OutTradeNo: str(rf.OutTradeNo), OutRefundNo: str(rf.OutRefundNo), RefundID: str(rf.RefundId)}
	if rf.Status != nil {
		r.Status = string(*rf.Status)
	}
	if rf.Amount != nil {
		r.Amount, r.Total = num(rf.Amount.Refund), num(rf.Amount.Total)
	}
	return r
}
