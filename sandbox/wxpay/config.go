package wxpay

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Mode is how the platform signs what it sends the merchant: API responses
// (Wechatpay-Serial, Wechatpay-Signature) and notifications.
type Mode string

const (
	// ModePublicKey signs with the WeChat Pay public key; Wechatpay-Serial
	// carries its PUB_KEY_ID_ id. Every merchant registered since late
	// 2024 is in this mode, and for them GET /v3/certificates answers 404.
	ModePublicKey Mode = "public_key"
	// ModeCertificate signs with the platform certificate; Wechatpay-Serial
	// carries the certificate's serial, downloadable from /v3/certificates.
	ModeCertificate Mode = "certificate"
	// ModeMigrating is a merchant switching from certificate to public key
	// ("平台证书切换微信支付公钥" gray period): both are published, responses
	// carry the certificate serial unless the request's Wechatpay-Serial
	// names the public key id, and notifications alternate between the two
	// signatures.
	ModeMigrating Mode = "migrating"
)

// ErrConfig is returned by New for a configuration that cannot work.
var ErrConfig = errors.New("wxpay: invalid config")

// Config configures a Server. Every field has a sensible default.
type Config struct {
	// MchID is the merchant id (default 1230000109, the documentation's).
	MchID string
	// AppID is the mini-program appid bound to the merchant (default
	// wx8888888888888888); prepay requests naming another appid fail with
	// APPID_MCHID_NOT_MATCH.
	AppID string
	// Mode chooses the platform's signing key (default ModePublicKey).
	Mode Mode
	// APIv3Key is the 32-character key notifications and downloaded
	// certificates are encrypted with (default: random).
	APIv3Key string
	// Keys is the key material (default: GenerateKeys, which is slow).
	Keys *Keys
	// Now is the platform's clock for everything it records: order times,
	// time_expire, prepay lifetimes, success and refund times (default
	// time.Now). Tests move it to expire orders.
	Now func() time.Time
	// SignatureNow is the clock for signature timestamps and for the
	// five-minute window requests must fall in (default time.Now). It is
	// separate from Now because wechatpay-go stamps its requests and checks
	// responses and notifications against time.Now, whatever Now says.
	SignatureNow func() time.Time
	// TimeScale multiplies the platform's own waits: the notification retry
	// schedule and RefundDelay (default 1; 0.001 makes 15s take 15ms).
	TimeScale float64
	// HTTPClient delivers notifications (default a plain http.Client).
	HTTPClient *http.Client
	// NotifyTimeout is how long the platform waits for the merchant to
	// answer a notification before counting the attempt failed (default 5s,
	// the documented limit; not scaled).
	NotifyTimeout time.Duration
	// RefundDelay is how long a refund stays PROCESSING before it succeeds
	// on its own (default 5s, scaled by TimeScale).
	RefundDelay time.Duration
	// ManualRefunds keeps refunds PROCESSING until SettleRefund says how
	// they end, instead of succeeding after RefundDelay.
	ManualRefunds bool
	// AutoCloseAfter is how long an unpaid order lives before the platform
	// closes it by itself (default 7 days).
	AutoCloseAfter time.Duration
}

func (c *Config) defaults() error {
	if c.MchID == "" {
		c.MchID = "1230000109"
	}
	if c.AppID == "" {
		c.AppID = "wx8888888888888888"
	}
	switch c.Mode {
	case "":
		c.Mode = ModePublicKey
	case ModePublicKey, ModeCertificate, ModeMigrating:
	default:
		return fmt.Errorf("%w: mode %q is none of public_key, certificate, migrating", ErrConfig, c.Mode)
	}
	if c.APIv3Key == "" {
		c.APIv3Key = pick(alnum, 32)
	}
	// AEAD_AES_256_GCM uses the key's bytes as they are: exactly 32 of them.
	if len(c.APIv3Key) != 32 {
		return fmt.Errorf("%w: the APIv3 key must be 32 bytes, not %d", ErrConfig, len(c.APIv3Key))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SignatureNow == nil {
		c.SignatureNow = time.Now
	}
	if c.TimeScale < 0 {
		return fmt.Errorf("%w: negative time scale", ErrConfig)
	}
	if c.TimeScale == 0 {
		c.TimeScale = 1
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.NotifyTimeout <= 0 {
		c.NotifyTimeout = 5 * time.Second
	}
	if c.RefundDelay <= 0 {
		c.RefundDelay = 5 * time.Second
	}
	if c.AutoCloseAfter <= 0 {
		c.AutoCloseAfter = 7 * 24 * time.Hour
	}
	if c.Keys == nil {
		k, err := GenerateKeys(c.Now())
		if err != nil {
			return err
		}
		c.Keys = k
	}
	return nil
}

// scaled applies TimeScale to one of the platform's own waits.
func (c *Config) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * c.TimeScale)
}

// retrySchedule is the documented wait before each redelivery of a
// notification the merchant did not acknowledge: 15s/15s/30s/3m/10m/20m/
// 30m/30m/30m/60m/3h/3h/3h/6h/6h, 24h4m in all; after the last the
// platform gives up.
func retrySchedule() []time.Duration {
	return []time.Duration{
		15 * time.Second, 15 * time.Second, 30 * time.Second,
		3 * time.Minute, 10 * time.Minute, 20 * time.Minute,
		30 * time.Minute, 30 * time.Minute, 30 * time.Minute,
		60 * time.Minute, 3 * time.Hour, 3 * time.Hour,
		3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
	}
}
