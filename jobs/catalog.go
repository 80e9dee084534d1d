package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/siyu-live/siyu/catalog"
)

// FlashSaleStock is what the flash-sale tasks call: the catalog's release
// of a claim's units in Redis, and its journal.
type FlashSaleStock interface {
	ReleaseClaimStock(ctx context.Context, claimID string) error
}

// FlashSaleJournal drains, reconciles and finishes flash sales.
type FlashSaleJournal interface {
	DrainAll(ctx context.Context) (int, error)
	ReconcileAll(ctx context.Context) (catalog.Repair, error)
	Finish(ctx context.Context, saleID string) error
}

// HandleCatalog adds the flash-sale task handlers to mux.
func HandleCatalog(mux *asynq.ServeMux, stock FlashSaleStock, journal FlashSaleJournal) {
	mux.HandleFunc(catalog.TaskReleaseClaim, func(ctx context.Context, t *asynq.Task) error {
		var in catalog.ClaimTask
		if err := decode(t, &in); err != nil {
			return err
		}
		if in.ClaimID == "" {
			return fmt.Errorf("%s: no claim_id: %w", t.Type(), asynq.SkipRetry)
		}
		return stock.ReleaseClaimStock(ctx, in.ClaimID)
	})
	mux.HandleFunc(catalog.TaskFinishFlashSale, func(ctx context.Context, t *asynq.Task) error {
		var in catalog.FlashSaleTask
		if err := decode(t, &in); err != nil {
			return err
		}
		if in.FlashSaleID == "" {
			return fmt.Errorf("%s: no flash_sale_id: %w", t.Type(), asynq.SkipRetry)
		}
		return journal.Finish(ctx, in.FlashSaleID)
	})
	mux.HandleFunc(catalog.TaskDrainJournals, func(ctx context.Context, _ *asynq.Task) error {
		_, err := journal.DrainAll(ctx)
		return err
	})
	mux.HandleFunc(catalog.TaskReconcileFlashSales, func(ctx context.Context, _ *asynq.Task) error {
		_, err := journal.ReconcileAll(ctx)
		return err
	})
}

// CatalogSchedules are the periodic flash-sale tasks: draining the
// journals (claims whose request died before the database) and the
// reconciliation of Redis with the database.
func CatalogSchedules() []Periodic {
	return []Periodic{
		{Cronspec: "@every 5s", TaskType: catalog.TaskDrainJournals, Queue: "critical", Every: 5 * time.Second},
		{Cronspec: "@every 1m", TaskType: catalog.TaskReconcileFlashSales, Queue: "critical", Every: time.Minute},
	}
}
