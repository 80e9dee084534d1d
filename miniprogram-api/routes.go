package miniprogramapi

import (
	"net/http"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/payments"
)

// routes lists every shopper route. Routes with Security "member" need a
// session token; their handlers see only the calling member's data.
func (a *API) routes() []edge.Route {
	var rs []edge.Route

	// --- identity ---
	identity := []string{"identity"}
	rs = append(rs,
		edge.Route{Method: http.MethodPost, Path: "/session", Summary: "Log in with a wx.login code", Tags: identity,
			Request: new(sessionRequest), Response: new(sessionResponse), Status: http.StatusCreated,
			Errors: []int{http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusServiceUnavailable}, Handlers: handlers(a.createSession)},
		edge.Route{Method: http.MethodDelete, Path: "/session", Summary: "Log out (revoke the calling session token: at once on the replica that answers, within a minute on the others)", Tags: identity,
			Status: http.StatusNoContent, Errors: []int{http.StatusUnauthorized}, Security: "member", Handlers: a.member(a.deleteSession)},
		edge.Route{Method: http.MethodGet, Path: "/me", Summary: "The calling member", Tags: identity,
			Response: new(meBody), Errors: []int{http.StatusUnauthorized}, Security: "member", Handlers: a.member(a.getMe)},
		edge.Route{Method: http.MethodPatch, Path: "/me", Summary: "Change nickname and avatar (any other field is refused)", Tags: identity,
			Request: new(patchMeRequest), Response: new(meBody), Errors: []int{http.StatusUnauthorized}, Security: "member", Handlers: a.member(a.patchMe)},
		edge.Route{Method: http.MethodPost, Path: "/me/phone", Summary: "Bind the phone number from the getPhoneNumber button", Tags: identity,
			Request: new(bindPhoneRequest), Response: new(meBody),
			Errors: []int{http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusServiceUnavailable}, Security: "member", Handlers: a.member(a.bindPhone)},
	)

	// --- payments ---
	orders := []string{"orders"}
	rs = append(rs,
		edge.Route{Method: http.MethodPost, Path: "/orders", Summary: "Create an order (priced by the server) and get the wx.requestPayment parameters", Tags: orders,
			Request: new(createOrderRequest), Response: new(payments.Receipt), Status: http.StatusCreated,
			Errors: []int{http.StatusUnauthorized, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusServiceUnavailable}, Security: "member", Handlers: a.member(a.createOrder)},
		edge.Route{Method: http.MethodGet, Path: "/orders", Summary: "The calling member's orders, newest first", Tags: orders,
			Request: new(listOrdersRequest), Response: new(ordersBody), Errors: []int{http.StatusUnauthorized}, Security: "member", Handlers: a.member(a.listOrders)},
		edge.Route{Method: http.MethodGet, Path: "/orders/:id", Summary: "One of the calling member's orders", Tags: orders,
			Request: new(orderPath), Response: new(payments.Order), Errors: []int{http.StatusUnauthorized, http.StatusNotFound}, Security: "member", Handlers: a.member(a.getOrder)},
		edge.Route{Method: http.MethodPost, Path: "/orders/:id/cancel", Summary: "Cancel an unpaid order", Tags: orders,
			Request: new(orderPath), Response: new(payments.Order), Errors: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}, Security: "member", Handlers: a.member(a.cancelOrder)},
		edge.Route{Method: http.MethodPost, Path: "/orders/:id/pay", Summary: "Fresh wx.requestPayment parameters for an unpaid order", Tags: orders,
			Request: new(orderPath), Response: new(payments.Receipt), Errors: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}, Security: "member", Handlers: a.member(a.payOrder)},
		edge.Route{Method: http.MethodPost, Path: "/orders/:id/refund-requests", Summary: "Ask for a refund of a paid order", Tags: orders,
			Request: new(refundRequestBody), Response: new(payments.Refund), Status: http.StatusCreated,
			Errors: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity}, Security: "member", Handlers: a.member(a.requestRefund)},
		edge.Route{Method: http.MethodGet, Path: "/orders/:id/refunds", Summary: "The refunds of one of the member's orders", Tags: orders,
			Request: new(orderPath), Response: new(refundsBody), Errors: []int{http.StatusUnauthorized, http.StatusNotFound}, Security: "member", Handlers: a.member(a.listRefunds)},
		edge.Route{Method: http.MethodGet, Path: "/flash-sales/:id", Summary: "A flash sale with the units left", Tags: orders,
			Request: new(flashSalePath), Response: new(catalog.FlashSale), Errors: []int{http.StatusUnauthorized, http.StatusNotFound}, Security: "member", Handlers: a.member(a.getFlashSale)},
		edge.Route{Method: http.MethodPost, Path: "/flash-sales/:id/orders", Summary: "Win units of a flash sale: the pending order (POST /orders/{id}/pay then gives the wx.requestPayment parameters), or 409 sold_out", Tags: orders,
			Request: new(flashSaleOrderRequest), Response: new(flashSaleWinBody), Status: http.StatusCreated,
			Errors: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusServiceUnavailable}, Security: "member", Handlers: a.member(a.buyFlashSale)},
	)

	// --- live ---
	shows := []string{"shows"}
	rs = append(rs,
		edge.Route{Method: http.MethodGet, Path: "/shows", Summary: "Shows shoppers may see, latest first", Tags: shows,
			Request: new(listShowsRequest), Response: new(showsBody), Handlers: handlers(a.listShows)},
		edge.Route{Method: http.MethodGet, Path: "/shows/:id", Summary: "A show: status, host, lineup with live prices, pinned product and counts", Tags: shows,
			Request: new(showPath), Response: new(showBody), Errors: []int{http.StatusNotFound}, Handlers: handlers(a.getShow)},
		edge.Route{Method: http.MethodPost, Path: "/shows/:id/join", Summary: "A subscribe-only LiveKit token (at most 15 minutes; join again to refresh), the HLS playlist and recent comments", Tags: shows,
			Request: new(showPath), Response: new(joinBody), Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict},
			Security: "member", Handlers: a.member(a.joinShow)},
		edge.Route{Method: http.MethodPost, Path: "/shows/:id/comments", Summary: "Comment in a live show: accepted pending moderation (rate limited), then stored and, when it passes, broadcast in batches", Tags: shows,
			Request: new(postCommentRequest), Response: new(acceptedComment), Status: http.StatusAccepted,
			Errors:   []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusTooManyRequests, http.StatusServiceUnavailable},
			Security: "member", Handlers: a.member(a.postComment)},
		edge.Route{Method: http.MethodGet, Path: "/shows/:id/comments", Summary: "Chat history, oldest first, for late joiners", Tags: shows,
			Request: new(listCommentsRequest), Response: new(commentsBody), Errors: []int{http.StatusUnauthorized, http.StatusNotFound},
			Security: "member", Handlers: a.member(a.listComments)},
		edge.Route{Method: http.MethodPost, Path: "/shows/:id/likes", Summary: "Add likes (aggregated and broadcast at the next tick)", Tags: shows,
			Request: new(likeRequest), Response: new(likesBody), Status: http.StatusAccepted,
			Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict}, Security: "member", Handlers: a.member(a.likeShow)},
		edge.Route{Method: http.MethodPost, Path: "/shows/:id/reservation", Summary: "Reserve a show with the subscribe-message templates the shopper accepted", Tags: shows,
			Request: new(reserveRequest), Response: new(reservationBody), Status: http.StatusCreated,
			Errors: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict}, Security: "member", Handlers: a.member(a.reserveShow)},
		edge.Route{Method: http.MethodGet, Path: "/shows/:id/replay", Summary: "The recording and its chapters (pinned products, flash sales, chat peaks)", Tags: shows,
			Request: new(showPath), Response: new(replayBody), Errors: []int{http.StatusUnauthorized, http.StatusNotFound}, Security: "member", Handlers: a.member(a.getReplay)},
	)

	// --- community ---
	coupons := []string{"coupons"}
	rs = append(rs,
		edge.Route{Method: http.MethodGet, Path: "/me/coupons", Summary: "The calling member's coupons, soonest to expire first", Tags: coupons,
			Request: new(myCouponsRequest), Response: new(couponsBody), Errors: []int{http.StatusUnauthorized}, Security: "member", Handlers: a.member(a.myCoupons)},
		edge.Route{Method: http.MethodGet, Path: "/shows/:id/coupon-drops", Summary: "A show's coupon drops with the coupons left", Tags: coupons,
			Request: new(showPath), Response: new(showDropsBody), Errors: []int{http.StatusUnauthorized}, Security: "member", Handlers: a.member(a.showCouponDrops)},
		edge.Route{Method: http.MethodPost, Path: "/shows/:id/coupon-drops/:drop_id/claim", Summary: "Claim a coupon of a drop in a show (atomic: never more than the drop's quantity)", Tags: coupons,
			Request: new(claimDropRequest), Response: new(community.Coupon), Status: http.StatusCreated,
			Errors: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict}, Security: "member", Handlers: a.member(a.claimDrop)},
	)

	// --- analytics ---
	rs = append(rs,
		edge.Route{Method: http.MethodPost, Path: "/shows/:id/product-clicks", Summary: "Record that the shopper opened a product card of a live show or its replay (the funnel's click step)", Tags: []string{"shows"},
			Request: new(productClickRequest), Response: new(productClickBody), Status: http.StatusAccepted,
			Errors: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity}, Security: "member", Handlers: a.member(a.recordProductClick)},
	)

	return rs
}
