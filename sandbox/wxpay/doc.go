// Package wxpay is an offline stand-in for the WeChat Pay APIv3 endpoints
// Siyu uses (api.mch.weixin.qq.com), faithful enough that the unmodified
// github.com/wechatpay-apiv3/wechatpay-go client works against it in
// public-key mode (option.WithWechatPayPublicKeyAuthCipher), in
// certificate mode (option.WithWechatPayAutoAuthCipher) and in the
// migration between them.
//
// # Platform API (Server.ServeHTTP, real paths, behind a fault.Set)
//
//	GET  /v3/certificates                                 platform certificates, AEAD_AES_256_GCM under the APIv3 key
//	POST /v3/pay/transactions/jsapi                       JSAPI prepay → {"prepay_id":"wx…"}
//	GET  /v3/pay/transactions/out-trade-no/{no}?mchid=    query by out_trade_no
//	GET  /v3/pay/transactions/id/{transaction_id}?mchid=  query by transaction_id
//	POST /v3/pay/transactions/out-trade-no/{no}/close     close → 204
//	POST /v3/refund/domestic/refunds                      refund → the refund, PROCESSING
//	GET  /v3/refund/domestic/refunds/{out_refund_no}      query a refund
//
// What is faithful:
//   - Every request's Authorization (WECHATPAY2-SHA256-RSA2048 mchid,
//     nonce_str, signature, timestamp, serial_no) is verified against the
//     merchant's key over METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n; a foreign
//     key, another mchid or certificate serial, or a timestamp more than five
//     minutes off answers 401 SIGN_ERROR.
//   - Every 2xx (204 included) is signed over TIMESTAMP\nNONCE\nBODY\n with
//     Wechatpay-Timestamp/Nonce/Signature/Serial/Signature-Type and
//     Request-ID; by the WeChat Pay public key (Wechatpay-Serial
//     PUB_KEY_ID_…) or by the platform certificate (its serial) as
//     Config.Mode says. Migrating merchants get the certificate unless the
//     request's Wechatpay-Serial names the public key, as wechatpay-go's does.
//     Error answers are unsigned, as observed on the real platform; unknown
//     paths answer 404 with an empty body.
//   - Public-key merchants get 404 RESOURCE_NOT_EXISTS from /v3/certificates,
//     as merchants registered since late 2024 do.
//   - Prepay checks the documented fields (appid/mchid binding, description
//     ≤127, out_trade_no 6–32 of [0-9A-Za-z_-|*], amount.total ≥1 in CNY,
//     payer.openid, time_expire in RFC 3339, notify_url an absolute URL
//     without query) with PARAM_ERROR in the platform's wording. A
//     time_expire sooner than a minute away becomes a minute away, as
//     documented. The same out_trade_no with the same parameters gets a fresh
//     prepay_id for the same order; with other parameters 403
//     OUT_TRADE_NO_USED; once paid 400 ORDERPAID; once closed 400
//     ORDER_CLOSED; past its time_expire 403 OUT_TRADE_NO_USED.
//   - A prepay_id can be paid for 2 hours; past time_expire nothing can be
//     paid, but the order stays NOTPAY until closed; unpaid orders close
//     themselves after Config.AutoCloseAfter (7 days).
//   - Queries answer the transaction object (trade_state NOTPAY, SUCCESS,
//     CLOSED, REFUND, PAYERROR) or 404 ORDER_NOT_EXIST.
//   - Refunds: the same out_refund_no answers the same refund, once;
//     unpaid, closed or unknown orders 404 RESOURCE_NOT_EXISTS; more than is
//     left, a wrong amount.total, a year after payment or a 51st refund 400
//     INVALID_REQUEST. Refunds go PROCESSING → SUCCESS after
//     Config.RefundDelay, or end as SettleRefund says (SUCCESS, ABNORMAL,
//     CLOSED), and notify REFUND.*.
//   - Notifications (TRANSACTION.SUCCESS, REFUND.SUCCESS/ABNORMAL/CLOSED) go
//     to the notify_url through Config.HTTPClient in the documented envelope
//     (id, create_time, resource_type "encrypt-resource", event_type,
//     summary, resource{algorithm AEAD_AES_256_GCM, ciphertext,
//     associated_data, original_type, nonce}), signed afresh for each attempt
//     and retried until answered 200 or 204 within NotifyTimeout, after
//     15s,15s,30s,3m,10m,20m,30m,30m,30m,60m,3h,3h,3h,6h,6h (times
//     Config.TimeScale), then abandoned. Every attempt and answer is kept.
//   - Probe sends the deliberate WECHATPAY/SIGNTEST/ bad-signature probe;
//     ProbeResponses does the same to API responses.
//
// # Console (Server.Console, mounted at /sandbox/wxpay/)
//
//	POST   /pay                          wx.requestPayment {prepay_id, timeStamp, nonceStr, package, signType, paySign, action}
//	POST   /prepays/{prepay_id}/confirm  pay without a paySign (the tester's shortcut)
//	POST   /prepays/{prepay_id}/cancel   close the cashier
//	POST   /prepays/{prepay_id}/fail     the payment fails (PAYERROR)
//	POST   /refunds/{out_refund_no}/settle {"status":"SUCCESS"|"ABNORMAL"|"CLOSED"}
//	GET    /orders, /orders/{out_trade_no}, /refunds, /refunds/{out_refund_no}, /notifications
//	POST   /notifications/probe          {"out_trade_no":…}
//	POST   /notifications/release        send held notifications now, newest first
//	GET|POST|DELETE /notify-faults       NotifyRule: drop, copies, delay, tamper, times, event_type
//	POST   /notify-faults/reorder        {"count":n}: hold the next n, send them newest first
//	POST   /response-probes              {"count":n}: next n API responses carry a probe signature
//	GET    /credentials, /settings
//	*      /faults                       the API's fault.Set (status, hang, delay)
//
// Every Console action is also a Go method on Server.
//
// # Not faithful
//
// Only one merchant and one appid exist. Errors whose exact code the
// documentation leaves open follow the closest documented code: closing a
// paid order answers 400 ORDERPAID (the v2 code; the v3 page lists none),
// closing a closed order answers 204 again, and an unknown mchid in
// Authorization answers 401 SIGN_ERROR. Real prepay also accepts other
// optional objects (detail, scene_info, settle_info) without checking
// them here; they only take part in the same-parameters comparison.
// Refunds without notify_url send nothing (the real platform would send a
// v2 XML notification to the merchant-platform address). Sensitive-field
// encryption (Wechatpay-Serial on requests with encrypted fields) is not
// used by these endpoints and not checked.
package wxpay
