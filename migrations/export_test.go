package migrations

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing/fstest"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/siyu-live/siyu/database"
)

// UpTo applies the migrations up to and including the one whose name
// starts with last, so a test can write rows as an older schema held them
// and then migrate them.
func UpTo(ctx context.Context, db *bun.DB, last string) error {
	some := fstest.MapFS{}
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".sql") || path[:len(last)] > last {
			return err
		}
		b, err := fs.ReadFile(files, path)
		some[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		return err
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(some); err != nil {
		return err
	}
	m := migrate.NewMigrator(db, ms, migrate.WithTemplateData(templateData{Postgres: database.IsPostgres(db)}), migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return err
	}
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate up to %s: %w", last, err)
	}
	return nil
}
