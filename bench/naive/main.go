// Command naive is the flash-sale endpoint most people would write first:
// one PostgreSQL transaction per purchase that decrements the stock with
// UPDATE … WHERE stock > 0 and inserts the order. It serves that one route
// behind Siyu's own edge middleware (edge.New with Siyu's default
// settings), so the benchmarks can compare Siyu's Redis flash-sale engine
// with it on the same core, through the same HTTP stack.
//
// Usage: naive ADDR DATABASE_URL. It creates its two tables (in the
// database URL's search_path) and prints "naive: listening on http://ADDR"
// once it serves.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/edge"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: naive ADDR DATABASE_URL")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "naive:", err)
		os.Exit(1)
	}
}

// schema is the naive endpoint's own tables.
const schema = `
CREATE TABLE IF NOT EXISTS naive_sales (id TEXT PRIMARY KEY, stock INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS naive_orders (id TEXT PRIMARY KEY, sale_id TEXT NOT NULL, member_id TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL);
`

// errSoldOut is the answer once the stock is gone.
var errSoldOut = errors.New("sold out")

func run(addr, dbURL string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	db, err := database.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return err
	}
	// Siyu's defaults (SIYU_BODY_LIMIT, SIYU_READ_TIMEOUT, …), its edge
	// middleware and error handler.
	app := edge.New(edge.Config{
		BodyLimit:     1 << 20,
		ReadTimeout:   15 * time.Second,
		WriteTimeout:  30 * time.Second,
		ConsoleOrigin: "http://" + addr,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Registry:      prometheus.NewRegistry(),
		Errors:        []edge.Mapping{{Err: errSoldOut, Status: http.StatusConflict, Code: "sold_out", Message: "sold out"}},
	})
	app.Post("/sales/:id/orders", func(c *fiber.Ctx) error {
		member := c.Get("X-Member")
		if member == "" {
			return edge.BadRequest("missing_member", "X-Member is required")
		}
		id, err := buy(c.UserContext(), db, c.Params("id"), member)
		if err != nil {
			return err
		}
		return c.Status(http.StatusCreated).JSON(fiber.Map{"id": id})
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("naive: listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return app.ShutdownWithTimeout(5 * time.Second)
}

// buy is the naive purchase: the row lock on the sale's stock row is held
// from the UPDATE to the commit, so purchases of one sale run one at a
// time.
func buy(ctx context.Context, db *bun.DB, saleID, memberID string) (string, error) {
	id := uuid.Must(uuid.NewV7()).String()
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE naive_sales SET stock = stock - 1 WHERE id = ? AND stock > 0", saleID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errSoldOut
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO naive_orders (id, sale_id, member_id, created_at) VALUES (?, ?, ?, ?)", id, saleID, memberID, time.Now().UTC())
		return err
	})
	if err != nil {
		return "", err
	}
	return id, nil
}
