package console

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/siyu-live/siyu/analytics"
)

// The report's charts are SVG drawn on the server, so they need no
// script, print as they show, and look the same in every browser. They
// are drawn here, beside the pages, because they are presentation: the
// analytics package gives the numbers, the console decides how they look
// and labels them in the staff member's language.

// chartSVG is a drawn chart, safe to put in a page.
type chartSVG = template.HTML

// The drawing area of every chart, in SVG units; charts scale to their
// box.
const (
	chartW   = 720.0
	chartH   = 240.0
	padLeft  = 44.0
	padRight = 12.0
	padTop   = 16.0
	padBot   = 40.0
)

// halfW is the drawing width of a chart in a half-width card, so that its
// text stays as large as a full-width chart's.
const halfW = 400.0

// svgOpen starts a chart of w×h units with its accessible title.
func svgOpen(b *strings.Builder, class, title string, w, h float64) {
	fmt.Fprintf(b, `<svg class="chart %s" viewBox="0 0 %g %g" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		class, w, h, esc(title), esc(title))
}

func esc(s string) string { return html.EscapeString(s) }

// niceMax rounds a chart's top up to 1, 2, 4 or 5 times a power of ten,
// and to at least 4, so that counts get whole-number gridlines.
func niceMax(v float64) float64 {
	if v <= 4 {
		return 4
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 4, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// ticks is how many steps the y axis of top has: five when top is a
// multiple of five, else four (both give whole steps for niceMax's tops).
func ticks(top float64) int {
	if math.Mod(top, 5) == 0 {
		return 5
	}
	return 4
}

// axes draws the y gridlines with their values across a w×h chart.
func axes(b *strings.Builder, top, w, h float64) {
	plotH := h - padTop - padBot
	n := ticks(top)
	for i := 0; i <= n; i++ {
		y := padTop + plotH - plotH*float64(i)/float64(n)
		v := top * float64(i) / float64(n)
		fmt.Fprintf(b, `<line class="grid" x1="%g" y1="%.1f" x2="%g" y2="%.1f"/>`, padLeft, y, w-padRight, y)
		fmt.Fprintf(b, `<text class="axis" x="%g" y="%.1f" text-anchor="end">%s</text>`, padLeft-6, y+4, shortNumber(v))
	}
}

func shortNumber(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.1fw", v/10000)
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// viewersChart draws viewers over time, minute by minute, with the pins,
// flash sales and coupon drops marked.
func viewersChart(r analytics.Report, v *view, loc *time.Location) chartSVG {
	var b strings.Builder
	svgOpen(&b, "viewers", v.T("chart.viewers"), chartW, chartH)
	n := len(r.Minutes)
	if n == 0 || r.Start == nil {
		fmt.Fprintf(&b, `<text class="empty" x="%g" y="%g" text-anchor="middle">%s</text></svg>`, chartW/2, chartH/2, esc(v.T("chart.no_data")))
		return chartSVG(b.String())
	}
	most := 0
	for _, m := range r.Minutes {
		most = max(most, m.Viewers)
	}
	top := niceMax(float64(most))
	axes(&b, top, chartW, chartH)
	plotW, plotH := chartW-padLeft-padRight, chartH-padTop-padBot
	// Each minute holds its most viewers at once, drawn as a step across
	// the minute.
	span := float64(n)
	x := func(i float64) float64 { return padLeft + plotW*i/span }
	y := func(val int) float64 { return padTop + plotH - plotH*float64(val)/top }
	pts := make([]string, 0, 2*n)
	for i, m := range r.Minutes {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f %.1f,%.1f", x(float64(i)), y(m.Viewers), x(float64(i+1)), y(m.Viewers)))
	}
	area := fmt.Sprintf("%.1f,%.1f %s %.1f,%.1f", x(0), y(0), strings.Join(pts, " "), x(span), y(0))
	fmt.Fprintf(&b, `<polygon class="area" points="%s"/><polyline class="line" points="%s"/>`, area, strings.Join(pts, " "))
	// Time labels: about six along the axis, and the end.
	step := max(1, n/6)
	for i := 0; i < n; i += step {
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%g" text-anchor="middle">%s</text>`, x(float64(i)), chartH-padBot+16, r.Minutes[i].At.In(loc).Format("15:04"))
	}
	if r.End != nil {
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%g" text-anchor="end">%s</text>`, x(span), chartH-padBot+16, r.End.In(loc).Format("15:04"))
	}
	for _, m := range r.Markers {
		pos := m.At.Sub(*r.Start).Minutes()
		if pos < 0 || pos > span {
			continue
		}
		mx := x(pos)
		fmt.Fprintf(&b, `<g class="marker %s"><line x1="%.1f" y1="%g" x2="%.1f" y2="%g"/><circle cx="%.1f" cy="%g" r="4"/><title>%s %s · %s</title></g>`,
			markerClass(m.Kind), mx, padTop, mx, padTop+plotH, mx, padTop, esc(m.At.In(loc).Format("15:04")), esc(v.T("marker."+m.Kind)), esc(m.Label))
	}
	// The legend.
	lx := padLeft
	for _, k := range []string{analytics.MarkerPin, analytics.MarkerFlashSale, analytics.MarkerCouponDrop} {
		fmt.Fprintf(&b, `<g class="marker %s"><circle cx="%.1f" cy="%g" r="4"/></g><text class="legend" x="%.1f" y="%g">%s</text>`,
			markerClass(k), lx+4, chartH-10, lx+12, chartH-6, esc(v.T("marker."+k)))
		lx += 110
	}
	b.WriteString(`</svg>`)
	return chartSVG(b.String())
}

