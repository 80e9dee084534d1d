// Command siyu runs Siyu: the HTTP API, the background worker, migrations,
// the WeChat sandbox and demo data. `siyu help` lists the commands and every
// setting.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr))
}
