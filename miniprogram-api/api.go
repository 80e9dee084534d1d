// Package miniprogramapi is the shopper HTTP API (/mp/v1) that a brand's
// mini-program calls: its routes, handlers, request and response types,
// member authentication and its error table.
package miniprogramapi

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
)

// Prefix is where the API is mounted.
const Prefix = "/mp/v1"

// Config holds what the API needs: the services it calls, each behind a
// small interface declared in this package.
type Config struct {
	Logger   *slog.Logger
	Sessions Sessions
	// SessionCacheTTL is how long a token's member is remembered in this
	// process instead of asking Sessions on every request; zero asks every
	// time. A token logged out elsewhere keeps working here this long.
	SessionCacheTTL time.Duration

	// --- identity ---
	Members Members

	// --- payments ---
	Orders     Orders
	FlashSales FlashSales

	// --- live ---
	Shows Shows

	// --- community ---
	Coupons Coupons

	// --- analytics ---
	Clicks Clicks
}

// API is the shopper HTTP API.
type API struct {
	log          *slog.Logger
	sessions     Sessions
	sessionCache *sessionCache

	// --- identity ---
	members Members

	// --- payments ---
	orders     Orders
	flashSales FlashSales

	// --- live ---
	shows Shows
	join  joinJSON

	// --- community ---
	coupons Coupons

	// --- analytics ---
	clicks Clicks
}

// New returns the API.
func New(cfg Config) *API {
	return &API{
		log:          cfg.Logger,
		sessions:     cfg.Sessions,
		sessionCache: newSessionCache(cfg.SessionCacheTTL),
		// --- identity ---
		members: cfg.Members,
		// --- payments ---
		orders:     cfg.Orders,
		flashSales: cfg.FlashSales,
		// --- live ---
		shows: cfg.Shows,
		// --- community ---
		coupons: cfg.Coupons,
		// --- analytics ---
		clicks: cfg.Clicks,
	}
}

// Mount registers every route under Prefix on root and describes them in doc.
func (a *API) Mount(root *fiber.App, doc *edge.Doc) error {
	sub := fiber.New(fiber.Config{ErrorHandler: edge.ErrorHandler(a.log, errorTable)})
	if err := doc.Register(sub, Prefix, a.routes()...); err != nil {
		return err
	}
	root.Mount(Prefix, sub)
	return nil
}

// handlers lists a route's handlers.
func handlers(h ...fiber.Handler) []fiber.Handler { return h }