func markerClass(kind string) string {
	switch kind {
	case analytics.MarkerPin:
		return "pin"
	case analytics.MarkerFlashSale:
		return "sale"
	}
	return "drop"
}

// bar is one bar of a bar chart.
type bar struct {
	Label string
	Value float64
	Text  string
}

// barChart draws vertical bars with their values over them on a w×h
// chart.
func barChart(class, title string, bars []bar, w, h float64) chartSVG {
	var b strings.Builder
	svgOpen(&b, class, title, w, h)
	most := 0.0
	for _, br := range bars {
		most = math.Max(most, br.Value)
	}
	top := niceMax(most)
	axes(&b, top, w, h)
	plotW, plotH := w-padLeft-padRight, h-padTop-padBot
	slot := plotW / float64(max(len(bars), 1))
	for i, br := range bars {
		bh := plotH * br.Value / top
		bx := padLeft + slot*float64(i) + slot*0.15
		by := padTop + plotH - bh
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`,
			bx, by, slot*0.7, bh, esc(br.Label), esc(br.Text))
		fmt.Fprintf(&b, `<text class="value" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, bx+slot*0.35, by-4, esc(br.Text))
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%g" text-anchor="middle">%s</text>`, bx+slot*0.35, h-padBot+16, esc(br.Label))
	}
	b.WriteString(`</svg>`)
	return chartSVG(b.String())
}

// watchChart draws the watch-time histogram.
func watchChart(r analytics.Report, v *view) chartSVG {
	bars := make([]bar, len(r.Audience.WatchHistogram))
	for i, wb := range r.Audience.WatchHistogram {
		label := fmt.Sprintf("%d–%d %s", int(wb.From.Minutes()), int(wb.To.Minutes()), v.T("unit.min"))
		if wb.To == 0 {
			label = fmt.Sprintf("≥ %d %s", int(wb.From.Minutes()), v.T("unit.min"))
		}
		bars[i] = bar{Label: label, Value: float64(wb.Viewers), Text: fmt.Sprint(wb.Viewers)}
	}
	return barChart("watch", v.T("chart.watch"), bars, halfW, chartH)
}

