package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "serve [--migrate] [--with-worker]", stderr)
	migrate := fs.Bool("migrate", false, "apply pending migrations before serving")
	withWorker := fs.Bool("with-worker", false, "also run the job worker and outbox relay in this process")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	a, closeApp, err := openApplication(ctx, cfg, log, *migrate)
	if err != nil {
		return err
	}
	defer closeApp()
	app, err := a.httpApp()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return &ConfigError{"SIYU_HTTP_ADDR", err.Error()}
	}
	fmt.Fprintf(stdout, "siyu: listening on http://%s\n", ln.Addr())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// --- live ---
	// The like flusher stops after the HTTP server (defers run last
	// first), so the likes of the last requests reach Redis too.
	flushCtx, stopFlush := context.WithCancel(context.WithoutCancel(ctx))
	flushDone := make(chan struct{})
	go func() {
		defer close(flushDone)
		a.runLikeFlusher(flushCtx)
	}()
	defer func() {
		stopFlush()
		<-flushDone
	}()
	var wg sync.WaitGroup
	var workerErr error
	if *withWorker {
		wg.Add(1)
		go func() {
			defer wg.Done()
			workerErr = a.runWorker(ctx)
		}()
	} else {
		wg.Go(func() { a.relay.RunPoked(ctx) })
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- app.Listener(ln) }()

	select {
	case err := <-serveErr:
		cancel()
		wg.Wait()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	// Stop accepting, then let in-flight requests finish within the timeout.
	if err := app.ShutdownWithTimeout(cfg.ShutdownTimeout); err != nil {
		log.Error("http shutdown", "err", err)
	}
	wg.Wait()
	return errors.Join(workerErr)
}
