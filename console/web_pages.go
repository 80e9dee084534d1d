package console

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// Roles of web console pages, as the JSON routes that do the same declare
// them.
var (
	webManagers   = []string{RoleOwner, RoleAdmin}
	webPresenters = []string{RoleOwner, RoleAdmin, RoleHost}
	webFloor      = []string{RoleOwner, RoleAdmin, RoleHost, RoleAssistant}
	webDropRoles  = []string{RoleOwner, RoleAdmin, RoleCommunityManager, RoleHost, RoleAssistant}
	// webReportRoles see show reports and their exports.
	webReportRoles = []string{RoleOwner, RoleAdmin, RoleHost, RoleAssistant, RoleCommunityManager}
)

// webPages lists every page and form of the web console with its roles.
func (a *API) webPages() []Page {
	get := func(path string, roles []string, h fiber.Handler) Page {
		return Page{Method: http.MethodGet, Path: path, Roles: roles, Handler: h}
	}
	post := func(path string, roles []string, h fiber.Handler) Page {
		return Page{Method: http.MethodPost, Path: path, Roles: roles, Handler: h}
	}
	return []Page{
		// Signing in and out.
		{Method: http.MethodGet, Path: "/sign-in", Public: true, Handler: a.pageSignIn},
		{Method: http.MethodPost, Path: "/sign-in", Public: true, Handler: a.formSignIn},
		post("/sign-out", allRoles(), a.formSignOut),

		get("/", allRoles(), a.pageDashboard),

		// Shows: the schedule, lineups, ingress keys.
		get("/shows", allRoles(), a.pageShows),
		get("/shows/new", webManagers, a.pageNewShow),
		post("/shows", webManagers, a.formCreateShow),
		get("/shows/:id", allRoles(), a.pageShow),
		get("/shows/:id/edit", webManagers, a.pageEditShow),
		post("/shows/:id", webManagers, a.formUpdateShow),
		post("/shows/:id/lineup", catalogRoles, a.formLineup),
		post("/shows/:id/start", webPresenters, a.formShowTransition("start")),
		post("/shows/:id/end", webPresenters, a.formShowTransition("end")),
		post("/shows/:id/cancel", webManagers, a.formShowTransition("cancel")),
		post("/shows/:id/ingress", webPresenters, a.formIngress),

		// The live control room.
		get("/shows/:id/live", webFloor, a.pageControlRoom),
		get("/shows/:id/live/events", webFloor, a.streamPulse),
		post("/shows/:id/live/actions", webFloor, a.formAction),
		post("/shows/:id/live/flash-sales", catalogRoles, a.formLiveFlashSale),
		post("/shows/:id/live/coupon-drops", webDropRoles, a.formCouponDrop),

		// After the show.
		get("/shows/:id/report", webReportRoles, a.pageReport),
		get("/shows/:id/report/:kind", webReportRoles, a.exportCSV),

		// Products and flash sales.
		get("/products", catalogReaders, a.pageProducts),
		post("/products", catalogRoles, a.formCreateProduct),
		get("/products/:id", catalogReaders, a.pageProduct),
		post("/products/:id/publish", catalogRoles, a.formPublish),
		post("/products/:id/skus", catalogRoles, a.formAddSKU),
		post("/skus/:id/stock", catalogRoles, a.formStock),
		get("/flash-sales", catalogReaders, a.pageFlashSales),
		post("/flash-sales", catalogRoles, a.formCreateFlashSale),

		// Orders, refunds, shipping.
		get("/orders", orderRoles, a.pageOrders),
		get("/orders/:id", orderRoles, a.pageOrder),
		post("/orders/:id/ship", orderRoles, a.formShip),
		post("/orders/:id/refund", orderRoles, a.formIssueRefund),
		get("/refunds", orderRoles, a.pageRefunds),
		post("/refunds/:id/approve", orderRoles, a.formDecideRefund(true)),
		post("/refunds/:id/reject", orderRoles, a.formDecideRefund(false)),

		// Members, tags and segments.
		get("/members", communityReaders(), a.pageMembers),
		get("/members/:id", communityReaders(), a.pageMember),
		get("/tags", communityReaders(), a.pageTags),
		post("/tags", communityManagers(), a.formCreateTag),
		post("/tags/:id/evaluate", communityManagers(), a.formEvaluateTag),
		get("/segments", communityReaders(), a.pageSegments),
		post("/segments", communityManagers(), a.formSegment),

		// Coupons and campaigns.
		get("/coupons", communityReaders(), a.pageCoupons),
		post("/coupons", communityManagers(), a.formCreateCouponTemplate),
		get("/campaigns", communityManagers(), a.pageCampaigns),
		post("/campaigns", communityManagers(), a.formCreateCampaign),
		get("/campaigns/:id", communityManagers(), a.pageCampaign),
		post("/campaigns/:id/:verb", communityManagers(), a.formCampaignVerb),

		// Staff and the audit log.
		get("/staff", webManagers, a.pageStaff),
		post("/staff", webManagers, a.formCreateStaff),
		post("/staff/:id", webManagers, a.formUpdateStaff),
		get("/audit", webManagers, a.pageAudit),
	}
}
