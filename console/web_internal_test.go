package console

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyu-live/siyu/analytics"
)

// feed is a show whose numbers, comments and orders a test changes.
type feed struct {
	mu       sync.Mutex
	pulse    analytics.Pulse
	comments []analytics.ChatLine
	orders   []analytics.OrderLine
	polls    int
}

func (f *feed) Pulse(context.Context, string) (analytics.Pulse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls++
	return f.pulse, nil
}

func (f *feed) FeedEnd(context.Context, string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(len(f.comments)), nil
}

func (f *feed) CommentsSince(_ context.Context, _ string, seq int64, limit int) ([]analytics.ChatLine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]analytics.ChatLine(nil), f.comments[seq:]...)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// store stores comments, numbering them after those stored before.
func (f *feed) store(lines ...analytics.ChatLine) {
	for _, c := range lines {
		c.Seq = int64(len(f.comments)) + 1
		f.comments = append(f.comments, c)
	}
}

func (f *feed) RecentOrders(context.Context, string, int) ([]analytics.OrderLine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]analytics.OrderLine(nil), f.orders...), nil
}

func (f *feed) change(fn func(f *feed)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// next waits for the next event of a name, skipping none: the test knows
// what comes.
func next(t *testing.T, ch chan pulseEvent) pulseEvent {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return pulseEvent{}
	}
}

// TestPulseHub: a room sends its numbers once and again only when they
// change, each comment once (none from before the listener came, and one
// stored late with an earlier id too), and the orders when they
// change; its poller stops with its last listener.
func TestPulseHub(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	h := newPulseHub(10*time.Millisecond, stop)
	f := &feed{pulse: analytics.Pulse{Viewers: 3}}
	f.store(analytics.ChatLine{ID: "c1", Text: "before"})
	log := slog.New(slog.DiscardHandler)
	ch, unsubscribe, err := h.subscribe(t.Context(), f, log, "show-1")
	if err != nil {
		t.Fatal(err)
	}
	e := next(t, ch)
	if e.name != "pulse" || !strings.Contains(string(e.data), `"viewers":3`) {
		t.Fatalf("first event %s %s", e.name, e.data)
	}
	if e := next(t, ch); e.name != "orders" || string(e.data) != "[]" {
		t.Fatalf("second event %s %s", e.name, e.data)
	}
	f.change(func(f *feed) {
		f.store(analytics.ChatLine{ID: "c2", Text: "hello"})
		f.orders = []analytics.OrderLine{{ID: "o1", Total: 8800, Status: "pending"}}
	})
	got := map[string]pulseEvent{}
	for len(got) < 2 {
		e := next(t, ch)
		got[e.name] = e
	}
	var lines []analytics.ChatLine
	if err := json.Unmarshal(got["comments"].data, &lines); err != nil || len(lines) != 1 || lines[0].ID != "c2" || got["comments"].id != "c2" {
		t.Fatalf("comments event %s (id %s)", got["comments"].data, got["comments"].id)
	}
	if !strings.Contains(string(got["orders"].data), `"o1"`) {
		t.Fatalf("orders event %s", got["orders"].data)
	}
	f.change(func(f *feed) { f.pulse.Likes = 9 })
	if e := next(t, ch); e.name != "pulse" || !strings.Contains(string(e.data), `"likes":9`) {
		t.Fatalf("after likes: %s %s", e.name, e.data)
	}
	// Another replica's moderator stores a comment posted before c2.
	f.change(func(f *feed) { f.store(analytics.ChatLine{ID: "c0", Text: "late"}) })
	if e := next(t, ch); e.name != "comments" || e.id != "c0" || strings.Contains(string(e.data), `"c2"`) {
		t.Fatalf("after a late comment: %s %s (id %s)", e.name, e.data, e.id)
	}
	// A batch of 450 comments stored at once goes out 200 a refresh,
	// each once.
	f.change(func(f *feed) {
		for i := range 450 {
			f.store(analytics.ChatLine{ID: fmt.Sprintf("d%03d", i)})
		}
	})
	seen := map[string]bool{}
	for len(seen) < 450 {
		e := next(t, ch)
		var batch []analytics.ChatLine
		if err := json.Unmarshal(e.data, &batch); e.name != "comments" || err != nil || len(batch) > feedLines {
			t.Fatalf("during the batch: %s %d comments (%v)", e.name, len(batch), err)
		}
		for _, c := range batch {
			if seen[c.ID] {
				t.Fatalf("%s sent twice", c.ID)
			}
			seen[c.ID] = true
		}
	}
	select {
	case e := <-ch:
		t.Fatalf("an unchanged room sent %s %s", e.name, e.data)
	case <-time.After(100 * time.Millisecond):
	}
	if cur := h.current("show-1"); len(cur) != 2 {
		t.Errorf("a new listener would start with %d events, want the numbers and the orders", len(cur))
	}
	unsubscribe()
	time.Sleep(50 * time.Millisecond)
	f.change(func(f *feed) { f.polls = 0 })
	time.Sleep(100 * time.Millisecond)
	f.change(func(f *feed) {
		if f.polls != 0 {
			t.Errorf("the room was polled %d times after its last listener left", f.polls)
		}
	})
}

