// Package community is Siyu's community domain: members and their WeChat
// identity, tags, segments, WeCom groups and contacts, coupons and
// campaigns, and the subscribe-message consent ledger.
//
// The identity part (Members) logs shoppers in with wx.login codes through
// the mini-program's jscode2session, keeps each member's WeChat session_key
// encrypted at rest and out of every answer and log line, issues opaque
// shopper session tokens (stored hashed, sliding expiry, revocable), binds
// phone numbers from the getPhoneNumber button, records first-touch
// attribution on a member's first login and later touches as events, and
// limits logins per IP and per openid.
package community
