package wxpay

import (
	"net/http"
)

// certificate is one entry of GET /v3/certificates.
type certificate struct {
	SerialNo           string `json:"serial_no"`
	EffectiveTime      string `json:"effective_time"`
	ExpireTime         string `json:"expire_time"`
	EncryptCertificate sealed `json:"encrypt_certificate"`
}

// certificates serves GET /v3/certificates: the platform certificates,
// each PEM encrypted with AEAD_AES_256_GCM under the APIv3 key with the
// associated data "certificate". A merchant in public-key mode has no
// platform certificate, and the platform answers 404 RESOURCE_NOT_EXISTS
// with the message new merchants have been getting since late 2024.
func (s *Server) certificates(w http.ResponseWriter, r *http.Request, _ []byte) {
	if s.cfg.Mode == ModePublicKey {
		writeError(w, &apiError{
			Status:  http.StatusNotFound,
			Code:    "RESOURCE_NOT_EXISTS",
			Message: "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥。可查看指引https://pay.weixin.qq.com/docs/merchant/products/platform-certificate/wxp-pub-key-guide.html",
		})
		return
	}
	enc, err := seal(s.cfg.APIv3Key, "certificate", []byte(s.creds.CertificatePEM))
	if err != nil {
		writeError(w, &apiError{Status: http.StatusInternalServerError, Code: "SYSTEM_ERROR", Message: "系统异常，请稍后重试"})
		return
	}
	s.writeJSON(w, r, map[string][]certificate{"data": {{
		SerialNo:           s.keys.CertSerial(),
		EffectiveTime:      stamp(s.keys.Cert.NotBefore),
		ExpireTime:         stamp(s.keys.Cert.NotAfter),
		EncryptCertificate: enc,
	}}})
}
