package miniprogram

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// randomBytes returns n bytes from the system's secure source, which never
// fails on supported platforms.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// newAccessToken returns a token shaped like the platform's: a short numeric
// prefix and about 130 URL-safe characters, so that clients sized for real
// tokens (at least 512 characters of storage) are exercised honestly.
func newAccessToken() string {
	return "91_" + base64.RawURLEncoding.EncodeToString(randomBytes(96))
}

// newLoginCode returns a wx.login code: 32 characters, as the platform's.
func newLoginCode() string {
	return strings.ToLower(rand.Text() + rand.Text())[:32]
}

// newPhoneCode returns a phone-number button code: 64 hex characters, as the
// platform's.
func newPhoneCode() string {
	return hex.EncodeToString(randomBytes(32))
}

// newSessionKey returns a session key: base64 of 16 random bytes.
func newSessionKey() string {
	return base64.StdEncoding.EncodeToString(randomBytes(16))
}

// newTraceID returns a content-security trace id shaped like the platform's
// ("63576133-0b1a7344-7e107045").
func newTraceID() string {
	h := hex.EncodeToString(randomBytes(12))
	return h[:8] + "-" + h[8:16] + "-" + h[16:]
}
