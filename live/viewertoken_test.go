package live

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
)

// TestViewerSigner checks that a viewer token signed from a room's shared
// claims is the token the LiveKit SDK makes for the same grant: the same
// header and claims, a signature the SDK's verifier accepts with the
// secret and refuses without it, and the expiry it answers.
func TestViewerSigner(t *testing.T) {
	const key, secret, room = "APIkey", "a-secret-of-thirty-two-characters!", "show-0192"
	ttl := 10 * time.Minute
	v := newViewerSigner(key, secret, ttl)
	claims, err := v.viewerClaims(room)
	if err != nil {
		t.Fatal(err)
	}
	segments := func(t *testing.T, tok string) (header, payload map[string]any) {
		t.Helper()
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("token %q has %d parts", tok, len(parts))
		}
		for i, dst := range []*map[string]any{&header, &payload} {
			raw, err := base64.RawURLEncoding.DecodeString(parts[i])
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, dst); err != nil {
				t.Fatalf("segment %s: %v", raw, err)
			}
		}
		return header, payload
	}
	for _, member := range []string{"0192a5c4-7d1e-7c3a-9f10-2b3c4d5e6f70", `m-"引号"\<&>`} {
		t.Run(member, func(t *testing.T) {
			now := time.Now()
			tok := v.sign(claims, room, member, now)
			sdk := auth.NewAccessToken(key, secret).SetIdentity(member).SetName("").
				SetKind(livekit.ParticipantInfo_STANDARD).SetValidFor(ttl).
				SetVideoGrant(videoGrant(viewerGrant(room, member, ttl)))
			want, err := sdk.ToJWT()
			if err != nil {
				t.Fatal(err)
			}
			gotHeader, gotClaims := segments(t, tok.Token)
			wantHeader, wantClaims := segments(t, want)
			if !reflect.DeepEqual(gotHeader, wantHeader) {
				t.Fatalf("header %v, the SDK's %v", gotHeader, wantHeader)
			}
			iat, _ := gotClaims["iat"].(float64)
			if int64(iat) != now.Unix() || gotClaims["nbf"] != gotClaims["iat"] || gotClaims["exp"] != float64(now.Add(ttl).Unix()) {
				t.Fatalf("times %v %v %v", gotClaims["iat"], gotClaims["nbf"], gotClaims["exp"])
			}
			for _, c := range []string{"iat", "nbf", "exp"} {
				delete(gotClaims, c)
				delete(wantClaims, c)
			}
			if !reflect.DeepEqual(gotClaims, wantClaims) {
				t.Fatalf("claims\n%v\nthe SDK's\n%v", gotClaims, wantClaims)
			}
			if tok.Room != room || tok.Identity != member || !tok.ExpiresAt.Equal(time.Unix(now.Add(ttl).Unix(), 0)) || tok.ExpiresAt.Location() != time.UTC {
				t.Fatalf("token = %+v", tok)
			}

			parsed, err := auth.ParseAPIToken(tok.Token)
			if err != nil {
				t.Fatal(err)
			}
			if parsed.APIKey() != key || parsed.Identity() != member {
				t.Fatalf("parsed key %q identity %q", parsed.APIKey(), parsed.Identity())
			}
			_, grants, err := parsed.Verify(secret)
			if err != nil {
				t.Fatal(err)
			}
			if grants.Identity != member || grants.GetParticipantKind() != livekit.ParticipantInfo_STANDARD || grants.Video.Room != room {
				t.Fatalf("grants = %+v", grants)
			}
			if _, _, err := parsed.Verify(secret + "x"); err == nil {
				t.Fatal("a token verified with another secret")
			}
		})
	}
}
