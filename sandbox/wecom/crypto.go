package wecom

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// The callback crypto of WeCom (WXBizMsgCrypt, 加解密方案):
//
//	AESKey     = Base64_Decode(EncodingAESKey + "=")            (32 bytes)
//	msg_encrypt = Base64_Encode(AES-256-CBC(key=AESKey, iv=AESKey[:16],
//	              PKCS#7 padded to a 32-byte block)(
//	              random(16B) + msg_len(4B, big-endian) + msg + ReceiveId))
//	msg_signature = SHA1(sort(token, timestamp, nonce, msg_encrypt) joined)
//
// ReceiveId is the corp id for a corp's own app.

// pkcs7Block is the padding block of WeCom's scheme: 32 bytes, not AES's 16.
const pkcs7Block = 32

// aesKey decodes a 43-character EncodingAESKey into the 32-byte AES key.
func aesKey(encodingAESKey string) ([]byte, error) {
	if len(encodingAESKey) != 43 {
		return nil, fmt.Errorf("%w: EncodingAESKey must be 43 characters", ErrInvalidCallback)
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%w: EncodingAESKey is not base64 of 32 bytes", ErrInvalidCallback)
	}
	return key, nil
}

// encrypt returns msg_encrypt for msg, with the given 16 random bytes.
func encrypt(key, random []byte, msg, receiveID string) (string, error) {
	if len(random) != 16 {
		return "", fmt.Errorf("wecom: encrypt needs 16 random bytes, got %d", len(random))
	}
	plain := make([]byte, 0, 20+len(msg)+len(receiveID)+pkcs7Block)
	plain = append(plain, random...)
	plain = binary.BigEndian.AppendUint32(plain, uint32(len(msg)))
	plain = append(plain, msg...)
	plain = append(plain, receiveID...)
	pad := pkcs7Block - len(plain)%pkcs7Block
	for range pad {
		plain = append(plain, byte(pad))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", fmt.Errorf("wecom: aes: %w", err)
	}
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out), nil
}

// signature returns msg_signature: the SHA-1 hex digest of the parts sorted
// and concatenated.
func signature(parts ...string) string {
	sorted := append([]string(nil), parts...)
	sort.Strings(sorted)
	sum := sha1.Sum([]byte(strings.Join(sorted, "")))
	return hex.EncodeToString(sum[:])
}

// validateCallback checks a callback configuration: the key must decode, and
// the token must be 3–32 letters or digits, as the admin console requires.
func validateCallback(cb Callback) error {
	if _, err := aesKey(cb.EncodingAESKey); err != nil {
		return err
	}
	if n := len(cb.Token); n < 3 || n > 32 {
		return fmt.Errorf("%w: token must be 3 ~ 32 characters", ErrInvalidCallback)
	}
	for _, c := range cb.Token {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return fmt.Errorf("%w: token must be letters and digits", ErrInvalidCallback)
		}
	}
	return nil
}
