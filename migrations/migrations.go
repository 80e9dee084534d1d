// Package migrations holds Siyu's versioned schema migrations. The same
// files run on PostgreSQL and SQLite; where the two differ, a migration uses
// the template value .Postgres.
package migrations

import (
	"context"
	"embed"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/siyu-live/siyu/database"
)

//go:embed *.sql
var files embed.FS

// templateData is what a migration's template sees.
type templateData struct {
	Postgres bool
}

// NewMigrator returns a migrator for db with every migration registered.
func NewMigrator(db *bun.DB) (*migrate.Migrator, error) {
	ms := migrate.NewMigrations()
	if err := ms.Discover(files); err != nil {
		return nil, fmt.Errorf("discover migrations: %w", err)
	}
	return migrate.NewMigrator(db, ms,
		migrate.WithTemplateData(templateData{Postgres: database.IsPostgres(db)}),
		migrate.WithMarkAppliedOnSuccess(true),
	), nil
}

// Up applies every pending migration and returns the names applied.
func Up(ctx context.Context, db *bun.DB) ([]string, error) {
	return locked(ctx, db, "migrate", func(m *migrate.Migrator) (*migrate.MigrationGroup, error) {
		return m.Migrate(ctx)
	})
}

// Down rolls back the last group of migrations and returns the names rolled back.
func Down(ctx context.Context, db *bun.DB) ([]string, error) {
	return locked(ctx, db, "rollback", func(m *migrate.Migrator) (*migrate.MigrationGroup, error) {
		return m.Rollback(ctx)
	})
}

// locked runs step under the migration lock, so two replicas starting with
// --migrate never migrate at once, and returns the names step touched.
func locked(ctx context.Context, db *bun.DB, what string, step func(*migrate.Migrator) (*migrate.MigrationGroup, error)) ([]string, error) {
	m, err := NewMigrator(db)
	if err != nil {
		return nil, err
	}
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("init migrations: %w", err)
	}
	if err := m.Lock(ctx); err != nil {
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	defer m.Unlock(ctx) //nolint:errcheck // the lock row is removed best-effort
	group, err := step(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	names := make([]string, 0, len(group.Migrations))
	for _, mg := range group.Migrations {
		names = append(names, mg.Name)
	}
	return names, nil
}

// Status lists every migration with whether it has been applied.
type Status struct {
	Name    string
	Comment string
	Applied bool
}

// List returns the status of every known migration, oldest first.
func List(ctx context.Context, db *bun.DB) ([]Status, error) {
	m, err := NewMigrator(db)
	if err != nil {
		return nil, err
	}
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("init migrations: %w", err)
	}
	ms, err := m.MigrationsWithStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("read migration status: %w", err)
	}
	out := make([]Status, 0, len(ms))
	for _, mg := range ms {
		out = append(out, Status{Name: mg.Name, Comment: mg.Comment, Applied: mg.IsApplied()})
	}
	return out, nil
}

// Pending returns the names of migrations not yet applied.
func Pending(ctx context.Context, db *bun.DB) ([]string, error) {
	all, err := List(ctx, db)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range all {
		if !s.Applied {
			out = append(out, s.Name)
		}
	}
	return out, nil
}
