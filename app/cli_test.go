package main

import (
	"strings"
	"testing"

	"github.com/siyu-live/siyu/testsupport"
)

// TestUnreachableDatabase: a database that cannot be reached stops the
// program with exit 1 and one line naming DATABASE_URL.
func TestUnreachableDatabase(t *testing.T) {
	var stdout, stderr strings.Builder
	env := map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/x", "SIYU_DATA_DIR": t.TempDir()}
	code := run(t.Context(), []string{"siyu", "serve"}, func(k string) string { return env[k] }, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "siyu: DATABASE_URL: ") {
		t.Fatalf("want one line naming DATABASE_URL, got:\n%s", stderr.String())
	}
}

// TestPendingMigrationsRefused: serve refuses a database with pending
// migrations unless --migrate is given; migrate up, status and down work.
func TestPendingMigrationsRefused(t *testing.T) {
	for _, d := range testsupport.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			env := map[string]string{"DATABASE_URL": testsupport.DatabaseURL(t, d), "REDIS_URL": testsupport.Redis(t), "SIYU_DATA_DIR": t.TempDir()}
			getenv := func(k string) string { return env[k] }
			var out, errb strings.Builder
			if code := run(t.Context(), []string{"siyu", "serve"}, getenv, &out, &errb); code != 1 || !strings.Contains(errb.String(), "pending migrations") {
				t.Fatalf("serve on an empty database: exit %d\n%s", code, errb.String())
			}
			out.Reset()
			if code := run(t.Context(), []string{"siyu", "migrate", "status"}, getenv, &out, &errb); code != 0 || !strings.Contains(out.String(), "pending") {
				t.Fatalf("migrate status: exit %d\n%s%s", code, out.String(), errb.String())
			}
			out.Reset()
			if code := run(t.Context(), []string{"siyu", "migrate", "up"}, getenv, &out, &errb); code != 0 || !strings.Contains(out.String(), "applied") {
				t.Fatalf("migrate up: exit %d\n%s%s", code, out.String(), errb.String())
			}
			out.Reset()
			if code := run(t.Context(), []string{"siyu", "migrate", "status"}, getenv, &out, &errb); code != 0 || strings.Contains(out.String(), "pending") {
				t.Fatalf("after up, status still pending: %s", out.String())
			}
			out.Reset()
			if code := run(t.Context(), []string{"siyu", "migrate", "down"}, getenv, &out, &errb); code != 0 || !strings.Contains(out.String(), "rolled back") {
				t.Fatalf("migrate down: exit %d\n%s%s", code, out.String(), errb.String())
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	var out strings.Builder
	if code := run(t.Context(), []string{"siyu", "frobnicate"}, func(string) string { return "" }, &out, &out); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
}
