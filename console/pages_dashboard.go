package console

import (
	"net/http"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/analytics"
	"github.com/siyu-live/siyu/live"
)

// dashboardPage is what the dashboard shows.
type dashboardPage struct {
	Live     []live.Show
	Upcoming []live.Show
	Days     []analytics.Day
	Today    analytics.Day
	Chart    chartSVG
}

// pageDashboard shows today's and upcoming shows, and the last week's
// sales and new members.
func (a *API) pageDashboard(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := a.view(c, "dashboard")
	d := dashboardPage{}
	shows, err := a.shows.ListShows(ctx, live.ShowFilter{Statuses: []live.Status{live.StatusLive, live.StatusScheduled}, Limit: 100})
	if err != nil {
		return err
	}
	// Soonest first; shows scheduled in the past but never started stay
	// listed until someone starts or cancels them.
	slices.Reverse(shows)
	for _, s := range shows {
		if s.Status == live.StatusLive {
			d.Live = append(d.Live, s)
		} else if len(d.Upcoming) < 10 {
			d.Upcoming = append(d.Upcoming, s)
		}
	}
	if a.analytics != nil {
		if d.Days, err = a.analytics.Days(ctx, 7); err != nil {
			return err
		}
		d.Today = d.Days[len(d.Days)-1]
		d.Chart = salesChart(d.Days, v, a.web.loc)
	}
	v.Data = d
	return a.render(c, http.StatusOK, "dashboard", v)
}
