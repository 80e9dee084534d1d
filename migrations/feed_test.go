package migrations_test

import (
	"context"
	"testing"
	"time"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/migrations"
	"github.com/siyu-live/siyu/testsupport"
)

// TestCommentsNumbered: migration 0054 numbers each show's stored comments
// in the order the feed followed them (stored_at, then id), and a comment
// inserted afterwards without a number is numbered next in its show.
func TestCommentsNumbered(t *testing.T) {
	for _, d := range testsupport.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db, err := database.Open(ctx, testsupport.DatabaseURL(t, d))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := migrations.UpTo(ctx, db, "0053"); err != nil {
				t.Fatal(err)
			}
			t0 := time.Date(2031, 3, 7, 12, 0, 0, 0, time.UTC)
			for _, c := range []struct {
				id, show string
				stored   time.Duration
			}{{"c1", "s1", 3 * time.Second}, {"c2", "s1", time.Second}, {"c3", "s1", time.Second}, {"c4", "s2", 0}, {"c0", "s1", 2 * time.Second}} {
				if _, err := db.ExecContext(ctx, `INSERT INTO comments (id, show_id, member_id, text, status, created_at, stored_at) VALUES (?, ?, 'm', 'hi', 'visible', ?, ?)`,
					c.id, c.show, t0, t0.Add(c.stored)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := migrations.Up(ctx, db); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO comments (id, show_id, member_id, text, status, created_at) VALUES ('a9', 's1', 'm', 'late', 'visible', ?), ('a8', 's3', 'm', 'new', 'visible', ?)`, t0, t0); err != nil {
				t.Fatal(err)
			}
			want := map[string]int64{"c2": 1, "c3": 2, "c0": 3, "c1": 4, "c4": 1, "a9": 5, "a8": 1}
			var rows []struct {
				ID  string `bun:"id"`
				Seq int64  `bun:"seq"`
			}
			if err := db.NewSelect().Table("comments").Column("id", "seq").Scan(ctx, &rows); err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if want[r.ID] != r.Seq {
					t.Errorf("%s numbered %d, want %d", r.ID, r.Seq, want[r.ID])
				}
			}
			var feeds []struct {
				ShowID string `bun:"show_id"`
				Seq    int64  `bun:"seq"`
			}
			if err := db.NewSelect().Table("comment_feeds").Column("show_id", "seq").OrderExpr("show_id").Scan(ctx, &feeds); err != nil {
				t.Fatal(err)
			}
			if len(feeds) != 3 || feeds[0].Seq != 5 || feeds[1].Seq != 1 || feeds[2].Seq != 1 {
				t.Errorf("feeds end at %+v, want s1 5, s2 1, s3 1", feeds)
			}
		})
	}
}
