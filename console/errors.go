package console

import (
	"net/http"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/payments"
	"github.com/siyu-live/siyu/staff"
)

// errorTable maps domain sentinels to answers. Anything not listed is a 500.
var errorTable = []edge.Mapping{
	// --- identity ---
	{Err: staff.ErrInvalidCredentials, Status: http.StatusUnauthorized, Code: "invalid_credentials"},
	{Err: staff.ErrLocked, Status: http.StatusTooManyRequests, Code: "account_locked"},
	{Err: staff.ErrSessionNotFound, Status: http.StatusUnauthorized, Code: "invalid_session"},
	{Err: staff.ErrSessionExpired, Status: http.StatusUnauthorized, Code: "session_expired"},
	{Err: staff.ErrNameTaken, Status: http.StatusConflict, Code: "name_taken"},
	{Err: staff.ErrInvalidName, Status: http.StatusBadRequest, Code: "invalid_name"},
	{Err: staff.ErrInvalidRole, Status: http.StatusBadRequest, Code: "invalid_role"},
	{Err: staff.ErrWeakPassword, Status: http.StatusBadRequest, Code: "weak_password"},
	{Err: staff.ErrForbidden, Status: http.StatusForbidden, Code: "forbidden"},
	{Err: staff.ErrSelfChange, Status: http.StatusForbidden, Code: "self_change"},
	{Err: staff.ErrLastOwner, Status: http.StatusConflict, Code: "last_owner"},
	{Err: staff.ErrNoChange, Status: http.StatusUnprocessableEntity, Code: "nothing_to_change"},
	{Err: staff.ErrDisabled, Status: http.StatusForbidden, Code: "account_disabled"},
	{Err: staff.ErrNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "not found"},

	// --- payments ---
	{Err: catalog.ErrProductNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "product not found"},
	{Err: catalog.ErrSKUNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "SKU not found"},
	{Err: catalog.ErrFlashSaleNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "flash sale not found"},
	{Err: catalog.ErrInvalidProduct, Status: http.StatusUnprocessableEntity, Code: "invalid_product"},
	{Err: catalog.ErrInvalidSKU, Status: http.StatusUnprocessableEntity, Code: "invalid_sku"},
	{Err: catalog.ErrInvalidLineup, Status: http.StatusUnprocessableEntity, Code: "invalid_lineup"},
	{Err: catalog.ErrInvalidFlashSale, Status: http.StatusUnprocessableEntity, Code: "invalid_flash_sale"},
	{Err: catalog.ErrOutOfStock, Status: http.StatusConflict, Code: "out_of_stock"},
	{Err: payments.ErrOrderNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "order not found"},
	{Err: payments.ErrRefundNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "refund not found"},
	{Err: payments.ErrNotShippable, Status: http.StatusConflict, Code: "not_shippable"},
	{Err: payments.ErrInvalidShipment, Status: http.StatusUnprocessableEntity, Code: "invalid_shipment"},
	{Err: payments.ErrNotRefundable, Status: http.StatusConflict, Code: "not_refundable"},
	{Err: payments.ErrRefundOpen, Status: http.StatusConflict, Code: "refund_open"},
	{Err: payments.ErrRefundDecided, Status: http.StatusConflict, Code: "refund_decided"},
	{Err: payments.ErrRefundTooLarge, Status: http.StatusUnprocessableEntity, Code: "refund_too_large"},
	{Err: payments.ErrInvalidRefund, Status: http.StatusUnprocessableEntity, Code: "invalid_refund"},

	// --- live ---
	{Err: live.ErrShowNotFound, Status: http.StatusNotFound, Code: "show_not_found"},
	{Err: live.ErrTransition, Status: http.StatusConflict, Code: "show_transition_not_allowed"},
	{Err: live.ErrShowNotEditable, Status: http.StatusConflict, Code: "show_not_editable"},
	{Err: live.ErrShowNotLive, Status: http.StatusConflict, Code: "show_not_live"},
	{Err: live.ErrNotShowStaff, Status: http.StatusForbidden, Code: "not_show_staff"},
	{Err: live.ErrUnknownAction, Status: http.StatusBadRequest, Code: "unknown_action"},
	{Err: live.ErrProductNotInLineup, Status: http.StatusUnprocessableEntity, Code: "product_not_in_lineup"},
	{Err: live.ErrFlashSaleNotFound, Status: http.StatusNotFound, Code: "flash_sale_not_found"},
	{Err: live.ErrCouponDropNotFound, Status: http.StatusNotFound, Code: "coupon_drop_not_found"},
	{Err: live.ErrCouponsUnavailable, Status: http.StatusServiceUnavailable, Code: "coupons_unavailable"},
	{Err: live.ErrCommentNotFound, Status: http.StatusNotFound, Code: "comment_not_found"},
	{Err: live.ErrCatalogUnavailable, Status: http.StatusServiceUnavailable, Code: "catalog_unavailable"},
	{Err: live.ErrIngressUnavailable, Status: http.StatusServiceUnavailable, Code: "ingress_unavailable",
		Message: "this LiveKit server has no Ingress service: push with WebRTC from the host app, or deploy LiveKit Ingress"},
	{Err: live.ErrLiveKitUnavailable, Status: http.StatusServiceUnavailable, Code: "livekit_unavailable"},
	{Err: live.ErrInvalid, Status: http.StatusBadRequest, Code: "invalid_input"},

	// --- community ---
	{Err: community.ErrMemberNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "member not found"},
	{Err: community.ErrTagNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "tag not found"},
	{Err: community.ErrSegmentNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "segment not found"},
	{Err: community.ErrCouponTemplateNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "coupon template not found"},
	{Err: community.ErrCouponNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "coupon not found"},
	{Err: community.ErrDropNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "coupon drop not found"},
	{Err: community.ErrCampaignNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "campaign not found"},
	{Err: community.ErrGroupNotFound, Status: http.StatusNotFound, Code: "not_found", Message: "WeCom group not found"},
	{Err: community.ErrUnknownJourney, Status: http.StatusNotFound, Code: "not_found"},
	{Err: community.ErrNameTaken, Status: http.StatusConflict, Code: "name_taken"},
	{Err: community.ErrRuleTag, Status: http.StatusConflict, Code: "rule_tag"},
	{Err: community.ErrSegmentInUse, Status: http.StatusConflict, Code: "segment_in_use"},
	{Err: community.ErrCampaignState, Status: http.StatusConflict, Code: "campaign_state"},
	{Err: community.ErrCouponOutOfStock, Status: http.StatusConflict, Code: "out_of_stock"},
	{Err: community.ErrCouponDisabled, Status: http.StatusConflict, Code: "coupon_template_disabled"},
	{Err: community.ErrShowNotOpen, Status: http.StatusConflict, Code: "show_not_open"},
	{Err: community.ErrWeComNotConfigured, Status: http.StatusServiceUnavailable, Code: "wecom_not_configured",
		Message: "WeCom is not configured: set WECOM_CORP_ID, WECOM_CORP_SECRET and the callback settings"},
}
