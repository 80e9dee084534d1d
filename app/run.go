package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// usage is printed by `siyu help`.
const usage = `siyu — live selling in your own WeChat mini-program, on infrastructure you own.

Usage: siyu <command> [flags]

Commands:
  serve [--migrate] [--with-worker]   run the HTTP API (and the job worker in-process)
  worker                              run the job worker
  migrate up|down|status              apply, roll back or list schema migrations
  seed                                add the demo data (dev only) and print the demo owner's sign-in
  staff create --name N --role R --password-file F
                                      create a staff account (the first owner, say)
  staff password --name N --password-file F
                                      set a staff account's password, unlock and enable it
  sandbox [--addr :8090]              run the offline WeChat, WeCom and WeChat Pay sandbox
  campaign run ID [--with-worker]     start a run of a campaign now and follow it with a progress bar
  campaign status ID [--watch]        print (or follow) the progress of a campaign's latest run
  version                             print the version
  help                                print this help

`

// run is the whole program: it parses args, reads settings through getenv
// and writes to stdout and stderr, so tests can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[1], args[2:]
	var err error
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage+settingsHelp())
		return 0
	case "version", "--version":
		fmt.Fprintln(stdout, "siyu", buildVersion())
		return 0
	case "serve":
		err = cmdServe(ctx, rest, getenv, stdout, stderr)
	case "worker":
		err = cmdWorker(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "seed":
		err = cmdSeed(ctx, rest, getenv, stdout, stderr)
	case "staff":
		err = cmdStaff(ctx, rest, getenv, stdout, stderr)
	case "sandbox":
		err = cmdSandbox(ctx, rest, getenv, stdout, stderr)
	case "campaign":
		err = cmdCampaign(ctx, rest, getenv, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "siyu: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		// One line: the variable or step that failed and why.
		fmt.Fprintln(stderr, "siyu:", oneLine(err.Error()))
		return 1
	}
}

// errUsage marks a command line that was wrong; its message is already printed.
var errUsage = errors.New("usage")

// newFlags returns a flag set for a subcommand whose -h prints the
// subcommand's usage and every setting.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: siyu %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\n"+settingsHelp())
	}
	return fs
}

// parseFlags parses args, mapping a bad flag to errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// newLogger logs text in dev and JSON in prod, at the configured level.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Prod() {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
