// Package sandbox is an offline stand-in for the parts of the WeChat
// mini-program, WeCom and WeChat Pay APIv3 HTTP APIs that Siyu uses.
//
// Each platform lives in its own package (miniprogram, wecom, wxpay) as an
// http.Handler serving the platform's real paths. This package composes them
// under one handler, where a platform's API is reached as "/{host}{path}"
// (for example /api.weixin.qq.com/sns/jscode2session) and the shopper's
// phone, the fault switches and the inspection lists live under /sandbox/.
// InProcess and Remote route the unmodified SDK clients to it.
package sandbox
