package analytics

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/live"
)

// Audience is who watched a show and for how long.
type Audience struct {
	UniqueViewers int `json:"unique_viewers"`
	PeakViewers   int `json:"peak_viewers"`
	// PeakAt is when the peak was first reached.
	PeakAt *time.Time `json:"peak_at,omitempty"`
	// AverageWatch and MedianWatch are over unique viewers.
	AverageWatch time.Duration `json:"average_watch_ns"`
	MedianWatch  time.Duration `json:"median_watch_ns"`
	// WatchHistogram counts viewers by their total watch time.
	WatchHistogram []WatchBucket `json:"watch_histogram"`
}

// WatchBucket counts the viewers who watched at least From and less than
// To (To zero: no upper bound).
type WatchBucket struct {
	From    time.Duration `json:"from_ns"`
	To      time.Duration `json:"to_ns"`
	Viewers int           `json:"viewers"`
}

// watchBounds are the lower bounds of the watch-time histogram's buckets.
var watchBounds = []time.Duration{0, time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour}

// isViewerIdentity leaves out staff and ingress participants, which the
// sessions table should not hold but would skew every figure if it did.
func isViewerIdentity(id string) bool {
	return id != "" && !strings.HasPrefix(id, "staff:") && !strings.HasPrefix(id, "ingress:")
}

// sessionsOf reads a show's joined viewer sessions.
func sessionsOf(ctx context.Context, db bun.IDB, showID string) ([]live.ViewerSession, error) {
	var rows []live.ViewerSession
	if err := db.NewSelect().Model(&rows).Where("show_id = ? AND joined_at IS NOT NULL", showID).
		OrderExpr("joined_at ASC, identity ASC, participant_sid ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("analytics: read viewer sessions: %w", err)
	}
	out := rows[:0]
	for _, r := range rows {
		if isViewerIdentity(r.Identity) {
			out = append(out, r)
		}
	}
	return out, nil
}

// audience computes the audience of sessions within w and fills the
// viewers of each minute of the series.
func audience(sessions []live.ViewerSession, w window, minutes []Minute) Audience {
	var a Audience
	watch := map[string]time.Duration{}
	type step struct {
		at    time.Time
		delta int
	}
	steps := make([]step, 0, 2*len(sessions))
	for _, r := range sessions {
		joined := r.JoinedAt.UTC()
		end := w.end
		if r.LeftAt != nil && r.LeftAt.Before(end) {
			end = r.LeftAt.UTC()
		}
		if _, ok := watch[r.Identity]; !ok {
			watch[r.Identity] = 0
		}
		if end.After(joined) {
			watch[r.Identity] += end.Sub(joined)
		}
		steps = append(steps, step{joined, +1})
		if r.LeftAt != nil {
			steps = append(steps, step{r.LeftAt.UTC(), -1})
		}
	}
	a.UniqueViewers = len(watch)

	// At equal times a leave counts before a join: a viewer who reconnects
	// is one viewer (as live counts its peak).
	slices.SortFunc(steps, func(x, y step) int {
		if c := x.at.Compare(y.at); c != 0 {
			return c
		}
		return x.delta - y.delta
	})
	cur := 0
	for _, st := range steps {
		cur += st.delta
		if cur > a.PeakViewers {
			a.PeakViewers = cur
			at := st.at
			a.PeakAt = &at
		}
	}
	if w.ok && len(minutes) > 0 {
		// The most viewers at once in each minute [t, t+1m): the count
		// after every step up to t, then after each step inside.
		cur, i := 0, 0
		for m := range minutes {
			from := w.start.Add(time.Duration(m) * time.Minute)
			to := from.Add(time.Minute)
			for i < len(steps) && !steps[i].at.After(from) {
				cur += steps[i].delta
				i++
			}
			most := cur
			for i < len(steps) && steps[i].at.Before(to) {
				cur += steps[i].delta
				i++
				most = max(most, cur)
			}
			minutes[m].Viewers = most
		}
	}

	durations := make([]time.Duration, 0, len(watch))
	var total time.Duration
	for _, d := range watch {
		durations = append(durations, d)
		total += d
	}
	slices.Sort(durations)
	a.WatchHistogram = make([]WatchBucket, len(watchBounds))
	for i, from := range watchBounds {
		a.WatchHistogram[i].From = from
		if i+1 < len(watchBounds) {
			a.WatchHistogram[i].To = watchBounds[i+1]
		}
	}
	for _, d := range durations {
		i, _ := slices.BinarySearch(watchBounds, d+1)
		a.WatchHistogram[i-1].Viewers++
	}
	if n := len(durations); n > 0 {
		a.AverageWatch = total / time.Duration(n)
		if n%2 == 1 {
			a.MedianWatch = durations[n/2]
		} else {
			a.MedianWatch = (durations[n/2-1] + durations[n/2]) / 2
		}
	}
	return a
}
