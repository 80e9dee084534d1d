// Package testsupport gives tests real parts: a fresh, migrated database per
// test on SQLite and (when TEST_DATABASE_URL is set) on PostgreSQL, a Redis
// database of their own on a real server (TEST_REDIS_URL) or miniredis, the
// pinned LiveKit server on loopback, and the real program on :0.
//
// In CI (CI=true) nothing skips: a missing TEST_DATABASE_URL, TEST_REDIS_URL
// or LiveKit binary, or a server that cannot be reached, fails the test.
package testsupport

import (
	"os"
	"testing"
)

// InCI reports whether the tests run in CI, where no suite may skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// need fails the test in CI and skips it elsewhere, saying why.
func need(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}
