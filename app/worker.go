package main

import (
	"context"
	"io"
)

func cmdWorker(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("worker", "worker", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	st, err := openStores(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := requireMigrated(ctx, st.db, false, log); err != nil {
		return err
	}
	a, err := newApplication(cfg, log, st)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.runWorker(ctx)
}
