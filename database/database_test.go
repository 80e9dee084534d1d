package database_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/testsupport"
)

// typedRow covers the column types migrations use, read back through bun.
type typedRow struct {
	bun.BaseModel `bun:"table:typed_rows"`

	ID      string     `bun:"id,pk"`
	Amount  int64      `bun:"amount,notnull"`
	Count   int        `bun:"count,notnull"`
	Flag    bool       `bun:"flag,notnull"`
	At      time.Time  `bun:"at,notnull"`
	Maybe   *time.Time `bun:"maybe"`
	Payload string     `bun:"payload,notnull"`
}

// TestRoundTrip writes and reads every column type, with characters that
// need quoting, on each database: on PostgreSQL the queries go through
// the simple protocol Open selects.
func TestRoundTrip(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		if _, err := db.NewCreateTable().Model((*typedRow)(nil)).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 3, 1, 12, 30, 15, 123456000, time.UTC)
		tests := []struct {
			name string
			row  typedRow
		}{
			{"plain", typedRow{ID: "a", Amount: 1 << 40, Count: -3, Flag: true, At: at, Payload: "{}"}},
			{"quotes and unicode", typedRow{ID: "b'; DROP TABLE typed_rows; --", Amount: 0, Count: 0, Flag: false, At: at, Maybe: &at, Payload: `{"text":"主播好 \\ ' \" ?"}`}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := db.NewInsert().Model(&tt.row).Exec(ctx); err != nil {
					t.Fatal(err)
				}
				var got typedRow
				if err := db.NewSelect().Model(&got).Where("id = ?", tt.row.ID).Scan(ctx); err != nil {
					t.Fatal(err)
				}
				if got.ID != tt.row.ID || got.Amount != tt.row.Amount || got.Count != tt.row.Count || got.Flag != tt.row.Flag ||
					!got.At.Equal(tt.row.At) || got.Payload != tt.row.Payload || (got.Maybe == nil) != (tt.row.Maybe == nil) {
					t.Fatalf("read %+v, wrote %+v", got, tt.row)
				}
			})
		}
	})
}

// TestOpenKeepsAnExplicitMode checks that a URL naming its own
// default_query_exec_mode keeps it (an invalid one fails to open, which
// shows the URL's value reached pgx untouched).
func TestOpenKeepsAnExplicitMode(t *testing.T) {
	for _, d := range testsupport.Dialects(t) {
		if d != testsupport.Postgres {
			continue
		}
		url := testsupport.DatabaseURL(t, d)
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		if _, err := database.Open(context.Background(), url+sep+"default_query_exec_mode=nonsense"); err == nil {
			t.Fatal("an invalid default_query_exec_mode in the URL was replaced instead of reaching pgx")
		}
		db, err := database.Open(context.Background(), url+sep+"default_query_exec_mode=cache_statement")
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}
