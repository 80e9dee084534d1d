package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/siyu-live/siyu/staff"
)

// cmdSeed is `siyu seed`: it adds the demo data of every area, and can run
// any number of times.
func cmdSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("seed", "seed", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if cfg.Prod() {
		return &ConfigError{"SIYU_ENV", "seed writes demo data and its demo credentials; it is refused in prod (create the first owner with `siyu staff create`)"}
	}
	log := newLogger(cfg, stderr)
	a, closeApp, err := openApplication(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer closeApp()
	for _, step := range a.seedSteps() {
		if err := step.run(ctx, stdout); err != nil {
			return fmt.Errorf("seed %s: %w", step.name, err)
		}
	}
	return nil
}

// seedStep adds one area's demo data. Each step must be idempotent: it
// finds what an earlier run made instead of making it again.
type seedStep struct {
	name string
	run  func(ctx context.Context, out io.Writer) error
}

// seedSteps lists the demo data in the order it is made; areas add their
// steps here.
func (a *application) seedSteps() []seedStep {
	return []seedStep{
		// --- identity ---
		{"demo owner", a.seedOwner},
		// --- live ---
		{"demo show", a.seedShow},
	}
}

// demoOwner is the demo owner's sign-in name.
const demoOwner = "owner"

// seedOwner creates the demo owner and prints how to sign in. The password
// is derived from the secret key, so every run prints the same working
// password without it being stored anywhere in the clear.
func (a *application) seedOwner(ctx context.Context, out io.Writer) error {
	key, err := secretKey(a.cfg)
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("siyu demo owner password"))
	password := base64.RawURLEncoding.EncodeToString(mac.Sum(nil))[:20]
	state := "created"
	if _, err := a.staff.Create(ctx, "", staff.NewAccount{Name: demoOwner, Role: staff.RoleOwner, Password: password}); err != nil {
		if !errors.Is(err, staff.ErrNameTaken) {
			return err
		}
		state = "exists"
	}
	signIn := strings.TrimSuffix(a.cfg.PublicURL.String(), "/") + "/console/api/v1/session"
	note := ""
	if state == "exists" {
		note = " (the password seed gave it; unchanged if the account was made otherwise)"
	}
	fmt.Fprintf(out, "demo owner %s: name %q, password %q%s — sign in with POST %s\n", state, demoOwner, password, note, signIn)
	return nil
}
