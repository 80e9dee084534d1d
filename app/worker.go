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
	a, closeApp, err := openApplication(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer closeApp()
	return a.runWorker(ctx)
}
