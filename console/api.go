// Package console is the staff side of Siyu: the JSON API under
// /console/api/v1 and the server-rendered web console. Every route declares
// the staff roles allowed to use it.
package console

import (
	"fmt"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
)

// Prefix is where the JSON API is mounted.
const Prefix = "/console/api/v1"

// Config holds what the console needs.
type Config struct {
	Logger   *slog.Logger
	Sessions Sessions
}

// API is the staff JSON API.
type API struct {
	log      *slog.Logger
	sessions Sessions
}

// New returns the API.
func New(cfg Config) *API {
	return &API{log: cfg.Logger, sessions: cfg.Sessions}
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
