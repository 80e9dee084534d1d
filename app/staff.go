package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/staff"
)

// cmdStaff is `siyu staff create`, which creates a staff account (such as
// the first owner), and `siyu staff password`, which sets an account's
// password, lifts its lock and enables it: how an owner who lost their
// password gets back in. Both act as the command line, which may act on
// any account.
func cmdStaff(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const (
		createSynopsis   = "staff create --name NAME --role ROLE --password-file FILE"
		passwordSynopsis = "staff password --name NAME --password-file FILE"
	)
	if len(args) == 0 || (args[0] != "create" && args[0] != "password") {
		fmt.Fprintf(stderr, "Usage: siyu %s\n       siyu %s\n", createSynopsis, passwordSynopsis)
		return errUsage
	}
	verb := args[0]
	synopsis := createSynopsis
	if verb == "password" {
		synopsis = passwordSynopsis
	}
	fs := newFlags("staff "+verb, synopsis, stderr)
	name := fs.String("name", "", "sign-in name (2 to 64 letters, digits or . _ - @)")
	role := new(string)
	if verb == "create" {
		role = fs.String("role", "", "owner, admin, host, assistant, community_manager or service")
	}
	pwFile := fs.String("password-file", "", "file whose first line is the password (at least 12 characters); keeps it out of the shell history")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *name == "" || (verb == "create" && *role == "") || *pwFile == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	b, err := os.ReadFile(*pwFile)
	if err != nil {
		return fmt.Errorf("--password-file: %w", errors.Unwrap(err))
	}
	password, _, _ := strings.Cut(string(b), "\n")
	password = strings.TrimSuffix(password, "\r")
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	db, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return &ConfigError{"DATABASE_URL", fmt.Sprintf("%s (%s)", err, database.Redacted(cfg.DatabaseURL))}
	}
	defer db.Close()
	if err := requireMigrated(ctx, db, false, newLogger(cfg, stderr)); err != nil {
		return err
	}
	svc, err := staff.New(staff.Config{DB: db})
	if err != nil {
		return err
	}
	if verb == "password" {
		acc, err := svc.ByName(ctx, *name)
		if err != nil {
			return err
		}
		enabled := false
		if acc, err = svc.Update(ctx, "", acc.ID, staff.Change{Password: &password, Disabled: &enabled, Unlock: true}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password set for %s %q; its sessions ended\n", acc.Role, acc.Name)
		return nil
	}
	acc, err := svc.Create(ctx, "", staff.NewAccount{Name: *name, Role: *role, Password: password})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s %q (id %s)\n", acc.Role, acc.Name, acc.ID)
	return nil
}
