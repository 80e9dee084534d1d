package console

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/staff"
)

// showsPage is the schedule.
type showsPage struct {
	Status string
	Shows  []live.Show
}

// pageShows lists shows, latest first, optionally of one status.
func (a *API) pageShows(c *fiber.Ctx) error {
	v := a.view(c, "shows")
	f := live.ShowFilter{Limit: 100}
	st := live.Status(c.Query("status"))
	if slices.Contains([]live.Status{live.StatusScheduled, live.StatusLive, live.StatusEnded, live.StatusReplayReady, live.StatusCancelled}, st) {
		f.Statuses = []live.Status{st}
	}
	shows, err := a.shows.ListShows(c.UserContext(), f)
	if err != nil {
		return err
	}
	v.Data = showsPage{Status: string(st), Shows: shows}
	return a.render(c, http.StatusOK, "shows", v)
}

// showFormPage is the form to schedule or edit a show.
type showFormPage struct {
	Show       *live.Show
	Hosts      []staff.Account
	Assistants []staff.Account
	Picked     []string
}

// showForm prepares the show form: hosts are owners, admins and hosts;
// assistants are assistants.
func (a *API) showForm(c *fiber.Ctx, v *view, show *live.Show) error {
	accs, err := a.accounts.List(c.UserContext())
	if err != nil {
		return err
	}
	d := showFormPage{Show: show}
	for _, acc := range accs {
		switch acc.Role {
		case RoleOwner, RoleAdmin, RoleHost:
			d.Hosts = append(d.Hosts, acc)
		case RoleAssistant:
			d.Assistants = append(d.Assistants, acc)
		}
	}
	d.Picked = peekAll(c, "assistant_ids")
	if show != nil && len(v.Form) == 0 {
		v.Form = map[string]string{"title": show.Title, "cover_url": show.CoverURL, "scheduled_at": localInput(show.ScheduledAt, a.web.loc),
			"host_staff_id": show.HostStaffID, "host_name": show.HostName, "mode": string(show.Mode)}
		d.Picked = show.AssistantIDs
	}
	v.Data = d
	return nil
}

func peekAll(c *fiber.Ctx, name string) []string {
	var out []string
	for _, b := range c.Context().PostArgs().PeekMulti(name) {
		out = append(out, string(b))
	}
	return out
}

// pageNewShow shows the form to schedule a show.
func (a *API) pageNewShow(c *fiber.Ctx) error {
	v := a.view(c, "shows")
	v.Form["host_staff_id"] = currentStaff(c).ID
	v.Form["mode"] = string(live.ModeWebRTC)
	if err := a.showForm(c, v, nil); err != nil {
		return err
	}
	return a.render(c, http.StatusOK, "show_form", v)
}

// readShowForm reads and checks the show form; field errors go to v.
func (a *API) readShowForm(c *fiber.Ctx, v *view) live.ShowInput {
	v.keep(c, "title", "cover_url", "scheduled_at", "host_staff_id", "host_name", "mode")
	in := live.ShowInput{Title: strings.TrimSpace(c.FormValue("title")), CoverURL: strings.TrimSpace(c.FormValue("cover_url")),
		HostStaffID: c.FormValue("host_staff_id"), HostName: strings.TrimSpace(c.FormValue("host_name")),
		AssistantIDs: peekAll(c, "assistant_ids"), Mode: live.Mode(c.FormValue("mode"))}
	if in.Title == "" {
		v.Fields["title"] = v.T("form.required")
	}
	if in.HostStaffID == "" {
		v.Fields["host_staff_id"] = v.T("form.required")
	}
	at, err := parseLocal(c.FormValue("scheduled_at"), a.web.loc)
	if err != nil {
		v.Fields["scheduled_at"] = v.T("form.datetime")
	}
	in.ScheduledAt = at
	return in
}

// showFieldError puts a live validation error next to its field.
func showFieldError(v *view, err error) int {
	var ve *live.ValidationError
	if errors.As(err, &ve) {
		v.Fields[ve.Field] = ve.Error()
		return http.StatusUnprocessableEntity
	}
	return v.fail(err)
}

// formCreateShow schedules a show.
func (a *API) formCreateShow(c *fiber.Ctx) error {
	v := a.view(c, "shows")
	in := a.readShowForm(c, v)
	if len(v.Fields) == 0 {
		s, err := a.shows.CreateShow(c.UserContext(), currentStaff(c).ID, in)
		if err == nil {
			return done(c, "/shows/"+s.ID, "show_created")
		}
		status := showFieldError(v, err)
		if ferr := a.showForm(c, v, nil); ferr != nil {
			return ferr
		}
		return a.render(c, status, "show_form", v)
	}
	if err := a.showForm(c, v, nil); err != nil {
		return err
	}
	return a.render(c, http.StatusUnprocessableEntity, "show_form", v)
}

