package community

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// SessionKey is a member's WeChat session_key. It never prints, logs or
// marshals as its value: fmt, slog and encoding/json all see a placeholder,
// so a careless log line or answer cannot leak it.
type SessionKey []byte

const redacted = "[session_key redacted]"

// String hides the key from fmt's %s and %v.
func (SessionKey) String() string { return redacted }

// GoString hides the key from fmt's %#v.
func (SessionKey) GoString() string { return redacted }

// LogValue hides the key from slog.
func (SessionKey) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON hides the key from encoding/json.
func (SessionKey) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText hides the key from text encoders.
func (SessionKey) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// errSealed is returned when a stored session key cannot be opened: the
// data was changed or SIYU_SECRET_KEY is not the key that sealed it.
var errSealed = errors.New("community: stored session_key cannot be opened (wrong SIYU_SECRET_KEY or altered data)")

// sealPrefix versions the sealed format: "v1:" + base64(nonce || AES-256-GCM
// ciphertext and tag).
const sealPrefix = "v1:"

// sealer encrypts session keys at rest with AES-256-GCM. The member ID is
// the additional data, so a sealed key copied onto another member's row
// does not open.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("community: the secret key must be 32 bytes, not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("community: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("community: %w", err)
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(memberID string, key SessionKey) string {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand never fails on supported platforms
	out := s.aead.Seal(nonce, nonce, key, []byte(memberID))
	return sealPrefix + base64.StdEncoding.EncodeToString(out)
}

func (s *sealer) open(memberID, sealed string) (SessionKey, error) {
	raw, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return nil, errSealed
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(b) < s.aead.NonceSize() {
		return nil, errSealed
	}
	n := s.aead.NonceSize()
	key, err := s.aead.Open(nil, b[:n], b[n:], []byte(memberID))
	if err != nil {
		return nil, errSealed
	}
	return key, nil
}
