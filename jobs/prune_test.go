package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/hibiken/asynq"
)

func TestHandlePrune(t *testing.T) {
	broken := errors.New("database gone")
	cases := []struct {
		name    string
		results []error
		wantErr bool
	}{
		{"every pruning runs", []error{nil, nil, nil}, false},
		{"a failure does not stop the others, and fails the task", []error{nil, broken, nil}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ran []string
			var ps []Pruning
			for i, err := range c.results {
				name := string(rune('a' + i))
				ps = append(ps, Pruning{Name: name, Prune: func(context.Context) (int64, error) {
					ran = append(ran, name)
					return int64(i), err
				}})
			}
			mux := asynq.NewServeMux()
			HandlePrune(mux, slog.New(slog.NewTextHandler(io.Discard, nil)), ps)
			err := mux.ProcessTask(context.Background(), asynq.NewTask(TaskPrune, nil))
			if (err != nil) != c.wantErr || (err != nil && !errors.Is(err, broken)) {
				t.Fatalf("err = %v, want an error: %v", err, c.wantErr)
			}
			if len(ran) != len(c.results) {
				t.Fatalf("ran %v, want all %d", ran, len(c.results))
			}
		})
	}
	if got := PruneSchedules(); len(got) != 1 || got[0].TaskType != TaskPrune {
		t.Fatalf("schedules = %+v", got)
	}
}
