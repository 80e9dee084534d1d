package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
)

// view is what every page template sees: the staff member, the language,
// the CSRF token, what the last form did, and the page's own Data.
type view struct {
	Lang   string
	Staff  Staff
	CSRF   string
	Title  string
	Nav    string
	Path   string
	Notice string
	// Error is the form's error; Fields the errors of single fields and
	// Form the values sent, to show them again.
	Error  string
	Fields map[string]string
	Form   map[string]string
	Data   any

	logErr func(error)
}

// view starts the view of a page of section nav.
func (a *API) view(c *fiber.Ctx, nav string) *view {
	v := &view{Lang: language(c), Staff: currentStaff(c), Nav: nav, Path: c.Path(), Fields: map[string]string{}, Form: map[string]string{}}
	method, path, rid := c.Method(), c.Path(), edge.RequestID(c)
	v.logErr = func(err error) {
		if a.log != nil {
			a.log.Error("internal error", "request_id", rid, "method", method, "path", path, "err", err)
		}
	}
	v.CSRF, _ = c.Locals(csrfKey).(string)
	if done := c.Query("done"); done != "" && validKey.MatchString(done) {
		v.Notice = v.T("done." + done)
	}
	return v
}

// T translates a message key into the view's language; args fill its
// %s/%d verbs.
func (v *view) T(key string, args ...any) string { return translate(v.Lang, key, args...) }

// Can reports whether the staff member's role may open a section.
func (v *view) Can(section string) bool { return slices.Contains(sectionRoles[section], v.Staff.Role) }

// Role names a role in the view's language.
func (v *view) Role(role string) string { return v.T("role." + role) }

// problem is an error's message for the staff member: the translation of
// its code when the catalog has one, else the domain's own words; a
// refusal (4xx) also says what exactly was wrong when the domain said
// more than its sentinel.
func (v *view) problem(p *edge.Problem, err error) string {
	msg := p.Message
	if t := translate(v.Lang, "err."+p.Code); t != "err."+p.Code {
		msg = t
	}
	var own *edge.Problem
	if p.Status >= 400 && p.Status < 500 && err != nil && !errors.As(err, &own) {
		if detail := err.Error(); detail != p.Message && detail != msg {
			msg += " (" + detail + ")"
		}
	}
	return msg
}

// fail records err as the form's error and returns the status to answer
// with; an unexpected error is logged and shown without its details.
func (v *view) fail(err error) int {
	p := edge.Resolve(err, errorTable)
	if p.Status == http.StatusInternalServerError {
		if v.logErr != nil {
			v.logErr(err)
		}
		v.Error = v.problem(p, nil)
		return p.Status
	}
	v.Error = v.problem(p, err)
	return p.Status
}

// keep remembers the submitted form values to show them again.
func (v *view) keep(c *fiber.Ctx, names ...string) {
	for _, n := range names {
		v.Form[n] = c.FormValue(n)
	}
}

// NavLinks are where the sections of the navigation start.
func (v *view) NavLinks() map[string]string { return navLinks }

var navLinks = map[string]string{
	"dashboard": WebPrefix + "/",
	"shows":     WebPrefix + "/shows",
	"products":  WebPrefix + "/products",
	"orders":    WebPrefix + "/orders",
	"members":   WebPrefix + "/members",
	"campaigns": WebPrefix + "/campaigns",
	"staff":     WebPrefix + "/staff",
}

// sectionRoles are the roles that see each section of the navigation.
var sectionRoles = map[string][]string{
	"dashboard": allRoles(),
	"shows":     allRoles(),
	"products":  catalogReaders,
	"orders":    orderRoles,
	"members":   communityReaders(),
	"campaigns": communityManagers(),
	"staff":     {RoleOwner, RoleAdmin},
}

// render writes page name with v.
func (a *API) render(c *fiber.Ctx, status int, name string, v *view) error {
	t, ok := a.web.pages[name]
	if !ok {
		return fmt.Errorf("console: no page template %q", name)
	}
	if v.Title == "" {
		v.Title = v.T("title." + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return fmt.Errorf("console: render %s: %w", name, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'")
	c.Set("X-Content-Type-Options", "nosniff")
	return c.Status(status).Send(buf.Bytes())
}

// done redirects after a form to to, where the page says what was done.
func done(c *fiber.Ctx, to, what string) error {
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	return c.Redirect(WebPrefix+to+sep+"done="+what, http.StatusSeeOther)
}

// parsePages parses every page with the layout: one template set per page.
func parsePages(loc *time.Location) (map[string]*template.Template, error) {
	funcs := templateFuncs(loc)
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console: parse layout: %w", err)
	}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFiles, n)
		if err != nil {
			return nil, fmt.Errorf("console: parse %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// templateFuncs are the helpers the pages use. Money is fen, shown as
// yuan; times are shown in Asia/Shanghai.
func templateFuncs(loc *time.Location) template.FuncMap {
	return template.FuncMap{
		"yuan": func(fen int64) string {
			sign := ""
			if fen < 0 {
				sign, fen = "-", -fen
			}
			return fmt.Sprintf("%s¥%d.%02d", sign, fen/100, fen%100)
		},
		"when": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				if v.IsZero() {
					return "—"
				}
				return v.In(loc).Format("2006-01-02 15:04")
			case *time.Time:
				if v == nil || v.IsZero() {
					return "—"
				}
				return v.In(loc).Format("2006-01-02 15:04")
			}
			return "—"
		},
		"clock": func(t time.Time) string { return t.In(loc).Format("15:04:05") },
		"local": func(t time.Time) string { return localInput(t, loc) },
		"minutes": func(d time.Duration) string {
			m := int(d / time.Minute)
			s := int(d%time.Minute) / int(time.Second)
			return fmt.Sprintf("%d:%02d", m, s)
		},
		"pct": func(part, whole int) string {
			if whole == 0 {
				return "—"
			}
			return fmt.Sprintf("%.1f%%", math.Round(float64(part)*1000/float64(whole))/10)
		},
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"date": func(t time.Time) string { return t.In(loc).Format("2006-01-02") },
		"has":  func(list []string, v string) bool { return slices.Contains(list, v) },
		"list": func(v ...string) []string { return v },
		"add":  func(a, b int) int { return a + b },
		"runDone": func(r community.RunProgress) int {
			n := 0
			for _, ch := range r.Channels {
				n += ch.Done()
			}
			return n
		},
	}
}

// localInput formats t for a datetime-local input, in loc.
func localInput(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02T15:04")
}

// parseLocal reads a datetime-local input as a time in loc.
func parseLocal(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time", s)
}
