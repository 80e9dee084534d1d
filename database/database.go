// Package database opens Siyu's database through bun: PostgreSQL in
// production, SQLite (pure Go) as the embedded default.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrUnsupportedURL is returned for a DATABASE_URL whose scheme is neither
// postgres nor sqlite.
var ErrUnsupportedURL = errors.New("database URL must start with postgres://, postgresql:// or sqlite:")

// Open connects to the database named by rawURL and checks that it answers.
// postgres://… and postgresql://… open PostgreSQL; sqlite:PATH (or
// sqlite://PATH) opens a SQLite file, creating its folder.
func Open(ctx context.Context, rawURL string) (*bun.DB, error) {
	var db *bun.DB
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		sqldb, err := sql.Open("pgx", simpleProtocol(rawURL))
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqldb.SetMaxOpenConns(32)
		// As many idle as open: with fewer, a burst returns connections
		// the pool closes at once and opens again a moment later, and
		// every new PostgreSQL connection is a forked backend (the
		// benchmarks saw the comment path spend most of a core on that).
		// Idle ones still close after ConnMaxIdleTime.
		sqldb.SetMaxIdleConns(32)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
		db = bun.NewDB(sqldb, pgdialect.New())
	case strings.HasPrefix(rawURL, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite:"), "//")
		if path == "" {
			return nil, fmt.Errorf("%w: sqlite URL has no path", ErrUnsupportedURL)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
		sqldb, err := sql.Open("sqlite", sqliteDSN(path))
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		// SQLite has one writer. Immediate transactions take the write lock at
		// BEGIN, so a read-modify-write never fails half-way with SQLITE_BUSY;
		// the busy timeout queues writers instead of failing them.
		sqldb.SetMaxOpenConns(8)
		db = bun.NewDB(sqldb, sqlitedialect.New())
	default:
		return nil, ErrUnsupportedURL
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot reach the database: %w", err)
	}
	return db, nil
}

// simpleProtocol makes pgx send each query as text in one round trip,
// unless the URL chooses a default_query_exec_mode itself. bun writes the
// arguments into the SQL, so almost every query string is new to the
// connection; pgx's default mode would prepare each one first (a second
// round trip per query) and churn its statement cache, which the
// benchmarks measured as a fifth of the CPU of a session lookup.
func simpleProtocol(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	q := u.Query()
	if q.Has("default_query_exec_mode") {
		return rawURL
	}
	q.Set("default_query_exec_mode", "simple_protocol")
	u.RawQuery = q.Encode()
	return u.String()
}

func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(30000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}

// IsPostgres reports whether db speaks PostgreSQL.
func IsPostgres(db bun.IDB) bool {
	return db.Dialect().Name() == dialect.PG
}

// ForUpdate locks the selected rows until the transaction ends on
// PostgreSQL. SQLite needs no row lock: its write transactions are
// immediate, so the whole database is already locked for writing.
func ForUpdate(q *bun.SelectQuery) *bun.SelectQuery {
	if IsPostgres(q.DB()) {
		return q.For("UPDATE")
	}
	return q
}

// Redacted returns rawURL with any password replaced, for logs.
func Redacted(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return rawURL
	}
	return u.Redacted()
}
