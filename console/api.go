// Package console is the staff side of Siyu: the JSON API under
// /console/api/v1 and the server-rendered web console. Every route declares
// the staff roles allowed to use it.
package console

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
)

// Prefix is where the JSON API is mounted.
const Prefix = "/console/api/v1"

// Config holds what the console needs.
type Config struct {
	Logger   *slog.Logger
	Sessions Sessions

	// --- identity ---
	SignIns       SignIns
	StaffAccounts StaffAccounts
	Audit         AuditLog
	// SecureCookie marks the session cookie Secure (SIYU_PUBLIC_URL is https).
	SecureCookie bool

	// --- payments ---
	Catalog          Catalog
	FlashSaleJournal FlashSaleJournal
	Payments         Payments

	// --- live ---
	Shows Shows

	// --- community ---
	Members   CommunityMembers
	Tags      Tags
	Segments  Segments
	Coupons   Coupons
	Campaigns Campaigns
	WeCom     WeCom

	// --- analytics ---
	// Analytics computes the show figures of the web console's control
	// room, reports and dashboard.
	Analytics Analytics
	// WebStorage keeps the web console's CSRF tokens (Redis in
	// production, so every replica knows them); nil keeps them in this
	// process's memory.
	WebStorage fiber.Storage
	// PulseEvery is how often the control room's live numbers are
	// recomputed for each show someone watches (1s by default).
	PulseEvery time.Duration
}

// API is the staff JSON API.
type API struct {
	log      *slog.Logger
	sessions Sessions

	// --- identity ---
	signIns      SignIns
	accounts     StaffAccounts
	audit        AuditLog
	secureCookie bool

	// --- payments ---
	catalog  Catalog
	journal  FlashSaleJournal
	payments Payments

	// --- live ---
	shows Shows

	// --- community ---
	members   CommunityMembers
	tags      Tags
	segments  Segments
	coupons   Coupons
	campaigns Campaigns
	wecom     WeCom

	// --- analytics ---
	analytics Analytics
	web       *web
}

// New returns the API.
func New(cfg Config) *API {
	return &API{
		log:      cfg.Logger,
		sessions: cfg.Sessions,
		// --- identity ---
		signIns:      cfg.SignIns,
		accounts:     cfg.StaffAccounts,
		audit:        cfg.Audit,
		secureCookie: cfg.SecureCookie,
		// --- payments ---
		catalog:  cfg.Catalog,
		journal:  cfg.FlashSaleJournal,
		payments: cfg.Payments,
		// --- live ---
		shows: cfg.Shows,
		// --- community ---
		members:   cfg.Members,
		tags:      cfg.Tags,
		segments:  cfg.Segments,
		coupons:   cfg.Coupons,
		campaigns: cfg.Campaigns,
		wecom:     cfg.WeCom,
		// --- analytics ---
		analytics: cfg.Analytics,
		web:       newWeb(cfg.WebStorage, cfg.PulseEvery),
	}
}

// Route is an edge.Route with the staff roles allowed to call it. A route
// with no roles is a mistake that Mount refuses, except the sign-in route,
// which is marked Public.
type Route struct {
	edge.Route
	Roles  []string
	Public bool
}

// Mount registers every route under Prefix on root and describes them in doc.
func (a *API) Mount(root *fiber.App, doc *edge.Doc) error {
	sub := fiber.New(fiber.Config{ErrorHandler: edge.ErrorHandler(a.log, errorTable)})
	sub.Use(jsonOnly) // CSRF: see jsonOnly in session.go
	for _, r := range a.routes() {
		if len(r.Roles) == 0 && !r.Public {
			return fmt.Errorf("console route %s %s declares no roles", r.Method, r.Path)
		}
		if !r.Public {
			r.Handlers = a.allow(r.Roles, r.Handlers...)
			r.Security = "staff"
		}
		if err := doc.Register(sub, Prefix, r.Route); err != nil {
			return err
		}
	}
	root.Mount(Prefix, sub)
	return nil
}

// Routes returns every route with its roles, for tests and documentation.
func (a *API) Routes() []Route { return a.routes() }
