package database_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/testsupport"
)

type stampedRow struct {
	bun.BaseModel `bun:"table:stamped_rows"`

	ID string    `bun:"id,pk"`
	At time.Time `bun:"at,notnull"`
}

// TestDeleteInBatches deletes more rows than one batch holds, and only the
// rows that match.
func TestDeleteInBatches(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		if _, err := db.NewCreateTable().Model((*stampedRow)(nil)).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		cut := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		const old, fresh = 12001, 700
		rows := make([]stampedRow, 0, old+fresh)
		for i := range old + fresh {
			at := cut.Add(-time.Duration(i+1) * time.Second)
			if i >= old {
				at = cut.Add(time.Duration(i) * time.Second)
			}
			rows = append(rows, stampedRow{ID: fmt.Sprintf("r%05d", i), At: at})
		}
		for i := 0; i < len(rows); i += 1000 {
			chunk := rows[i:min(i+1000, len(rows))]
			if _, err := db.NewInsert().Model(&chunk).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name       string
			where      string
			wantGone   int64
			wantRemain int64
		}{
			{"older than the cut, over three batches", "at < ?", old, fresh},
			{"again: nothing left to delete", "at < ?", 0, fresh},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				n, err := database.DeleteInBatches(ctx, db, "stamped_rows", "id", tt.where, cut)
				if err != nil {
					t.Fatal(err)
				}
				left, err := db.NewSelect().Model((*stampedRow)(nil)).Count(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n != tt.wantGone || left != tt.wantRemain {
					t.Fatalf("deleted %d, %d left; want %d deleted, %d left", n, left, tt.wantGone, tt.wantRemain)
				}
			})
		}
	})
}
