// Package outbox is Siyu's transactional outbox. Domain code adds messages
// in the same transaction as the change they follow, so a committed change
// always gets its job and a rolled-back one never does. A Relay enqueues
// unsent messages after commit and stamps them sent: delivery is at least
// once, so consumers guard their side effects with MarkProcessed.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// ErrNoTaskType is returned for a message without a task type.
var ErrNoTaskType = errors.New("outbox message has no task type")

// Message is a job to enqueue once the surrounding transaction commits.
type Message struct {
	// ID identifies the message and becomes the asynq task ID, so a message
	// relayed twice is enqueued once while the first is still queued. Empty
	// means a new random ID.
	ID string
	// TaskType is the asynq task type, such as "payments:close-order".
	TaskType string
	// Payload is marshalled to JSON; payloads carry IDs, not objects.
	Payload any
	// Queue is the asynq queue; empty means "default".
	Queue string
	// ProcessAt delays the task; zero means now.
	ProcessAt time.Time
}

// Row is a stored message.
type Row struct {
	bun.BaseModel `bun:"table:outbox"`

	ID        string     `bun:"id,pk"`
	TaskType  string     `bun:"task_type,notnull"`
	Payload   string     `bun:"payload,notnull"`
	Queue     string     `bun:"queue,notnull"`
	ProcessAt *time.Time `bun:"process_at"`
	CreatedAt time.Time  `bun:"created_at,notnull"`
	SentAt    *time.Time `bun:"sent_at"`
	Attempts  int        `bun:"attempts,notnull"`
	LastError string     `bun:"last_error,notnull"`
}

// Add stores msgs through db, which should be the transaction of the change
// they follow.
func Add(ctx context.Context, db bun.IDB, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	now := time.Now().UTC()
	rows := make([]Row, 0, len(msgs))
	for _, m := range msgs {
		if m.TaskType == "" {
			return ErrNoTaskType
		}
		payload, err := json.Marshal(m.Payload)
		if err != nil {
			return fmt.Errorf("outbox payload of %s: %w", m.TaskType, err)
		}
		id := m.ID
		if id == "" {
			id = uuid.Must(uuid.NewV7()).String()
		}
		queue := m.Queue
		if queue == "" {
			queue = "default"
		}
		r := Row{ID: id, TaskType: m.TaskType, Payload: string(payload), Queue: queue, CreatedAt: now}
		if !m.ProcessAt.IsZero() {
			at := m.ProcessAt.UTC()
			r.ProcessAt = &at
		}
		rows = append(rows, r)
	}
	// A message with a stable ID that is already stored is the same job
	// asked for again: keep the first.
	if _, err := db.NewInsert().Model(&rows).On("CONFLICT (id) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("add outbox messages: %w", err)
	}
	return nil
}

// ProcessedTask records that a consumer carried out its side effect for a key.
type ProcessedTask struct {
	bun.BaseModel `bun:"table:processed_tasks"`

	Consumer    string    `bun:"consumer,pk"`
	Key         string    `bun:"key,pk"`
	ProcessedAt time.Time `bun:"processed_at,notnull"`
}

// MarkProcessed records (consumer, key) through db and reports whether this
// is the first time. Call it in the transaction of the side effect: when it
// returns false the effect already happened and must not happen again.
func MarkProcessed(ctx context.Context, db bun.IDB, consumer, key string) (bool, error) {
	res, err := db.NewInsert().
		Model(&ProcessedTask{Consumer: consumer, Key: key, ProcessedAt: time.Now().UTC()}).
		On("CONFLICT (consumer, key) DO NOTHING").
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("mark %s/%s processed: %w", consumer, key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("mark %s/%s processed: %w", consumer, key, err)
	}
	return n == 1, nil
}
