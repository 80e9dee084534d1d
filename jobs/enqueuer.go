package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/siyu-live/siyu/outbox"
)

// Enqueuer puts outbox messages on asynq. The outbox row's ID is the task
// ID, so a message relayed twice while still queued is enqueued once.
type Enqueuer struct {
	client *asynq.Client
}

// NewEnqueuer returns an Enqueuer using client.
func NewEnqueuer(client *asynq.Client) *Enqueuer {
	return &Enqueuer{client: client}
}

// Enqueue implements outbox.Enqueuer.
func (e *Enqueuer) Enqueue(ctx context.Context, r outbox.Row) error {
	opts := []asynq.Option{asynq.TaskID(r.ID), asynq.Queue(r.Queue), asynq.MaxRetry(maxRetry)}
	if r.ProcessAt != nil {
		opts = append(opts, asynq.ProcessAt(*r.ProcessAt))
	}
	_, err := e.client.EnqueueContext(ctx, asynq.NewTask(r.TaskType, []byte(r.Payload)), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", r.TaskType, err)
	}
	return nil
}

// maxRetry is how often a failing task is retried (asynq backs off
// exponentially), about three days' worth: long enough to outlast an outage.
const maxRetry = 25
