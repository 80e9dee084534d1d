package jobs

import (
	"encoding/json"
	"fmt"

	"github.com/hibiken/asynq"
)

// decode unmarshals a task's payload into v. A payload that cannot be read
// will never be readable, so it ends the task without retries.
func decode(t *asynq.Task, v any) error {
	if err := json.Unmarshal(t.Payload(), v); err != nil {
		return fmt.Errorf("%s: bad payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	return nil
}

func sprint(args []any) string { return fmt.Sprint(args...) }
