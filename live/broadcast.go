package live

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// TopicChat is the data topic of chat batches (comments and likes).
const TopicChat = "chat"

// TopicControl is the data topic of control actions (pins, flash sales,
// announcements, moderation).
const TopicControl = "control"

// ChatBatch is one data message on the chat topic.
type ChatBatch struct {
	Type     string            `json:"type"` // "chat"
	Comments []json.RawMessage `json:"comments"`
	Likes    LikeCount         `json:"likes"`
}

// LikeCount is the likes part of a chat batch.
type LikeCount struct {
	Added int64 `json:"added"`
	Total int64 `json:"total"`
}

// takeBatch is run atomically per room: when the room's next send is due
// and something waits, it takes the waiting likes and as many comments as
// fit in ARGV[3] bytes (at least one), and books the next send a tick
// later. KEYS: queue, likes, like total, next. ARGV: now (ms), tick (ms),
// max bytes. Answers {0} or {1, likes, total, comment…}.
var takeBatch = redis.NewScript(`
local now = tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[4]) or '0')
if now < nxt then return {0} end
local likes = tonumber(redis.call('GET', KEYS[2]) or '0')
local items = redis.call('LRANGE', KEYS[1], 0, 999)
local limit = tonumber(ARGV[3])
local n, size = 0, 0
for i = 1, #items do
  local l = string.len(items[i])
  if n > 0 and size + l > limit then break end
  size = size + l
  n = i
end
if n == 0 and likes <= 0 then return {0} end
if n > 0 then redis.call('LTRIM', KEYS[1], n, -1) end
if likes > 0 then redis.call('DECRBY', KEYS[2], likes) end
redis.call('SET', KEYS[4], tostring(now + tonumber(ARGV[2])), 'PX', 600000)
local total = tonumber(redis.call('GET', KEYS[3]) or '0')
local out = {1, likes, total}
for i = 1, n do out[#out + 1] = items[i] end
return out
`)

// putBack returns a batch that could not be sent to the front of its
// room's queue. KEYS: queue, likes. ARGV: likes, comment….
var putBack = redis.NewScript(`
for i = #ARGV, 2, -1 do redis.call('LPUSH', KEYS[1], ARGV[i]) end
if tonumber(ARGV[1]) > 0 then redis.call('INCRBY', KEYS[2], ARGV[1]) end
return 1
`)

// Broadcaster sends each room's queued comments and likes as one message
// per tick. Every replica may run one: the per-room booking in Redis lets
// one send through per tick per room, whatever the number of replicas or
// the rate of comments.
type Broadcaster struct {
	s    *Service
	tick time.Duration
	// parallel bounds the rooms flushed at once in one tick.
	parallel int
}

// Broadcaster returns the service's broadcaster.
func (s *Service) Broadcaster() *Broadcaster {
	return &Broadcaster{s: s, tick: s.cfg.Tick, parallel: 8}
}

// Run ticks until ctx is done.
func (b *Broadcaster) Run(ctx context.Context) {
	t := time.NewTicker(b.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := b.Tick(ctx, b.s.cfg.Now()); err != nil && ctx.Err() == nil {
				b.s.log.Warn("chat broadcast", "err", err)
			}
		}
	}
}

// Tick runs one pass at time now: every room with something waiting whose
// next send is due gets one message. Tests drive it with a fake clock.
func (b *Broadcaster) Tick(ctx context.Context, now time.Time) error {
	// The likes this process took go out with this tick rather than wait
	// for its like flusher (when it serves the API too); a failed flush
	// keeps them for the next one.
	if err := b.s.FlushLikes(ctx); err != nil {
		b.s.log.Warn("flush likes", "err", err)
	}
	rooms, err := b.s.redis.SMembers(ctx, chatRooms).Result()
	if err != nil {
		return fmt.Errorf("list chat rooms: %w", err)
	}
	sem := make(chan struct{}, b.parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for _, showID := range rooms {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := b.flush(ctx, showID, now); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// flush sends one room's batch when it is due.
func (b *Broadcaster) flush(ctx context.Context, showID string, now time.Time) error {
	keys := chatKeys(showID)
	res, err := takeBatch.Run(ctx, b.s.redis, []string{keys.queue, keys.likes, keys.likeTotal, keys.next},
		now.UnixMilli(), b.tick.Milliseconds(), b.s.cfg.BatchBytes).Slice()
	if err != nil {
		return fmt.Errorf("take chat batch of %s: %w", showID, err)
	}
	if len(res) < 3 || res[0].(int64) == 0 {
		return nil
	}
	added, total := res[1].(int64), res[2].(int64)
	items := make([]string, 0, len(res)-3)
	batch := ChatBatch{Type: "chat", Comments: make([]json.RawMessage, 0, len(res)-3), Likes: LikeCount{Added: added, Total: total}}
	for _, v := range res[3:] {
		item, _ := v.(string)
		items = append(items, item)
		batch.Comments = append(batch.Comments, json.RawMessage(item))
	}
	data, err := json.Marshal(batch)
	if err != nil {
		return fmt.Errorf("encode chat batch: %w", err)
	}
	if err := b.s.cfg.Rooms.SendData(ctx, RoomName(showID), TopicChat, data); err != nil {
		args := make([]any, 0, len(items)+1)
		args = append(args, added)
		for _, it := range items {
			args = append(args, it)
		}
		// Nothing accepted is dropped: the batch waits for the next tick.
		if perr := putBack.Run(ctx, b.s.redis, []string{keys.queue, keys.likes}, args...).Err(); perr != nil {
			return fmt.Errorf("send chat batch to %s: %w (and putting it back failed: %v)", showID, err, perr)
		}
		return fmt.Errorf("send chat batch to %s: %w", showID, err)
	}
	if added > 0 {
		if err := b.s.saveLikes(ctx, showID, total); err != nil {
			return err
		}
	}
	return nil
}
