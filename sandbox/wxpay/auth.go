package wxpay

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// authorization is a parsed Authorization header:
// WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…".
type authorization struct {
	mchid, nonce, signature, timestamp, serial string
}

// parseAuthorization reads the header's schema and its key="value" pairs,
// in any order. It reports false for anything malformed.
func parseAuthorization(h string) (authorization, bool) {
	schema, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || schema != signatureType {
		return authorization{}, false
	}
	fields := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		key, after, ok := strings.Cut(rest, "=")
		if !ok || !strings.HasPrefix(after, `"`) {
			return authorization{}, false
		}
		value, tail, ok := strings.Cut(after[1:], `"`)
		if !ok {
			return authorization{}, false
		}
		fields[strings.TrimSpace(key)] = value
		rest = strings.TrimSpace(tail)
		if rest != "" {
			if rest[0] != ',' {
				return authorization{}, false
			}
			rest = strings.TrimSpace(rest[1:])
		}
	}
	a := authorization{
		mchid:     fields["mchid"],
		nonce:     fields["nonce_str"],
		signature: fields["signature"],
		timestamp: fields["timestamp"],
		serial:    fields["serial_no"],
	}
	if a.mchid == "" || a.nonce == "" || a.signature == "" || a.timestamp == "" || a.serial == "" {
		return authorization{}, false
	}
	return a, true
}

// authenticate checks a request the way the platform does: the schema and
// fields of Authorization, the merchant, the certificate serial, a
// timestamp within five minutes, and a SHA256withRSA signature by the
// merchant's key over METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n, where URL is
// the path and query exactly as sent.
func (s *Server) authenticate(r *http.Request, body []byte) *apiError {
	a, ok := parseAuthorization(r.Header.Get("Authorization"))
	if !ok {
		return signError("Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》")
	}
	if a.mchid != s.cfg.MchID {
		return signError("Http头Authorization中的mchid不存在或与商户API证书不匹配")
	}
	if !strings.EqualFold(a.serial, s.keys.MerchantSerial) {
		return signError("商户证书序列号有误。请使用签名私钥匹配的证书序列号")
	}
	ts, err := strconv.ParseInt(a.timestamp, 10, 64)
	if err != nil {
		return signError("Http头Authorization中的timestamp格式错误")
	}
	skew := s.cfg.SignatureNow().Sub(time.Unix(ts, 0))
	if skew > 5*time.Minute || skew < -5*time.Minute {
		return signError("Http头Authorization中的timestamp与系统时间相差超过5分钟")
	}
	message := r.Method + "\n" + r.URL.RequestURI() + "\n" + a.timestamp + "\n" + a.nonce + "\n" + string(body) + "\n"
	if err := verifySHA256(&s.keys.MerchantKey.PublicKey, message, a.signature); err != nil {
		return signError("错误的签名，验签失败")
	}
	return nil
}
