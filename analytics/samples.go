package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/live"
)

// Sample is a show's running like total and concurrent viewers at one
// moment, kept while the show is live.
type Sample struct {
	bun.BaseModel `bun:"table:show_samples"`

	ShowID  string    `bun:"show_id,pk"`
	At      time.Time `bun:"at,pk"`
	Likes   int64     `bun:"likes,notnull"`
	Viewers int       `bun:"viewers,notnull"`
}

// SampleShows records the like total and viewers of every live show, and
// a closing sample, stamped at the end, of the shows that ended within two
// sample periods (so the likes of a show's last seconds are kept). A live
// show's sample time is the current time cut to the sample period, so
// replicas running it at once write one sample. It returns the number of
// samples written.
func (s *Service) SampleShows(ctx context.Context) (int, error) {
	now := s.now()
	var shows []live.Show
	if err := s.db.NewSelect().Model(&shows).Column("id", "status", "likes", "viewers", "ended_at").
		Where("status = ? OR (status IN (?) AND ended_at >= ?)", live.StatusLive,
			bun.In([]live.Status{live.StatusEnded, live.StatusReplayReady}), now.Add(-2*s.period)).
		Scan(ctx); err != nil {
		return 0, fmt.Errorf("analytics: list live shows: %w", err)
	}
	at := now.Truncate(s.period)
	written := 0
	for _, sh := range shows {
		sample := Sample{ShowID: sh.ID, At: at, Likes: sh.Likes, Viewers: sh.Viewers}
		if sh.Status != live.StatusLive && sh.EndedAt != nil {
			// The closing sample holds the final total: it is stamped at
			// the end, and every later run writes the same one.
			sample.At = sh.EndedAt.UTC()
		}
		res, err := s.db.NewInsert().Model(&sample).On("CONFLICT (show_id, at) DO NOTHING").Exec(ctx)
		if err != nil {
			return written, fmt.Errorf("analytics: sample show %s: %w", sh.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			written++
		}
	}
	return written, nil
}
