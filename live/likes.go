package live

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// MaxLikesPerCall caps the likes one call may add (a client batches its
// taps).
const MaxLikesPerCall = 100

// Like adds a viewer's likes to a live show. Likes are summed in Redis and
// broadcast with the next chat batch; the total is kept on the show.
// It returns the show's like total.
func (s *Service) Like(ctx context.Context, showID, memberID string, count int) (int64, error) {
	if count < 1 || count > MaxLikesPerCall {
		return 0, invalid("count", fmt.Sprintf("must be between 1 and %d", MaxLikesPerCall))
	}
	show, err := s.mayTakePart(ctx, showID, memberID)
	if err != nil {
		return 0, err
	}
	keys := chatKeys(showID)
	var total *redis.IntCmd
	if _, err := s.redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.IncrBy(ctx, keys.likes, int64(count))
		// A total Redis lost starts again from the stored one.
		p.SetNX(ctx, keys.likeTotal, show.likes, 0)
		total = p.IncrBy(ctx, keys.likeTotal, int64(count))
		return nil
	}); err != nil {
		return 0, fmt.Errorf("count likes: %w", err)
	}
	// The room joins the broadcaster's set once per cache refresh, not on
	// every tap: the set is in another slot than the show's keys, so it
	// would cost a second round trip each time.
	if !show.listed.Load() {
		if err := s.redis.SAdd(ctx, chatRooms, showID).Err(); err != nil {
			return 0, fmt.Errorf("count likes: %w", err)
		}
		show.listed.Store(true)
	}
	return max(total.Val(), show.likes), nil
}
