package miniprogramapi

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/siyu-live/siyu/catalog"
	"github.com/siyu-live/siyu/edge"
)

// TestSoldOutAnswer: the sold-out answer written from its parts is the one
// the error handler writes for catalog.ErrSoldOut, whatever the request id.
func TestSoldOutAnswer(t *testing.T) {
	app := edge.New(edge.Config{Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), Errors: errorTable,
		ConsoleOrigin: "http://localhost:8080"})
	app.Post("/handler", func(*fiber.Ctx) error { return &catalog.RejectedError{Err: catalog.ErrSoldOut} })
	app.Post("/canned", func(c *fiber.Ctx) error { return soldOutAnswer.write(c) })
	answer := func(path, id string) (int, string, string) {
		t.Helper()
		req := httptest.NewRequest("POST", path, nil)
		if id != "" {
			req.Header.Set(edge.HeaderRequestID, id)
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	for _, id := range []string{"0190aaaa-0000-7000-8000-000000000001", "client.id_7", `a "quoted" <id> \ é`, ""} {
		t.Run(id, func(t *testing.T) {
			ws, wt, wb := answer("/handler", id)
			gs, gt, gb := answer("/canned", id)
			if id == "" {
				// A generated id each time: compare without it.
				wb, gb = wb[:len(wb)-40], gb[:len(gb)-40]
			}
			if gs != ws || gt != wt || gb != wb || ws != 409 {
				t.Fatalf("canned %d %s %s\nhandler %d %s %s", gs, gt, gb, ws, wt, wb)
			}
		})
	}
}
