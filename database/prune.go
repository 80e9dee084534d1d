package database

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// pruneBatch is how many rows one DELETE of DeleteInBatches removes: small
// enough that no statement holds its locks (or SQLite's write lock) for
// long, large enough that a backlog of millions goes in minutes.
const pruneBatch = 5000

// DeleteInBatches deletes the rows of table that match where, pruneBatch
// at a time, each batch a statement of its own, and returns how many went.
// key is the table's primary key column. It stops at the first error,
// with what was deleted until then, or when ctx is done.
func DeleteInBatches(ctx context.Context, db bun.IDB, table, key, where string, args ...any) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		ids := db.NewSelect().TableExpr(table).Column(key).Where(where, args...).Limit(pruneBatch)
		res, err := db.NewDelete().TableExpr(table).Where("? IN (?)", bun.Ident(key), ids).Exec(ctx)
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", table, err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