// TestCharts: every chart is well-formed SVG, shoppers' and staff's text
// is escaped, and the viewers chart marks pins, flash sales and drops.
func TestCharts(t *testing.T) {
	v := &view{Lang: langEN}
	start := time.Date(2031, 3, 7, 12, 0, 0, 0, time.UTC)
	end := start.Add(3 * time.Minute)
	r := analytics.Report{Start: &start, End: &end,
		Minutes: []analytics.Minute{{At: start, Viewers: 2, Comments: 1}, {At: start.Add(time.Minute), Viewers: 7, Likes: 30}, {At: start.Add(2 * time.Minute), Viewers: 5}},
		Markers: []analytics.Marker{
			{At: start.Add(30 * time.Second), Kind: analytics.MarkerPin, Label: `<script>alert("x")</script>`},
			{At: start.Add(90 * time.Second), Kind: analytics.MarkerFlashSale, Label: "茶 & 壶"},
			{At: start.Add(2 * time.Minute), Kind: analytics.MarkerCouponDrop, Label: "券"},
		},
		Funnel:   analytics.Funnel{Viewed: 10, Clicked: 4, Ordered: 2, Paid: 1},
		Audience: analytics.Audience{WatchHistogram: []analytics.WatchBucket{{From: 0, To: time.Minute, Viewers: 3}, {From: time.Minute, Viewers: 1}}},
	}
	loc := time.FixedZone("CST", 8*3600)
	for name, svg := range map[string]chartSVG{
		"viewers":    viewersChart(r, v, loc),
		"funnel":     funnelChart(r, v),
		"watch":      watchChart(r, v),
		"engagement": engagementChart(r, v, loc),
		"empty":      viewersChart(analytics.Report{}, v, loc),
		"sales":      salesChart([]analytics.Day{{Date: start, GMV: 12345}}, v, loc),
	} {
		d := xml.NewDecoder(strings.NewReader(string(svg)))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Errorf("%s chart is not well-formed: %v\n%s", name, err, svg)
				break
			}
		}
		if strings.Contains(string(svg), "<script>") {
			t.Errorf("%s chart carries unescaped markup", name)
		}
	}
	viewers := string(viewersChart(r, v, loc))
	for _, want := range []string{`class="marker pin"`, `class="marker sale"`, `class="marker drop"`, `&lt;script&gt;`, "20:00", "20:03"} {
		if !strings.Contains(viewers, want) {
			t.Errorf("viewers chart lacks %q", want)
		}
	}
	if f := string(funnelChart(r, v)); !strings.Contains(f, "40.0%") || !strings.Contains(f, "50.0%") {
		t.Errorf("funnel lacks its step rates:\n%s", f)
	}
}

// TestParseYuan reads amounts of yuan as fen.
func TestParseYuan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fen  int64
		fail bool
	}{
		{"128", 12800, false}, {"128.5", 12850, false}, {"128.50", 12850, false}, {"¥0.01", 1, false}, {" 88 ", 8800, false},
		{"1.234", 0, true}, {"-1", 0, true}, {"abc", 0, true}, {"", 0, true}, {".5", 0, true}, {"1.-5", 0, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseYuan(tc.in)
			if (err != nil) != tc.fail || got != tc.fen {
				t.Errorf("parseYuan(%q) = %d, %v", tc.in, got, err)
			}
		})
	}
}
