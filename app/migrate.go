package main

import (
	"context"
	"fmt"
	"io"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/migrations"
)

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "migrate up|down|status", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	db, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return &ConfigError{"DATABASE_URL", fmt.Sprintf("%s (%s)", err, database.Redacted(cfg.DatabaseURL))}
	}
	defer db.Close()
	switch fs.Arg(0) {
	case "up":
		names, err := migrations.Up(ctx, db)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			fmt.Fprintln(stdout, "no pending migrations")
		}
		for _, n := range names {
			fmt.Fprintln(stdout, "applied", n)
		}
	case "down":
		names, err := migrations.Down(ctx, db)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			fmt.Fprintln(stdout, "nothing to roll back")
		}
		for _, n := range names {
			fmt.Fprintln(stdout, "rolled back", n)
		}
	case "status":
		all, err := migrations.List(ctx, db)
		if err != nil {
			return err
		}
		for _, s := range all {
			state := "pending"
			if s.Applied {
				state = "applied"
			}
			fmt.Fprintf(stdout, "%-8s %s\n", state, s.Name)
		}
	default:
		fs.Usage()
		return errUsage
	}
	return nil
}
