package analytics

import (
	"context"
	"fmt"
	"time"
)

// Day is one day's sales and new members.
type Day struct {
	// Date is the day's start in the configured location.
	Date       time.Time `json:"date"`
	PaidOrders int       `json:"paid_orders"`
	GMV        int64     `json:"gmv"`
	NewMembers int       `json:"new_members"`
}

// Days returns the last n days (today last), days starting at midnight in
// the configured location. Sales count orders paid that day, of shows or
// not.
func (s *Service) Days(ctx context.Context, n int) ([]Day, error) {
	if n < 1 || n > 90 {
		return nil, fmt.Errorf("%w: days must be 1 to 90", ErrInvalid)
	}
	now := s.now().In(s.loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.loc)
	out := make([]Day, n)
	for i := range out {
		from := today.AddDate(0, 0, i-n+1)
		to := from.AddDate(0, 0, 1)
		d := Day{Date: from}
		var o struct {
			N   int   `bun:"n"`
			GMV int64 `bun:"gmv"`
		}
		if err := s.db.NewSelect().Table("orders").ColumnExpr("COUNT(*) AS n, COALESCE(SUM(total), 0) AS gmv").
			Where("paid_at >= ? AND paid_at < ?", from.UTC(), to.UTC()).Scan(ctx, &o); err != nil {
			return nil, fmt.Errorf("analytics: day sales: %w", err)
		}
		d.PaidOrders, d.GMV = o.N, o.GMV
		members, err := s.db.NewSelect().Table("members").Where("created_at >= ? AND created_at < ?", from.UTC(), to.UTC()).Count(ctx)
		if err != nil {
			return nil, fmt.Errorf("analytics: day members: %w", err)
		}
		d.NewMembers = int(members)
		out[i] = d
	}
	return out, nil
}
