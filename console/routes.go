package console

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
)

// routes lists every staff route with the roles allowed to call it.
func (a *API) routes() []Route {
	var rs []Route

	// --- identity ---
	identity := []string{"identity"}
	managers := []string{RoleOwner, RoleAdmin}
	rs = append(rs,
		Route{Public: true, Route: edge.Route{Method: http.MethodPost, Path: "/session", Summary: "Sign in (sets the session cookie)", Tags: identity,
			Request: new(signInRequest), Response: new(sessionBody), Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests},
			Handlers: []fiber.Handler{a.signIn}}},
		Route{Roles: allRoles(), Route: edge.Route{Method: http.MethodGet, Path: "/session", Summary: "The signed-in staff member", Tags: identity,
			Response: new(sessionBody), Errors: []int{http.StatusUnauthorized}, Handlers: []fiber.Handler{a.currentSession}}},
		Route{Roles: allRoles(), Route: edge.Route{Method: http.MethodDelete, Path: "/session", Summary: "Sign out", Tags: identity,
			Status: http.StatusNoContent, Errors: []int{http.StatusUnauthorized}, Handlers: []fiber.Handler{a.signOut}}},
		Route{Roles: managers, Route: edge.Route{Method: http.MethodGet, Path: "/staff", Summary: "Staff accounts", Tags: identity,
			Response: new(staffList), Errors: []int{http.StatusUnauthorized, http.StatusForbidden}, Handlers: []fiber.Handler{a.listStaff}}},
		Route{Roles: managers, Route: edge.Route{Method: http.MethodPost, Path: "/staff", Summary: "Create a staff account", Tags: identity,
			Request: new(createStaffRequest), Response: new(staffBody), Status: http.StatusCreated,
			Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict}, Handlers: []fiber.Handler{a.createStaff}}},
		Route{Roles: managers, Route: edge.Route{Method: http.MethodPatch, Path: "/staff/:id", Summary: "Change a staff account: role, disabled, password or unlock", Tags: identity,
			Request: new(updateStaffRequest), Response: new(staffBody),
			Errors:   []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
			Handlers: []fiber.Handler{a.updateStaff}}},
		Route{Roles: managers, Route: edge.Route{Method: http.MethodGet, Path: "/audit", Summary: "The audit log of staff actions, newest first", Tags: identity,
			Request: new(auditRequest), Response: new(auditPage), Errors: []int{http.StatusUnauthorized, http.StatusForbidden}, Handlers: []fiber.Handler{a.listAudit}}},
	)

	// --- payments ---
	rs = append(rs, a.productRoutes()...)
	rs = append(rs, a.flashSaleRoutes()...)
	rs = append(rs, a.orderRoutes()...)
	rs = append(rs, a.refundRoutes()...)
	rs = append(rs, a.commissionRoutes()...)

	// --- live ---
	rs = append(rs, a.showRoutes()...)

	// --- community ---
	rs = append(rs, a.memberRoutes()...)
	rs = append(rs, a.tagRoutes()...)
	rs = append(rs, a.segmentRoutes()...)
	rs = append(rs, a.couponRoutes()...)
	rs = append(rs, a.campaignRoutes()...)
	rs = append(rs, a.wecomRoutes()...)

	return rs
}
