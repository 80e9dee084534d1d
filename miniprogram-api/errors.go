package miniprogramapi

import (
	"net/http"

	"github.com/siyu-live/siyu/analytics"
	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/payments"
)

// errorTable maps domain sentinels to answers. Anything not listed is a 500.
var errorTable = []edge.Mapping{
	// --- identity ---
	{Err: community.ErrInvalidCode, Status: http.StatusUnauthorized, Code: "invalid_code"},
	{Err: community.ErrCodeUsed, Status: http.StatusUnauthorized, Code: "code_used"},
	{Err: community.ErrSessionNotFound, Status: http.StatusUnauthorized, Code: "invalid_session"},
	{Err: community.ErrSessionExpired, Status: http.StatusUnauthorized, Code: "session_expired"},
	{Err: community.ErrLoginLimited, Status: http.StatusTooManyRequests, Code: "login_limited"},
	{Err: community.ErrWeChatRateLimited, Status: http.StatusTooManyRequests, Code: "wechat_rate_limited"},
	{Err: community.ErrWeChatUnavailable, Status: http.StatusServiceUnavailable, Code: "wechat_unavailable"},
	{Err: community.ErrInvalidPhoneCode, Status: http.StatusBadRequest, Code: "invalid_phone_code"},
	{Err: community.ErrMemberNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "not found"},

	// --- payments ---
	{Err: payments.ErrOrderNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "order not found"},
	{Err: payments.ErrRefundNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "refund not found"},
	{Err: payments.ErrIdempotencyKeyRequired, Status: http.StatusBadRequest, Code: "idempotency_key_required"},
	{Err: payments.ErrIdempotencyKeyReused, Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused"},
	{Err: payments.ErrCouponNotApplicable, Status: http.StatusUnprocessableEntity, Code: "coupon_not_applicable",
		Message: "coupons cannot be applied to orders yet; order without coupon_id"},
	{Err: payments.ErrInvalidOrder, Status: http.StatusUnprocessableEntity, Code: "invalid_order"},
	{Err: payments.ErrInvalidAddress, Status: http.StatusUnprocessableEntity, Code: "invalid_address"},
	{Err: payments.ErrShowNotFound, Status: http.StatusUnprocessableEntity, Code: "show_not_found", Message: "show_id names no show"},
	{Err: payments.ErrNotCancellable, Status: http.StatusConflict, Code: "not_cancellable"},
	{Err: payments.ErrNotPayable, Status: http.StatusConflict, Code: "not_payable"},
	{Err: payments.ErrPaymentUnavailable, Status: http.StatusServiceUnavailable, Code: "payment_unavailable", Message: "WeChat Pay could not be reached; retry with the same Idempotency-Key"},
	{Err: payments.ErrNotRefundable, Status: http.StatusConflict, Code: "not_refundable"},
	{Err: payments.ErrRefundOpen, Status: http.StatusConflict, Code: "refund_open"},
	{Err: payments.ErrRefundTooLarge, Status: http.StatusUnprocessableEntity, Code: "refund_too_large"},
	{Err: payments.ErrInvalidRefund, Status: http.StatusUnprocessableEntity, Code: "invalid_refund"},
	{Err: catalog.ErrSoldOut, Status: http.StatusConflict, Code: "sold_out"},
	{Err: catalog.ErrLimitReached, Status: http.StatusConflict, Code: "limit_reached"},
	{Err: catalog.ErrNotEnoughLeft, Status: http.StatusConflict, Code: "not_enough_left"},
	{Err: catalog.ErrNotStarted, Status: http.StatusConflict, Code: "not_started"},
	{Err: catalog.ErrEnded, Status: http.StatusConflict, Code: "ended"},
	{Err: catalog.ErrFlashSaleNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "flash sale not found"},
	{Err: catalog.ErrInvalidFlashSale, Status: http.StatusUnprocessableEntity, Code: "invalid_order"},
	{Err: catalog.ErrOutOfStock, Status: http.StatusConflict, Code: "out_of_stock"},
	{Err: catalog.ErrSKUNotFound, Status: http.StatusUnprocessableEntity, Code: "sku_not_found"},
	{Err: catalog.ErrNotPublished, Status: http.StatusUnprocessableEntity, Code: "product_unavailable"},
	{Err: catalog.ErrInvalidSKU, Status: http.StatusUnprocessableEntity, Code: "invalid_order"},
	{Err: catalog.ErrNotArmed, Status: http.StatusServiceUnavailable, Code: "flash_sale_unavailable"},

	// --- live ---
	{Err: live.ErrShowNotFound, Status: http.StatusNotFound, Code: "show_not_found"},
	{Err: live.ErrShowNotLive, Status: http.StatusConflict, Code: "show_not_live"},
	{Err: live.ErrNotReservable, Status: http.StatusConflict, Code: "show_not_reservable"},
	{Err: live.ErrViewerRemoved, Status: http.StatusForbidden, Code: "viewer_removed"},
	{Err: live.ErrViewerMuted, Status: http.StatusForbidden, Code: "viewer_muted"},
	{Err: live.ErrCommentRateLimited, Status: http.StatusTooManyRequests, Code: "comment_rate_limited", Message: "you are commenting too fast; wait for Retry-After"},
	{Err: live.ErrChatBusy, Status: http.StatusServiceUnavailable, Code: "chat_busy"},
	{Err: live.ErrChatUnavailable, Status: http.StatusServiceUnavailable, Code: "chat_unavailable"},
	{Err: live.ErrReplayNotReady, Status: http.StatusNotFound, Code: "replay_not_ready"},
	{Err: live.ErrInvalid, Status: http.StatusBadRequest, Code: "invalid_input"},

	// --- community ---
	{Err: community.ErrCouponNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "coupon not found"},
	{Err: community.ErrDropNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "coupon drop not found"},
	{Err: community.ErrDropSoldOut, Status: http.StatusConflict, Code: "sold_out"},
	{Err: community.ErrCouponLimitReached, Status: http.StatusConflict, Code: "limit_reached"},
	{Err: community.ErrDropNotStarted, Status: http.StatusConflict, Code: "drop_not_started"},
	{Err: community.ErrDropEnded, Status: http.StatusConflict, Code: "drop_ended"},
	{Err: community.ErrCouponNotApplicable, Status: http.StatusUnprocessableEntity, Code: "coupon_not_applicable"},

	// --- analytics ---
	{Err: analytics.ErrShowNotFound, Status: http.StatusNotFound, Code: "show_not_found"},
	{Err: analytics.ErrNotClickable, Status: http.StatusConflict, Code: "show_not_live"},
	{Err: analytics.ErrProductNotInLineup, Status: http.StatusUnprocessableEntity, Code: "product_not_in_lineup"},
	{Err: analytics.ErrInvalid, Status: http.StatusBadRequest, Code: "invalid_input"},
}
