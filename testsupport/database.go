package testsupport

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/migrations"
)

// Dialect names a database the suites run against.
type Dialect string

// The dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Dialects returns the databases this run covers: SQLite always, PostgreSQL
// when TEST_DATABASE_URL is set (and in CI, where it must be).
func Dialects(t testing.TB) []Dialect {
	t.Helper()
	if os.Getenv("TEST_DATABASE_URL") == "" {
		if InCI() {
			t.Fatal("TEST_DATABASE_URL is not set: CI runs every database suite on PostgreSQL too")
		}
		return []Dialect{SQLite}
	}
	return []Dialect{SQLite, Postgres}
}

// EachDB runs fn as a subtest once per dialect, each with a fresh migrated
// database.
func EachDB(t *testing.T, fn func(t *testing.T, db *bun.DB)) {
	t.Helper()
	for _, d := range Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			fn(t, DB(t, d))
		})
	}
}

// DB returns a fresh, migrated database of the given dialect, dropped when
// the test ends.
func DB(t testing.TB, d Dialect) *bun.DB {
	t.Helper()
	rawURL := DatabaseURL(t, d)
	db, err := database.Open(context.Background(), rawURL)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := migrations.Up(context.Background(), db); err != nil {
		t.Fatalf("migrate %s: %v", d, err)
	}
	return db
}

var schemaSeq atomic.Int64

// DatabaseURL returns the URL of a fresh, empty database of the given
// dialect: a new SQLite file, or a new PostgreSQL schema selected through
// search_path. The schema is dropped when the test ends.
func DatabaseURL(t testing.TB, d Dialect) string {
	t.Helper()
	switch d {
	case SQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "siyu.db")
	case Postgres:
		base := os.Getenv("TEST_DATABASE_URL")
		if base == "" {
			need(t, "TEST_DATABASE_URL is not set")
		}
		schema := fmt.Sprintf("t_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, schemaSeq.Add(1))
		admin, err := database.Open(context.Background(), base)
		if err != nil {
			t.Fatalf("TEST_DATABASE_URL: %v", err)
		}
		defer admin.Close()
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			t.Fatalf("create schema: %v", err)
		}
		t.Cleanup(func() {
			admin, err := database.Open(context.Background(), base)
			if err != nil {
				return
			}
			defer admin.Close()
			_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		})
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("TEST_DATABASE_URL: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	default:
		t.Fatalf("unknown dialect %q", d)
		return ""
	}
}

// IsPostgresURL reports whether a database URL names PostgreSQL.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}
