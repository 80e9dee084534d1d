// Package payments takes shoppers' money and gives it back: orders with
// idempotency keys, checkout priced on the server, flash-sale orders,
// WeChat Pay (JSAPI prepay, signed and encrypted notifications, close,
// query, refunds), closing unpaid orders on time, reconciliation with WeChat
// Pay, after-sales refunds, shipping and its upload to WeChat, and the
// commission ledger.
//
// Every change of an order's state (paid, closed, refunded) happens once:
// inside one transaction, under the order's row lock, together with the
// outbox messages of what must follow. WeChat Pay is reached through small
// wrappers over wechatpay-go (WeChatPay) and silenceper/wechat
// (MiniProgramShipping); the service depends on the Pay and Shipping
// interfaces only, so tests run it against the sandbox.
//
// The notification endpoints are net/http handlers (Notifications), since
// wechatpay-go verifies an *http.Request; app mounts them at
// /callbacks/wxpay/transactions and /callbacks/wxpay/refunds.
package payments
