package jobs

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
)

// TaskSampleShows samples the like totals and viewers of live shows.
const TaskSampleShows = "analytics:sample-shows"

// Analytics is what the analytics tasks call (*analytics.Service).
type Analytics interface {
	SampleShows(ctx context.Context) (int, error)
}

// HandleAnalytics adds the analytics task handlers to mux. Sampling is
// idempotent: a sample is keyed by its show and its time cut to the
// sample period.
func HandleAnalytics(mux *asynq.ServeMux, a Analytics) {
	mux.HandleFunc(TaskSampleShows, func(ctx context.Context, _ *asynq.Task) error {
		_, err := a.SampleShows(ctx)
		return err
	})
}

// AnalyticsSchedules are the periodic analytics tasks: sampling live
// shows every period (the resolution of likes per minute).
func AnalyticsSchedules(period time.Duration) []Periodic {
	return []Periodic{
		{Cronspec: "@every " + period.String(), TaskType: TaskSampleShows, Queue: "default", Every: period},
	}
}
