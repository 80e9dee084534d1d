package community

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Rate is a pace: Per is how many calls a second may be made on average,
// Burst how many at once after a pause.
type Rate struct {
	PerSecond float64
	Burst     int
}

// DefaultSubscribeRate is the pace of subscribe messages. The documented
// limits campaigns are paced to, by default:
//
//   - subscribeMessage.send: a mini-program with WeChat Pay may send
//     30,000,000 subscribe messages a day (the sandbox's DefaultLimits
//     mirror it); spread over the day that is about 347 a second, so a
//     campaign never spends the day's quota in one burst.
//   - WeCom: every API of a corp may be called at most 10,000 times a
//     minute and 150,000 times an hour (主动调用频率限制); add_msg_template
//     takes up to 10,000 customers a call. The hourly limit is the tighter,
//     about 41 calls a second.
func DefaultSubscribeRate() Rate { return Rate{PerSecond: 30_000_000.0 / 86400, Burst: 500} }

// DefaultWeComRate is the pace of WeCom API calls; see DefaultSubscribeRate.
func DefaultWeComRate() Rate { return Rate{PerSecond: 150_000.0 / 3600, Burst: 100} }

// pacer is a token bucket in Redis shared by every worker: the bucket's
// tokens and the time they were counted live in one hash, and a script
// refills and takes them at once using Redis's own clock.
type pacer struct {
	r      redis.UniversalClient
	script *redis.Script
}

// paceScript takes up to ARGV[3] tokens, and at least ARGV[4], from the
// bucket KEYS[1] filling at ARGV[1] tokens a second up to ARGV[2]; it
// answers {taken, wait ms}.
const paceScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local least = tonumber(ARGV[4])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
local taken = math.min(want, math.floor(tokens))
if taken < least then taken = 0 end
tokens = tokens - taken
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], 3600000)
local wait = 0
if taken == 0 then
  wait = math.ceil((least - tokens) * 1000 / rate)
  if wait < 1 then wait = 1 end
end
return {taken, wait}
`

func newPacer(r redis.UniversalClient) *pacer {
	return &pacer{r: r, script: redis.NewScript(paceScript)}
}

// take waits until a few tokens of bucket are free (one, or 20ms' worth
// at a fast pace, so a busy sender asks Redis some fifty times a second
// rather than once a message) and takes up to want of them; it returns how
// many it took.
func (p *pacer) take(ctx context.Context, bucket string, rate Rate, want int) (int, error) {
	if want <= 0 {
		return 0, nil
	}
	if rate.PerSecond <= 0 {
		return want, nil
	}
	burst := max(rate.Burst, 1)
	want = min(want, burst)
	least := min(want, max(1, int(rate.PerSecond/50)))
	for {
		res, err := p.script.Run(ctx, p.r, []string{"pace:{" + bucket + "}"}, rate.PerSecond, burst, want, least).Int64Slice()
		if err != nil {
			return 0, fmt.Errorf("pace %s: %w", bucket, err)
		}
		if len(res) != 2 {
			return 0, fmt.Errorf("pace %s: script answered %v", bucket, res)
		}
		if res[0] > 0 {
			return int(res[0]), nil
		}
		t := time.NewTimer(time.Duration(res[1]) * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
	}
}