// pageEditShow shows the form to edit a scheduled show.
func (a *API) pageEditShow(c *fiber.Ctx) error {
	s, err := a.shows.Show(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	v := a.view(c, "shows")
	if err := a.showForm(c, v, s); err != nil {
		return err
	}
	return a.render(c, http.StatusOK, "show_form", v)
}

// formUpdateShow edits a scheduled show.
func (a *API) formUpdateShow(c *fiber.Ctx) error {
	ctx := c.UserContext()
	s, err := a.shows.Show(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	v := a.view(c, "shows")
	in := a.readShowForm(c, v)
	status := http.StatusUnprocessableEntity
	if len(v.Fields) == 0 {
		_, err := a.shows.UpdateShow(ctx, currentStaff(c).ID, s.ID, live.ShowPatch{Title: &in.Title, CoverURL: &in.CoverURL,
			ScheduledAt: &in.ScheduledAt, HostStaffID: &in.HostStaffID, HostName: &in.HostName, AssistantIDs: &in.AssistantIDs, Mode: &in.Mode})
		if err == nil {
			return done(c, "/shows/"+s.ID, "show_updated")
		}
		status = showFieldError(v, err)
	}
	if err := a.showForm(c, v, s); err != nil {
		return err
	}
	return a.render(c, status, "show_form", v)
}

// showPage is one show with its lineup and ingress.
type showPage struct {
	Show     *live.Show
	Counts   live.Counts
	Lineup   []catalog.LineupItem
	Products []catalog.Product
	Ingress  *live.Ingress
	Staff    map[string]string
}

// loadShowPage reads what the show page shows.
func (a *API) loadShowPage(c *fiber.Ctx, v *view) (*showPage, error) {
	ctx := c.UserContext()
	s, err := a.shows.Show(ctx, c.Params("id"))
	if err != nil {
		return nil, err
	}
	d := &showPage{Show: s, Staff: map[string]string{}}
	if d.Counts, err = a.shows.Counts(ctx, s.ID); err != nil {
		return nil, err
	}
	if d.Lineup, err = a.catalog.Lineup(ctx, s.ID); err != nil {
		return nil, err
	}
	if v.Can("products") {
		if d.Products, err = a.catalog.Products(ctx, catalog.ProductFilter{PublishedOnly: true, Limit: 200}); err != nil {
			return nil, err
		}
	}
	accs, err := a.accounts.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, acc := range accs {
		d.Staff[acc.ID] = acc.Name
	}
	v.Data = d
	return d, nil
}

// pageShow shows a show: its schedule, lineup and ingress keys.
func (a *API) pageShow(c *fiber.Ctx) error {
	v := a.view(c, "shows")
	if _, err := a.loadShowPage(c, v); err != nil {
		return err
	}
	return a.render(c, http.StatusOK, "show", v)
}

// formLineup adds an SKU to the show's lineup at a live price, or takes
// one out.
func (a *API) formLineup(c *fiber.Ctx) error {
	ctx := c.UserContext()
	showID := c.Params("id")
	items, err := a.catalog.Lineup(ctx, showID)
	if err != nil {
		return err
	}
	entries := make([]catalog.LineupEntry, 0, len(items)+1)
	sku := c.FormValue("sku_id")
	for _, it := range items {
		if it.SKUID != sku {
			entries = append(entries, catalog.LineupEntry{SKUID: it.SKUID, LivePrice: it.LivePrice})
		}
	}
	v := a.view(c, "shows")
	if c.FormValue("op") != "remove" {
		price, perr := parseYuan(c.FormValue("live_price"))
		switch {
		case sku == "":
			v.Fields["sku_id"] = v.T("form.required")
		case perr != nil:
			v.Fields["live_price"] = v.T("form.money")
		}
		if len(v.Fields) > 0 {
			v.keep(c, "sku_id", "live_price")
			if _, err := a.loadShowPage(c, v); err != nil {
				return err
			}
			return a.render(c, http.StatusUnprocessableEntity, "show", v)
		}
		entries = append(entries, catalog.LineupEntry{SKUID: sku, LivePrice: price})
	}
	if _, err := a.catalog.SetLineup(ctx, currentStaff(c).ID, showID, entries); err != nil {
		status := v.fail(err)
		v.keep(c, "sku_id", "live_price")
		if _, err := a.loadShowPage(c, v); err != nil {
			return err
		}
		return a.render(c, status, "show", v)
	}
	return done(c, "/shows/"+showID, "lineup_saved")
}

// formShowTransition starts, ends or cancels a show.
func (a *API) formShowTransition(verb string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, me, id := c.UserContext(), currentStaff(c).ID, c.Params("id")
		var err error
		switch verb {
		case "start":
			_, err = a.shows.StartShow(ctx, me, id)
		case "end":
			_, err = a.shows.EndShow(ctx, me, id)
		default:
			_, err = a.shows.CancelShow(ctx, me, id)
		}
		if err != nil {
			return showProblem(err)
		}
		to := "/shows/" + id
		if verb == "start" {
			to += "/live"
		}
		return done(c, to, "show_"+verb)
	}
}

// formIngress shows the show's RTMP or WHIP ingress: where to push and
// the stream key.
func (a *API) formIngress(c *fiber.Ctx) error {
	me := currentStaff(c)
	v := a.view(c, "shows")
	in, err := a.shows.CreateIngress(c.UserContext(), me.ID, privileged(me), c.Params("id"), live.IngressKind(c.FormValue("kind")))
	status := http.StatusOK
	if err != nil {
		status = v.fail(showProblem(err))
	}
	d, lerr := a.loadShowPage(c, v)
	if lerr != nil {
		return lerr
	}
	if err == nil {
		d.Ingress = &in
	}
	return a.render(c, status, "show", v)
}

// parseYuan reads an amount of yuan ("128", "128.5", "128.50") as fen.
func parseYuan(s string) (int64, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "¥"))
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 {
		return 0, strconv.ErrSyntax
	}
	y, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || y < 0 || y > 100_000_000 {
		return 0, strconv.ErrSyntax
	}
	f := int64(0)
	if frac != "" {
		for len(frac) < 2 {
			frac += "0"
		}
		if f, err = strconv.ParseInt(frac, 10, 64); err != nil || f < 0 {
			return 0, strconv.ErrSyntax
		}
	}
	return y*100 + f, nil
}
