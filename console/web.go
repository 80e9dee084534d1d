package console

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/csrf"

	"github.com/siyu-live/siyu/edge"
)

// WebPrefix is where the server-rendered web console is served. Its pages
// are HTML, outside the JSON API (and so outside the OpenAPI document).
const WebPrefix = "/console"

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Page is a web console page or form handler with the staff roles
// allowed to use it. A page with no roles is refused by MountWeb, except
// the sign-in page, which is Public.
type Page struct {
	Method  string
	Path    string
	Roles   []string
	Public  bool
	Handler fiber.Handler
}

// web is the web console's state: its parsed pages, message catalog,
// CSRF token store and the control rooms' live feeds.
type web struct {
	storage  fiber.Storage
	pages    map[string]*template.Template
	loc      *time.Location
	hub      *pulseHub
	stopOnce sync.Once
	stop     chan struct{}
}

func newWeb(storage fiber.Storage, pulseEvery time.Duration) *web {
	if pulseEvery <= 0 {
		pulseEvery = time.Second
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		// Without tzdata, China Standard Time is UTC+8 all year.
		loc = time.FixedZone("CST", 8*3600)
	}
	w := &web{storage: storage, loc: loc, stop: make(chan struct{})}
	w.hub = newPulseHub(pulseEvery, w.stop)
	return w
}

// Pages returns every web console page with its roles, for tests.
func (a *API) Pages() []Page { return a.webPages() }

// MountWeb serves the web console under WebPrefix on root: every page
// checks the staff session and role, and every form carries a CSRF token.
func (a *API) MountWeb(root *fiber.App) error {
	if a.web.pages == nil {
		pages, err := parsePages(a.web.loc)
		if err != nil {
			return err
		}
		a.web.pages = pages
	}
	guard := csrf.New(csrf.Config{
		Extractor:         csrfToken,
		CookieName:        csrfCookie,
		CookiePath:        WebPrefix,
		CookieHTTPOnly:    true,
		CookieSecure:      a.secureCookie,
		CookieSameSite:    fiber.CookieSameSiteStrictMode,
		CookieSessionOnly: true,
		Expiration:        12 * time.Hour,
		Storage:           a.web.storage,
		ContextKey:        csrfKey,
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			return &edge.Problem{Status: http.StatusForbidden, Code: "csrf", Message: "the form expired; reload the page and send it again"}
		},
	})
	for _, p := range a.webPages() {
		if len(p.Roles) == 0 && !p.Public {
			return fmt.Errorf("console page %s %s declares no roles", p.Method, p.Path)
		}
		chain := []fiber.Handler{a.webErrors, webLanguage, guard}
		if !p.Public {
			chain = append(chain, a.requirePage(p.Roles))
		}
		root.Add(p.Method, WebPrefix+p.Path, append(chain, p.Handler)...)
	}
	root.Get(WebPrefix+"/static/:file", serveStatic)
	root.Hooks().OnShutdown(func() error {
		// Live feeds end, so shutting down does not wait for them.
		a.web.stopOnce.Do(func() { close(a.web.stop) })
		return nil
	})
	return nil
}

// The names the web console keeps in cookies and fiber's locals.
const (
	csrfCookie = "siyu_csrf"
	csrfKey    = "csrf"
	csrfField  = "_csrf"
	csrfHeader = "X-CSRF-Token"
)

// csrfToken reads a form's token from its hidden field, or a script's
// from the X-CSRF-Token header.
func csrfToken(c *fiber.Ctx) (string, error) {
	if t := c.Get(csrfHeader); t != "" {
		return t, nil
	}
	if t := c.FormValue(csrfField); t != "" {
		return t, nil
	}
	return "", csrf.ErrTokenNotFound
}

// requirePage lets a signed-in staff member whose role is in roles
// through. Without a session a page asks for one (GET) or is refused;
// another role is refused with 403.
func (a *API) requirePage(roles []string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		token := c.Cookies(SessionCookie)
		var s Staff
		var err error
		if token != "" {
			s, err = a.sessions.AuthenticateStaff(c.UserContext(), token)
		}
		if token == "" || err != nil {
			if c.Method() == http.MethodGet && !strings.HasSuffix(c.Path(), "/events") {
				return c.Redirect(WebPrefix+"/sign-in?next="+url.QueryEscape(c.OriginalURL()), http.StatusSeeOther)
			}
			return &edge.Problem{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "sign in first"}
		}
		if !slices.Contains(roles, s.Role) {
			return &edge.Problem{Status: http.StatusForbidden, Code: "forbidden", Message: "your role (" + s.Role + ") may not use this page"}
		}
		c.Locals(staffKey, s)
		return c.Next()
	}
}

// webErrors answers an error of a page with an HTML page (or JSON for
// the control room's scripts), saying what went wrong in the staff
// member's language.
func (a *API) webErrors(c *fiber.Ctx) error {
	err := c.Next()
	if err == nil {
		return nil
	}
	if errors.Is(err, errNoService) {
		err = &edge.Problem{Status: http.StatusServiceUnavailable, Code: "not_connected", Message: err.Error()}
	}
	p := edge.Resolve(err, errorTable)
	v := a.view(c, "")
	if p.Status == http.StatusInternalServerError {
		v.logErr(err)
		err = nil // its details stay in the log
	}
	msg := v.problem(p, err)
	if wantsJSON(c) {
		return c.Status(p.Status).JSON(edge.ErrorBody{Error: edge.ErrorDetail{Code: p.Code, Message: msg, RequestID: edge.RequestID(c)}})
	}
	v.Title = fmt.Sprintf("%d", p.Status)
	v.Data = errorPage{Status: p.Status, Message: msg, RequestID: edge.RequestID(c)}
	return a.render(c, p.Status, "error", v)
}

// errorPage is what the error page shows.
type errorPage struct {
	Status    int
	Message   string
	RequestID string
}

// wantsJSON reports whether a script of the console sent the request.
func wantsJSON(c *fiber.Ctx) bool {
	return c.Get("X-Siyu-Fetch") == "1"
}

// serveStatic serves the console's embedded scripts and style sheet.
func serveStatic(c *fiber.Ctx) error {
	name := path.Base(c.Params("file"))
	b, err := fs.ReadFile(staticFiles, "static/"+name)
	if err != nil {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderContentType, mime.TypeByExtension(path.Ext(name)))
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(b)
}

// safeNext returns where to go after signing in: a console path, never
// another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, WebPrefix+"/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") ||
		strings.HasPrefix(next, WebPrefix+"/api/") {
		return WebPrefix + "/"
	}
	return next
}

// errNoService is a page whose service is not connected.
var errNoService = errors.New("this part of Siyu is not connected")
