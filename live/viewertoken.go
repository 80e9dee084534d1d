package live

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"strconv"
	"sync"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
)

// viewerSigner signs viewer tokens: the same JWT the SDK makes (HS256,
// the SDK's claim names, every grant explicit), made the way a crowd
// joining at once can afford. The SDK encodes every token's claims by
// reflection and sets up HMAC for each; most of that is the same for every
// viewer of a room. So a room's grants are encoded once, with the SDK's
// own types (viewerClaims), and each token only adds the viewer's
// identity and times before the standard library's HMAC-SHA256 signs it.
// Staff tokens, a few per show, go through the SDK (sign).
type viewerSigner struct {
	apiKey string
	ttl    time.Duration
	macs   sync.Pool // of hash.Hash: HMAC-SHA256 keyed with the API secret
}

func newViewerSigner(apiKey, secret string, ttl time.Duration) *viewerSigner {
	key := []byte(secret)
	return &viewerSigner{apiKey: apiKey, ttl: ttl, macs: sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

// jwtHeader is the encoded JOSE header of every HS256 token, as the SDK's
// JWT library writes it.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// viewerClaims are the claims every viewer of a room shares, as JSON
// without the opening brace: the issuer, the participant kind and the
// subscribe-only grant.
func (v *viewerSigner) viewerClaims(room string) ([]byte, error) {
	grants := auth.ClaimGrants{Video: videoGrant(viewerGrant(room, "", v.ttl))}
	grants.SetParticipantKind(livekit.ParticipantInfo_STANDARD)
	shared := struct {
		Issuer string `json:"iss"`
		*auth.ClaimGrants
	}{v.apiKey, &grants}
	b, err := json.Marshal(shared)
	if err != nil || len(b) < 2 || b[0] != '{' {
		return nil, fmt.Errorf("encode viewer grants: %w", err)
	}
	return b[1:], nil
}

// sign makes a viewer's token for a room from the room's claims, valid
// from now for the signer's TTL.
func (v *viewerSigner) sign(claims []byte, room, memberID string, now time.Time) Token {
	iat, exp := now.Unix(), now.Add(v.ttl).Unix()
	// The payload stays on the stack (longer ones grow onto the heap).
	payload := make([]byte, 0, 1024)
	payload = append(payload, `{"sub":`...)
	payload = appendJSONString(payload, memberID)
	payload = append(payload, `,"identity":`...)
	payload = appendJSONString(payload, memberID)
	payload = append(payload, `,"iat":`...)
	payload = strconv.AppendInt(payload, iat, 10)
	payload = append(payload, `,"nbf":`...)
	payload = strconv.AppendInt(payload, iat, 10)
	payload = append(payload, `,"exp":`...)
	payload = strconv.AppendInt(payload, exp, 10)
	payload = append(payload, ',')
	payload = append(payload, claims...)

	enc := base64.RawURLEncoding
	tok := make([]byte, 0, len(jwtHeader)+enc.EncodedLen(len(payload))+enc.EncodedLen(sha256.Size)+2)
	tok = append(tok, jwtHeader...)
	tok = append(tok, '.')
	tok = enc.AppendEncode(tok, payload)
	mac := v.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(tok)
	var sum [sha256.Size]byte
	mac.Sum(sum[:0])
	v.macs.Put(mac)
	tok = append(tok, '.')
	tok = enc.AppendEncode(tok, sum[:])
	return Token{Token: string(tok), Room: room, Identity: memberID, ExpiresAt: time.Unix(exp, 0).UTC()}
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			// Not plain ASCII: let the encoder escape it.
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// viewerClaims returns the claims every viewer token of the show's room
// shares, encoded at the first join.
func (h *hotShow) viewerClaims(v *viewerSigner) ([]byte, error) {
	h.viewerOnce.Do(func() { h.viewer, h.viewerErr = v.viewerClaims(h.room) })
	return h.viewer, h.viewerErr
}
