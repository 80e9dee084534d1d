package console

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/analytics"
)

// Analytics is what the web console needs of show analytics
// (*analytics.Service).
type Analytics interface {
	Report(ctx context.Context, showID string) (analytics.Report, error)
	Pulse(ctx context.Context, showID string) (analytics.Pulse, error)
	CommentsAfter(ctx context.Context, showID, after string, limit int) ([]analytics.ChatLine, error)
	FeedEnd(ctx context.Context, showID string) (int64, error)
	CommentsSince(ctx context.Context, showID string, seq int64, limit int) ([]analytics.ChatLine, error)
	RecentOrders(ctx context.Context, showID string, limit int) ([]analytics.OrderLine, error)
	ExportOrders(ctx context.Context, showID string, w io.Writer) error
	ExportComments(ctx context.Context, showID string, w io.Writer) error
	ExportSessions(ctx context.Context, showID string, w io.Writer) error
	Days(ctx context.Context, n int) ([]analytics.Day, error)
}

// reportPage is a show's report with its charts.
type reportPage struct {
	R          analytics.Report
	Viewers    chartSVG
	Funnel     chartSVG
	Watch      chartSVG
	Engagement chartSVG
}

// pageReport shows a show's figures and charts, during or after it.
func (a *API) pageReport(c *fiber.Ctx) error {
	if a.analytics == nil {
		return errNoService
	}
	r, err := a.analytics.Report(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	v := a.view(c, "shows")
	v.Data = reportPage{R: r, Viewers: viewersChart(r, v, a.web.loc), Funnel: funnelChart(r, v), Watch: watchChart(r, v),
		Engagement: engagementChart(r, v, a.web.loc)}
	return a.render(c, http.StatusOK, "report", v)
}

// exportCSV answers a show's orders, comments or viewer sessions as CSV.
func (a *API) exportCSV(c *fiber.Ctx) error {
	if a.analytics == nil {
		return errNoService
	}
	exports := map[string]func(context.Context, string, io.Writer) error{
		"orders.csv":   a.analytics.ExportOrders,
		"comments.csv": a.analytics.ExportComments,
		"sessions.csv": a.analytics.ExportSessions,
	}
	kind := c.Params("kind")
	export, ok := exports[kind]
	if !ok {
		return fiber.ErrNotFound
	}
	showID := c.Params("id")
	var buf bytes.Buffer
	if err := export(c.UserContext(), showID, &buf); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="show-`+safeFileName(showID)+"-"+kind+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}

// safeFileName keeps letters, digits and dashes of an id.
func safeFileName(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '-' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			out = append(out, r)
		}
	}
	return string(out)
}
