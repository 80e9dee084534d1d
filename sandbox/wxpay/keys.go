package wxpay

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Keys are the key material of one merchant and of the WeChat Pay platform
// that serves it. Generating them is slow (three RSA-2048 keys), so tests
// generate them once with GenerateKeys and hand the same Keys to every
// Server through Config.Keys.
type Keys struct {
	// MerchantKey is the merchant's API certificate private key
	// (apiclient_key.pem); requests must be signed with it.
	MerchantKey *rsa.PrivateKey
	// MerchantSerial is the serial number of the merchant's API certificate,
	// the serial_no every Authorization header names.
	MerchantSerial string
	// PublicKey is the WeChat Pay public key pair ("微信支付公钥"); the
	// platform signs with its private half in public-key mode.
	PublicKey *rsa.PrivateKey
	// PublicKeyID names PublicKey in Wechatpay-Serial: PUB_KEY_ID_ and digits.
	PublicKeyID string
	// CertKey is the private key of the platform certificate; the platform
	// signs with it in certificate mode. Real WeChat Pay never uses the same
	// key for its public key and its certificates, so neither do we: a
	// merchant that verifies with the wrong one fails here as it would there.
	CertKey *rsa.PrivateKey
	// Cert is the self-signed platform certificate ("平台证书") over CertKey.
	Cert *x509.Certificate
}

// GenerateKeys makes fresh key material: the merchant key and certificate
// serial, the WeChat Pay public key with its PUB_KEY_ID_ id, and a
// self-signed platform certificate valid from now for five years.
func GenerateKeys(now time.Time) (*Keys, error) {
	var k Keys
	var err error
	if k.MerchantKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, fmt.Errorf("generate merchant key: %w", err)
	}
	if k.PublicKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, fmt.Errorf("generate platform public key: %w", err)
	}
	if k.CertKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, fmt.Errorf("generate platform certificate key: %w", err)
	}
	serial, err := certSerial()
	if err != nil {
		return nil, err
	}
	k.MerchantSerial = strings.ToUpper(serial.Text(16))
	// Real ids look like PUB_KEY_ID_0114232806732025041600385000001234.
	k.PublicKeyID = "PUB_KEY_ID_01" + digits(32)
	if k.Cert, err = selfSigned(k.CertKey, now); err != nil {
		return nil, err
	}
	return &k, nil
}

// CertSerial is the platform certificate's serial number as WeChat Pay
// writes it: upper-case hex, the form wechatpay-go's
// utils.GetCertificateSerialNumber produces.
func (k *Keys) CertSerial() string {
	return fmt.Sprintf("%X", k.Cert.SerialNumber.Bytes())
}

// certSerial draws a positive 20-byte serial whose hex form has 40 digits.
func certSerial() (*big.Int, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("draw certificate serial: %w", err)
	}
	// A first byte in 0x10..0x7f keeps the number positive and 40 hex digits long.
	b[0] = 0x10 + b[0]%0x70
	return new(big.Int).SetBytes(b), nil
}

func selfSigned(key *rsa.PrivateKey, now time.Time) (*x509.Certificate, error) {
	serial, err := certSerial()
	if err != nil {
		return nil, err
	}
	tpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Country:            []string{"CN"},
			Organization:       []string{"Tenpay.com"},
			OrganizationalUnit: []string{"Tenpay.com CA Center"},
			CommonName:         "Tenpay.com Root CA (sandbox)",
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create platform certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse platform certificate: %w", err)
	}
	return cert, nil
}

// Credentials are what a merchant configures its WeChat Pay client with.
type Credentials struct {
	MchID string `json:"mchid"`
	AppID string `json:"appid"`
	// MerchantPrivateKeyPEM is PKCS#8 ("PRIVATE KEY"), as apiclient_key.pem
	// and wechatpay-go's utils.LoadPrivateKey expect.
	MerchantPrivateKeyPEM string `json:"merchant_private_key_pem"`
	MerchantSerial        string `json:"merchant_serial"`
	APIv3Key              string `json:"apiv3_key"`
	// PublicKeyPEM is PKIX ("PUBLIC KEY"), as pub_key.pem downloaded from
	// the merchant platform and utils.LoadPublicKey expect.
	PublicKeyPEM string `json:"public_key_pem"`
	PublicKeyID  string `json:"public_key_id"`
	// CertificatePEM is the platform certificate; merchants in certificate
	// mode usually download it through GET /v3/certificates instead.
	CertificatePEM    string `json:"certificate_pem"`
	CertificateSerial string `json:"certificate_serial"`
	// Mode is how the platform signs responses and notifications.
	Mode Mode `json:"mode"`
}

func encodePEM(kind string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}))
}

func privatePEM(key *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("marshal private key: %w", err)
	}
	return encodePEM("PRIVATE KEY", der), nil
}

func publicPEM(key *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return "", fmt.Errorf("marshal public key: %w", err)
	}
	return encodePEM("PUBLIC KEY", der), nil
}
