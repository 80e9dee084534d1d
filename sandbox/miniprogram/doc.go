// Package miniprogram is an offline stand-in for the WeChat mini-program
// server APIs at api.weixin.qq.com that Siyu calls, faithful enough that the
// unmodified github.com/silenceper/wechat/v2 client works against it, plus
// the shopper's phone that feeds those APIs with codes and consents.
//
// # Platform API (Server.ServeHTTP, at the platform's real paths)
//
// Every answer is HTTP 200 with JSON {"errcode","errmsg",…} as on the
// platform (except a drawn code, which is an image). Fault rules (see
// package fault) apply first. Unknown paths answer 40066; POST-only APIs
// answer 43002 to other methods; a body that is not JSON answers 47001.
//
//   - GET  /cgi-bin/token: a new token per call, expires_in 7200; the
//     previous token keeps working for 5 minutes. 2000 calls a day (45009).
//     Bad credentials: 41002/41004 missing, 40002 grant_type, 40013 appid,
//     40125 secret.
//   - POST /cgi-bin/stable_token: isolated from cgi-bin/token. Normal mode
//     returns the same token while more than 5 minutes of it are left
//     (expires_in counts down), then a new one. force_refresh issues a new
//     token, the old one working 5 more minutes; at most 20 a day (45009),
//     and one sooner than 30s after the last does not refresh. 10000 calls a
//     minute (45011), 500000 a day.
//   - Every API below takes ?access_token=: missing 41001, unknown or
//     retired 40001, expired 42001.
//   - GET  /sns/jscode2session: codes from MintLoginCode; single use, 5
//     minutes: unknown or expired 40029, reused 40163, missing 41008; more
//     than 100 calls a minute for one user 45011. Answers openid, a fresh
//     session_key (base64 of 16 random bytes) and unionid when the user has
//     one.
//   - POST /wxa/business/getuserphonenumber: codes from MintPhoneCode;
//     single use, 5 minutes, otherwise 40029. Answers phone_info with
//     phoneNumber, purePhoneNumber, countryCode (a string) and watermark
//     {timestamp of the tap, appid}. A spent PhoneQuota shows on the phone as
//     errno 1400001 (MintPhoneCode fails), as on the platform, where the
//     server API never sees it.
//   - POST /cgi-bin/message/subscribe/send: touser empty or never seen on the
//     phone 40003; template not picked 40037; page not released 41030; a
//     keyword empty or breaking its type's limits (thing ≤20 characters,
//     phrase ≤5 Chinese characters, time, date, amount, …) 47003; no consent
//     left 43101. Each accepted one-time consent allows one send; long-term
//     templates (Config.LongTermTemplates) are not used up. Answers msgid.
//     3e7 sends a day.
//   - POST /wxa/msg_sec_check: version 2 (number or string) needs a known
//     openid (40003) and scene 1–4 (40129) and content (44002); answers
//     result {suggest, label}, detail [content_model, keyword] and trace_id,
//     judged by the most severe configured word found in title, nickname,
//     content (and signature for scene 1). Other versions are the 1.0 API:
//     87014 for risky text. 4000 calls a minute, 2e6 a day.
//   - POST /wxa/getwxacodeunlimit: scene of 1–32 characters (else 40169)
//     from the documented set (else 40129); page without a leading "/" or
//     query, released when check_path is true (else 41030); env_version
//     release, trial or develop; width clamped to 280–1280 (default 430);
//     line_color and is_hyaline honoured. Answers a PNG of a standard QR code
//     holding the scene, with Content-Type image/jpeg as the platform sends
//     (the SDK accepts nothing else). 5000 calls a minute.
//   - POST /wxa/sec/order/upload_shipping_info: the documented checks and
//     codes (268485194–268485228, 10060005–10060026), the payment lookup
//     of Config.FindPayment (10060001, 10060031), one re-shipping chance
//     (10060003) and identical uploads (10060023).
//
// Quotas are Config.Limits (DefaultLimits has the documented ones); daily
// quotas reset at midnight China time, minute quotas each calendar minute.
//
// # Console (Server.Console)
//
//   - POST /login-code {"openid","unionid"} → {"code"}: wx.login.
//   - POST /phone-code {"phone"} → {"code"}: the getPhoneNumber button;
//     "13800138000" or "+CC NUMBER". 400 invalid_phone, 403
//     phone_quota_exhausted.
//   - POST /subscribe {"openid","template_ids":[≤3],"decision":"accept"|
//     "reject"} → {"errMsg":"requestSubscribeMessage:ok", id: decision}:
//     wx.requestSubscribeMessage; each accept is one send.
//   - GET /consents, GET /subscribe-messages, GET /shipping-uploads,
//     GET /qrcodes: inspection lists.
//   - GET, POST, DELETE /faults: the fault rules of the platform API.
//
// Errors are {"error":{"code","message"}} with status 400 or 403 (405 for a
// wrong method). A user is "seen on the phone" once MintLoginCode,
// GrantSubscribe or RejectSubscribe named them.
//
// Both handlers work whether the composing handler strips its mount prefix
// with or without the trailing slash.
//
// # Not faithful
//
// The platform draws round mini-program codes; the sandbox draws QR codes.
// Subscribe messages are not delivered anywhere but the inspection list.
// Shipping has no confirm-receipt or refund states (10060002, 10060004).
// getuserphonenumber does not check that its optional openid matches the code.
package miniprogram
