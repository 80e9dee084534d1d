package main

import (
	"github.com/hibiken/asynq"

	"github.com/siyu-live/siyu/jobs"
)

// prunings are the rows the hourly prune task deletes, area by area.
func (a *application) prunings() []jobs.Pruning {
	return []jobs.Pruning{
		{Name: "staff sessions", Prune: a.staff.PruneSessions},
		{Name: "shopper sessions", Prune: a.members.PruneSessions},
		{Name: "wecom events", Prune: a.community.wecom.PruneEvents},
		{Name: "livekit event ids", Prune: a.live.PruneWebhookEvents},
	}
}

// handlePruneTasks adds the prune task handler.
func (a *application) handlePruneTasks(mux *asynq.ServeMux) {
	jobs.HandlePrune(mux, a.log, a.prunings())
}

// schedulePrune runs the prune task every hour.
func (a *application) schedulePrune(s *asynq.Scheduler) error {
	return jobs.RegisterSchedules(s, jobs.PruneSchedules())
}
