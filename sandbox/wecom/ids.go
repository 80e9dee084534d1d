package wecom

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// random returns n bytes from the configured source. A failing source is a
// broken sandbox, not a condition callers can handle, so it panics.
func (s *Server) random(n int) []byte {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	b := make([]byte, n)
	if _, err := io.ReadFull(s.cfg.Random, b); err != nil {
		panic(fmt.Sprintf("wecom: random source failed: %v", err))
	}
	return b
}

// randomHex returns 2n lowercase hex digits.
func (s *Server) randomHex(n int) string { return hex.EncodeToString(s.random(n)) }

// randomID returns n characters of the URL-safe alphabet WeCom ids use.
func (s *Server) randomID(n int) string {
	return base64.RawURLEncoding.EncodeToString(s.random(n))[:n]
}

// randomDigits returns n decimal digits, the shape of WeCom's callback nonce.
func (s *Server) randomDigits(n int) string {
	var b strings.Builder
	for _, c := range s.random(n) {
		b.WriteByte('0' + c%10)
	}
	return b.String()
}

// derivedID returns prefix followed by 30 URL-safe characters derived from
// parts, so the same inputs always give the same id (32 characters in all,
// the length of real external_userid, chat_id and tag ids).
func derivedID(prefix string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return prefix + base64.RawURLEncoding.EncodeToString(sum[:])[:30]
}

// ExternalUserID returns the external_userid the corp sees for the WeChat
// user with unionID. It is stable: the same person always has the same id.
func (s *Server) ExternalUserID(unionID string) string {
	return derivedID("wm", s.cfg.CorpID, "external_userid", unionID)
}

// memberVersion is the member_version / CurMemVer of a member list: an MD5
// hex digest, as WeCom's versions look, that changes whenever members do.
func memberVersion(userIDs []string) string {
	sum := md5.Sum([]byte(strings.Join(userIDs, ",")))
	return hex.EncodeToString(sum[:])
}
