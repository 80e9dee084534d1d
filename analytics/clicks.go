package analytics

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/live"
)

// clickBucket is how long repeated taps of one member on one product card
// count as one click.
const clickBucket = 5 * time.Second

// ProductClick is a shopper opening a product card of a show.
type ProductClick struct {
	bun.BaseModel `bun:"table:product_clicks"`

	ID        string    `bun:"id,pk"`
	ShowID    string    `bun:"show_id,notnull"`
	ProductID string    `bun:"product_id,notnull"`
	MemberID  string    `bun:"member_id,notnull"`
	Bucket    int64     `bun:"bucket,notnull"`
	ClickedAt time.Time `bun:"clicked_at,notnull"`
}

// RecordClick records that a member opened the card of a product of a
// live show (or of its replay). Taps of the same member on the same card
// within five seconds count once. It reports whether the click counted.
func (s *Service) RecordClick(ctx context.Context, showID, memberID, productID string) (bool, error) {
	productID = strings.TrimSpace(productID)
	if productID == "" || len(productID) > 64 {
		return false, fmt.Errorf("%w: product_id is required (at most 64 characters)", ErrInvalid)
	}
	show, err := s.show(ctx, s.db, showID)
	if err != nil {
		return false, err
	}
	switch show.Status {
	case live.StatusLive, live.StatusEnded, live.StatusReplayReady:
	default:
		return false, ErrNotClickable
	}
	n, err := s.db.NewSelect().Table("lineup_items").Where("show_id = ? AND product_id = ?", showID, productID).Count(ctx)
	if err != nil {
		return false, fmt.Errorf("analytics: read lineup: %w", err)
	}
	if n == 0 {
		return false, ErrProductNotInLineup
	}
	now := s.now()
	row := &ProductClick{ID: newID(), ShowID: showID, ProductID: productID, MemberID: memberID,
		Bucket: now.UnixMilli() / clickBucket.Milliseconds(), ClickedAt: now}
	res, err := s.db.NewInsert().Model(row).On("CONFLICT (show_id, product_id, member_id, bucket) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("analytics: record click: %w", err)
	}
	added, _ := res.RowsAffected()
	return added == 1, nil
}
