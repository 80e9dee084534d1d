package migrations_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/migrations"
	"github.com/siyu-live/siyu/testsupport"
)

// column is one column as both databases can describe it.
type column struct {
	Table, Name, Type string
	NotNull, PK       bool
}

func (c column) String() string {
	return fmt.Sprintf("%s.%s %s notnull=%v pk=%v", c.Table, c.Name, c.Type, c.NotNull, c.PK)
}

// typeClass folds each database's spelling of a type into one name.
func typeClass(t string) string {
	t = strings.ToLower(t)
	switch {
	case t == "text" || strings.HasPrefix(t, "character varying") || strings.HasPrefix(t, "varchar"):
		return "text"
	case t == "bigint" || t == "integer" || t == "smallint" || t == "int":
		return "integer"
	case t == "boolean":
		return "boolean"
	case t == "timestamptz" || t == "timestamp with time zone":
		return "timestamptz"
	case t == "bytea" || t == "blob":
		return "bytes"
	case t == "double precision" || t == "real":
		return "real"
	}
	return t
}

func describe(t *testing.T, db *bun.DB) []column {
	t.Helper()
	ctx := context.Background()
	var cols []column
	if database.IsPostgres(db) {
		rows, err := db.QueryContext(ctx, `
			SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'NO',
			       EXISTS (SELECT 1 FROM information_schema.table_constraints tc
			               JOIN information_schema.key_column_usage k
			                 ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema
			               WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = c.table_schema
			                 AND tc.table_name = c.table_name AND k.column_name = c.column_name)
			FROM information_schema.columns c
			WHERE c.table_schema = current_schema() AND c.table_name NOT LIKE 'bun_%'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var c column
			if err := rows.Scan(&c.Table, &c.Name, &c.Type, &c.NotNull, &c.PK); err != nil {
				t.Fatal(err)
			}
			c.Type = typeClass(c.Type)
			cols = append(cols, c)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	} else {
		rows, err := db.QueryContext(ctx, `
			SELECT m.name, p.name, p.type, p."notnull", p.pk > 0
			FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'bun_%' AND m.name NOT LIKE 'sqlite_%'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var c column
			if err := rows.Scan(&c.Table, &c.Name, &c.Type, &c.NotNull, &c.PK); err != nil {
				t.Fatal(err)
			}
			c.Type = typeClass(c.Type)
			// SQLite reports primary key columns as nullable unless declared
			// NOT NULL; PostgreSQL makes them NOT NULL. Compare them as such.
			if c.PK {
				c.NotNull = true
			}
			cols = append(cols, c)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	sort.Slice(cols, func(i, j int) bool { return cols[i].String() < cols[j].String() })
	return cols
}

// TestSameSchemaOnBothDatabases migrates SQLite and PostgreSQL and compares
// every table, column, type, nullability and primary key.
func TestSameSchemaOnBothDatabases(t *testing.T) {
	ds := testsupport.Dialects(t)
	if len(ds) < 2 {
		t.Skip("needs TEST_DATABASE_URL for PostgreSQL")
	}
	lite := describe(t, testsupport.DB(t, testsupport.SQLite))
	pg := describe(t, testsupport.DB(t, testsupport.Postgres))
	if len(lite) == 0 {
		t.Fatal("no tables after migrating")
	}
	a, b := map[string]bool{}, map[string]bool{}
	for _, c := range lite {
		a[c.String()] = true
	}
	for _, c := range pg {
		b[c.String()] = true
	}
	for k := range a {
		if !b[k] {
			t.Errorf("only on SQLite: %s", k)
		}
	}
	for k := range b {
		if !a[k] {
			t.Errorf("only on PostgreSQL: %s", k)
		}
	}
}

// TestUpDownUp applies every migration, rolls all of them back, and applies
// them again, on each database.
func TestUpDownUp(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		for {
			names, err := migrations.Down(ctx, db)
			if err != nil {
				t.Fatalf("down: %v", err)
			}
			if len(names) == 0 {
				break
			}
		}
		pending, err := migrations.Pending(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		all, err := migrations.List(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) != len(all) {
			t.Fatalf("after rolling back everything %d of %d are pending", len(pending), len(all))
		}
		if _, err := migrations.Up(ctx, db); err != nil {
			t.Fatalf("up again: %v", err)
		}
	})
}
