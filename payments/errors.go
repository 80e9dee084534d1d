package payments

import "errors"

// Sentinel errors of payments. Callers test them with errors.Is.
var (
	ErrOrderNotFound          = errors.New("order not found")
	ErrIdempotencyKeyRequired = errors.New("an Idempotency-Key header is required")
	ErrIdempotencyKeyReused   = errors.New("this Idempotency-Key was used with a different request")
	ErrInvalidOrder           = errors.New("invalid order")
	ErrInvalidAddress         = errors.New("invalid delivery address")
	ErrCouponNotApplicable    = errors.New("coupons cannot be used on orders yet")
	ErrShowNotFound           = errors.New("show not found")
	ErrNotCancellable         = errors.New("only an unpaid order can be cancelled")
	ErrPaymentUnavailable     = errors.New("WeChat Pay could not be reached; try again")
	ErrNotPayable             = errors.New("the order can no longer be paid")
	ErrRefundNotFound         = errors.New("refund not found")
	ErrNotRefundable          = errors.New("the order has not been paid, or is fully refunded")
	ErrRefundOpen             = errors.New("a refund of this order is already being handled")
	ErrRefundTooLarge         = errors.New("the refund is more than what is left to refund")
	ErrRefundDecided          = errors.New("the refund request was already decided")
	ErrInvalidRefund          = errors.New("invalid refund")
	ErrNotShippable           = errors.New("only a paid order that has not shipped can be shipped")
	ErrInvalidShipment        = errors.New("invalid shipment")

	// ErrWeChatOrderPaid is what closing an order WeChat Pay already
	// collected answers (ORDERPAID).
	ErrWeChatOrderPaid = errors.New("WeChat Pay: order already paid")
	// ErrWeChatOrderNotFound is WeChat Pay not knowing an out_trade_no
	// (ORDER_NOT_EXIST) or an out_refund_no (RESOURCE_NOT_EXISTS).
	ErrWeChatOrderNotFound = errors.New("WeChat Pay: no such order")
)
