package edge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/swaggest/openapi-go"
	"github.com/swaggest/openapi-go/openapi31"
)

// Route is one JSON route: how fiber serves it and how the OpenAPI
// document describes it. Path uses fiber's syntax (/shows/:id).
type Route struct {
	Method  string
	Path    string
	Summary string
	Tags    []string
	// Request is a pointer to the request type: fields tagged path:"…",
	// query:"…" or header:"…" are parameters, json fields the body.
	Request any
	// Response is a pointer to the success body; nil means no body.
	Response any
	// Status is the success status; 200 when zero.
	Status int
	// Errors lists the error statuses the route may answer.
	Errors []int
	// Security names the scheme protecting the route ("member" or "staff").
	Security string
	// Handlers run in order; the last one is the route's handler.
	Handlers []fiber.Handler
}

// Doc is the OpenAPI 3.1 document of every JSON route, built as the routes
// are registered.
type Doc struct {
	mu        sync.Mutex
	reflector *openapi31.Reflector
	paths     map[string]bool
}

// NewDoc returns an empty document.
func NewDoc(title, version, description string) *Doc {
	r := openapi31.NewReflector()
	r.Spec.Info.WithTitle(title).WithVersion(version).WithDescription(description)
	r.Spec.SetHTTPBearerTokenSecurity("member", "opaque", "A shopper session token from POST /mp/v1/session.")
	r.Spec.SetAPIKeySecurity("staff", "siyu_staff", openapi.InCookie, "A staff session cookie from POST /console/api/v1/session.")
	return &Doc{reflector: r, paths: map[string]bool{}}
}

var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// OpenAPIPath converts a fiber path (/shows/:id) to OpenAPI form (/shows/{id}).
func OpenAPIPath(p string) string {
	return fiberParam.ReplaceAllString(p, "{$1}")
}

// Register adds routes to router (mounted at prefix) and to the document.
func (d *Doc) Register(router fiber.Router, prefix string, routes ...Route) error {
	for _, rt := range routes {
		if len(rt.Handlers) == 0 {
			return fmt.Errorf("route %s %s has no handler", rt.Method, rt.Path)
		}
		router.Add(rt.Method, rt.Path, rt.Handlers...)
		if err := d.describe(prefix, rt); err != nil {
			return err
		}
	}
	return nil
}

func (d *Doc) describe(prefix string, rt Route) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	full := OpenAPIPath(strings.TrimSuffix(prefix, "/") + rt.Path)
	oc, err := d.reflector.NewOperationContext(rt.Method, full)
	if err != nil {
		return fmt.Errorf("describe %s %s: %w", rt.Method, full, err)
	}
	oc.SetSummary(rt.Summary)
	oc.SetTags(rt.Tags...)
	if rt.Security != "" {
		oc.AddSecurity(rt.Security)
	}
	if rt.Request != nil {
		oc.AddReqStructure(rt.Request)
	}
	status := rt.Status
	if status == 0 {
		status = http.StatusOK
	}
	if rt.Response != nil {
		oc.AddRespStructure(rt.Response, openapi.WithHTTPStatus(status))
	} else {
		oc.AddRespStructure(nil, openapi.WithHTTPStatus(status))
	}
	errs := append([]int{http.StatusBadRequest, http.StatusInternalServerError}, rt.Errors...)
	seen := map[int]bool{}
	for _, s := range errs {
		if seen[s] {
			continue
		}
		seen[s] = true
		oc.AddRespStructure(new(ErrorBody), openapi.WithHTTPStatus(s))
	}
	if err := d.reflector.AddOperation(oc); err != nil {
		return fmt.Errorf("describe %s %s: %w", rt.Method, full, err)
	}
	d.paths[strings.ToUpper(rt.Method)+" "+full] = true
	return nil
}

// Operations lists "METHOD /path" for every documented route, sorted.
func (d *Doc) Operations() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.paths))
	for p := range d.paths {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// JSON renders the document.
func (d *Doc) JSON() ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return json.MarshalIndent(d.reflector.Spec, "", "  ")
}

// Serve answers GET /openapi.json with the document.
func (d *Doc) Serve(c *fiber.Ctx) error {
	b, err := d.JSON()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(b)
}