// funnelChart draws the funnel from viewers to payers as shrinking bars
// with each step's rate from the one before.
func funnelChart(r analytics.Report, v *view) chartSVG {
	steps := []struct {
		key string
		n   int
	}{{"funnel.viewed", r.Funnel.Viewed}, {"funnel.clicked", r.Funnel.Clicked}, {"funnel.ordered", r.Funnel.Ordered}, {"funnel.paid", r.Funnel.Paid}}
	w, h := halfW, chartH
	var b strings.Builder
	svgOpen(&b, "funnel", v.T("chart.funnel"), w, h)
	most := max(steps[0].n, 1)
	for _, s := range steps {
		most = max(most, s.n)
	}
	rowH := (h - 16) / float64(len(steps))
	labelW := 110.0
	plotW := w - labelW - 100
	for i, s := range steps {
		w := plotW * float64(s.n) / float64(most)
		y := 8 + rowH*float64(i)
		x := labelW + (plotW-w)/2
		fmt.Fprintf(&b, `<text class="label" x="%g" y="%.1f" text-anchor="end">%s</text>`, labelW-10, y+rowH/2+4, esc(v.T(s.key)))
		fmt.Fprintf(&b, `<rect class="step step%d" x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="3"/>`, i, x, y+4, math.Max(w, 1), rowH-8)
		rate := ""
		if i > 0 {
			if prev := steps[i-1].n; prev > 0 {
				rate = fmt.Sprintf(" · %.1f%%", float64(s.n)*100/float64(prev))
			}
		}
		fmt.Fprintf(&b, `<text class="value" x="%g" y="%.1f">%d%s</text>`, labelW+plotW+10, y+rowH/2+4, s.n, esc(rate))
	}
	b.WriteString(`</svg>`)
	return chartSVG(b.String())
}

// engagementChart draws comments and likes per minute.
func engagementChart(r analytics.Report, v *view, loc *time.Location) chartSVG {
	var b strings.Builder
	svgOpen(&b, "engagement", v.T("chart.engagement"), chartW, chartH)
	n := len(r.Minutes)
	if n == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%g" y="%g" text-anchor="middle">%s</text></svg>`, chartW/2, chartH/2, esc(v.T("chart.no_data")))
		return chartSVG(b.String())
	}
	most := 0.0
	for _, m := range r.Minutes {
		most = math.Max(most, math.Max(float64(m.Comments), float64(m.Likes)))
	}
	top := niceMax(most)
	axes(&b, top, chartW, chartH)
	plotW, plotH := chartW-padLeft-padRight, chartH-padTop-padBot
	slot := plotW / float64(n)
	for i, m := range r.Minutes {
		x := padLeft + slot*float64(i)
		for j, val := range []float64{float64(m.Comments), float64(m.Likes)} {
			h := plotH * val / top
			fmt.Fprintf(&b, `<rect class="bar s%d" x="%.2f" y="%.1f" width="%.2f" height="%.1f"/>`, j, x+slot*float64(j)/2, padTop+plotH-h, slot/2, h)
		}
	}
	step := max(1, n/6)
	for i := 0; i < n; i += step {
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%g" text-anchor="middle">%s</text>`, padLeft+slot*(float64(i)+0.5), chartH-padBot+16, r.Minutes[i].At.In(loc).Format("15:04"))
	}
	fmt.Fprintf(&b, `<rect class="bar s0" x="%g" y="%g" width="10" height="10"/><text class="legend" x="%g" y="%g">%s</text>`, padLeft, chartH-15, padLeft+14, chartH-6, esc(v.T("chart.comments")))
	fmt.Fprintf(&b, `<rect class="bar s1" x="%g" y="%g" width="10" height="10"/><text class="legend" x="%g" y="%g">%s</text>`, padLeft+120, chartH-15, padLeft+134, chartH-6, esc(v.T("chart.likes")))
	b.WriteString(`</svg>`)
	return chartSVG(b.String())
}

// salesChart draws the dashboard's daily sales.
func salesChart(days []analytics.Day, v *view, loc *time.Location) chartSVG {
	bars := make([]bar, len(days))
	for i, d := range days {
		bars[i] = bar{Label: d.Date.In(loc).Format("01-02"), Value: float64(d.GMV) / 100, Text: fmt.Sprintf("¥%d", d.GMV/100)}
	}
	return barChart("sales", v.T("chart.sales"), bars, halfW+120, chartH)
}
