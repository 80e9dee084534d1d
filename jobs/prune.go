package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
)

// TaskPrune deletes rows that have served their purpose: expired sessions,
// the ids of old webhook and callback events.
const TaskPrune = "siyu:prune"

// Pruning is one kind of row TaskPrune deletes.
type Pruning struct {
	Name  string
	Prune func(ctx context.Context) (int64, error)
}

// HandlePrune adds the prune task to mux. Every pruning runs even when an
// earlier one fails; the task fails if any did, and the next hour's run
// takes up what was left.
func HandlePrune(mux *asynq.ServeMux, log *slog.Logger, prunings []Pruning) {
	mux.HandleFunc(TaskPrune, func(ctx context.Context, _ *asynq.Task) error {
		var errs []error
		for _, p := range prunings {
			n, err := p.Prune(ctx)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
			}
			if n > 0 {
				log.Info("pruned", "what", p.Name, "rows", n)
			}
		}
		return errors.Join(errs...)
	})
}

// PruneSchedules runs TaskPrune every hour.
func PruneSchedules() []Periodic {
	return []Periodic{{Cronspec: "@every 1h", TaskType: TaskPrune, Queue: "low", Every: time.Hour}}
}
