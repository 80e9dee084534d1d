package wxpay

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
)

// The header names WeChat Pay signs with (wechatpay-go's consts).
const (
	headerTimestamp = "Wechatpay-Timestamp"
	headerNonce     = "Wechatpay-Nonce"
	headerSignature = "Wechatpay-Signature"
	headerSerial    = "Wechatpay-Serial"
	headerSigType   = "Wechatpay-Signature-Type"
	headerRequestID = "Request-ID"
	signatureType   = "WECHATPAY2-SHA256-RSA2048"
	// probePrefix starts the deliberately wrong signatures WeChat Pay sends
	// to check that merchants really verify ("WECHATPAY/SIGNTEST/").
	probePrefix = "WECHATPAY/SIGNTEST/"
)

// signer is one of the platform's two signing identities: the public key
// with its PUB_KEY_ID_ id, or the platform certificate with its serial.
type signer struct {
	serial string
	key    *rsa.PrivateKey
}

func (s *Server) publicKeySigner() signer {
	return signer{serial: s.keys.PublicKeyID, key: s.keys.PublicKey}
}

func (s *Server) certSigner() signer {
	return signer{serial: s.keys.CertSerial(), key: s.keys.CertKey}
}

// responseSigner picks the identity that signs an API response. During a
// migration the platform honours the Wechatpay-Serial a request names
// (wechatpay-go sends the serial its verifier holds), defaulting to the
// certificate the merchant has been using.
func (s *Server) responseSigner(r *http.Request) signer {
	switch s.cfg.Mode {
	case ModePublicKey:
		return s.publicKeySigner()
	case ModeCertificate:
		return s.certSigner()
	default:
		if r.Header.Get(headerSerial) == s.keys.PublicKeyID {
			return s.publicKeySigner()
		}
		return s.certSigner()
	}
}

// signSHA256 is SHA256withRSA (PKCS #1 v1.5), base64-encoded.
func signSHA256(key *rsa.PrivateKey, message string) (string, error) {
	sum := sha256.Sum256([]byte(message))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// verifySHA256 checks a base64 SHA256withRSA signature.
func verifySHA256(key *rsa.PublicKey, message, signature string) error {
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("signature is not base64: %w", err)
	}
	sum := sha256.Sum256([]byte(message))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}

// signedHeaders computes the headers that let the merchant verify body:
// the signed message is TIMESTAMP\nNONCE\nBODY\n. A probe carries a
// WECHATPAY/SIGNTEST/ signature that no key verifies.
func (s *Server) signedHeaders(sg signer, body []byte, probe bool) (http.Header, error) {
	ts := strconv.FormatInt(s.cfg.SignatureNow().Unix(), 10)
	n := nonce()
	var sig string
	if probe {
		sig = probePrefix + base64.StdEncoding.EncodeToString([]byte(pick(alnum, 48)))
	} else {
		var err error
		sig, err = signSHA256(sg.key, ts+"\n"+n+"\n"+string(body)+"\n")
		if err != nil {
			return nil, err
		}
	}
	h := http.Header{}
	h.Set(headerTimestamp, ts)
	h.Set(headerNonce, n)
	h.Set(headerSignature, sig)
	h.Set(headerSerial, sg.serial)
	h.Set(headerSigType, signatureType)
	return h, nil
}

// sealed is an AEAD_AES_256_GCM ciphertext as WeChat Pay writes it in
// notification resources and downloaded certificates.
type sealed struct {
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	OriginalType   string `json:"original_type,omitempty"`
	Nonce          string `json:"nonce"`
}

// seal encrypts plaintext under the APIv3 key. The key, the 12-character
// nonce and the associated data are used as the raw bytes of their
// strings, and the ciphertext is base64 of ciphertext||tag.
func seal(apiV3Key, associated string, plaintext []byte) (sealed, error) {
	block, err := aes.NewCipher([]byte(apiV3Key))
	if err != nil {
		return sealed{}, fmt.Errorf("aes: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return sealed{}, fmt.Errorf("gcm: %w", err)
	}
	n := pick(alnum, gcm.NonceSize())
	out := gcm.Seal(nil, []byte(n), plaintext, []byte(associated))
	return sealed{
		Algorithm:      "AEAD_AES_256_GCM",
		Ciphertext:     base64.StdEncoding.EncodeToString(out),
		AssociatedData: associated,
		Nonce:          n,
	}, nil
}
