package catalog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// engine runs the flash-sale scripts. Every key of a sale carries the hash
// tag {fs:ID}; the keys are:
//
//	meta    hash: limit, starts and ends (Unix milliseconds)
//	stock   units left
//	bought  hash: member → units the member holds
//	claims  hash: claim id → the claim's record (JSON)
//	dedupe  hash: request key → claim id, so a retried request wins once
//	journal stream of won claims, drained to the database
//	soldout set once the last unit is gone
type engine struct {
	r       redis.UniversalClient
	claim   *redis.Script
	release *redis.Script
	restore *redis.Script
	arm     *redis.Script
}

type saleKeys struct {
	meta, stock, bought, claims, dedupe, journal, soldout string
}

func keysOf(saleID string) saleKeys {
	p := "fs:{" + saleID + "}:"
	return saleKeys{p + "meta", p + "stock", p + "bought", p + "claims", p + "dedupe", p + "journal", p + "soldout"}
}

func (k saleKeys) all() []string {
	return []string{k.meta, k.stock, k.bought, k.claims, k.dedupe, k.journal, k.soldout}
}

// claimScript is the whole decision of one or more claims of a sale, in
// the order given. Each claim is six arguments: member, quantity, claim
// id, dedupe key (empty for none), now (Unix milliseconds) and the claim's
// record. For each claim it answers three values: outcome, detail and
// journal entry id. Claims decided together see each other as if they had
// run one after the other.
const claimScript = `
local meta = redis.call('HMGET', KEYS[1], 'limit', 'starts', 'ends')
local limit = meta[1] and tonumber(meta[1])
local starts, ends = tonumber(meta[2] or '0'), tonumber(meta[3] or '0')
local flagged = redis.call('EXISTS', KEYS[7]) == 1
local soldout = flagged
local stock = nil
local took = 0
local out = {}
for i = 1, #ARGV, 6 do
  local member, qty, id, dedupe, now, rec = ARGV[i], tonumber(ARGV[i+1]), ARGV[i+2], ARGV[i+3], tonumber(ARGV[i+4]), ARGV[i+5]
  local r, d, e = nil, '0', ''
  if dedupe ~= '' then
    local prior = redis.call('HGET', KEYS[5], dedupe)
    if prior then r, d = 'dup', prior end
  end
  if r then
  elseif soldout then r = 'sold_out'
  elseif not limit then r = 'not_armed'
  elseif now < starts then r, d = 'not_started', meta[2]
  elseif now >= ends then r, d = 'ended', meta[3]
  else
    local had = tonumber(redis.call('HGET', KEYS[3], member) or '0')
    if had + qty > limit then
      r, d = 'limit', tostring(had)
    else
      if not stock then stock = tonumber(redis.call('GET', KEYS[2]) or '0') end
      if stock < qty then
        if stock <= 0 then
          soldout = true
          r = 'sold_out'
        else
          r, d = 'not_enough', tostring(stock)
        end
      else
        stock = stock - qty
        took = took + qty
        redis.call('HINCRBY', KEYS[3], member, qty)
        redis.call('HSET', KEYS[4], id, rec)
        if dedupe ~= '' then redis.call('HSET', KEYS[5], dedupe, id) end
        e = redis.call('XADD', KEYS[6], '*', 'claim', rec)
        r, d = 'ok', tostring(stock)
        if stock <= 0 then soldout = true end
      end
    end
  end
  out[#out+1] = r
  out[#out+1] = d
  out[#out+1] = e
end
if took > 0 then redis.call('DECRBY', KEYS[2], took) end
if soldout and not flagged then redis.call('SET', KEYS[7], '1') end
return out
`

// releaseScript gives a released claim's units back to the sale, once:
// only the call that removes the claim record moves stock.
const releaseScript = `
if redis.call('HDEL', KEYS[4], ARGV[1]) == 0 then return 0 end
local qty = tonumber(ARGV[3])
redis.call('INCRBY', KEYS[2], qty)
if redis.call('HINCRBY', KEYS[3], ARGV[2], -qty) <= 0 then redis.call('HDEL', KEYS[3], ARGV[2]) end
redis.call('DEL', KEYS[7])
return 1
`

// restoreScript puts back a claim the database holds but Redis lost, once.
const restoreScript = `
if redis.call('HSETNX', KEYS[4], ARGV[1], ARGV[4]) == 0 then return 0 end
local qty = tonumber(ARGV[3])
local stock = redis.call('DECRBY', KEYS[2], qty)
redis.call('HINCRBY', KEYS[3], ARGV[2], qty)
if stock <= 0 then redis.call('SET', KEYS[7], '1') end
return 1
`

// armScript sets a sale up in Redis unless it already is: its window and
// limit, its stock, and the claims already won (triples of id, member,
// quantity, record after the first four arguments).
const armScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'limit', ARGV[1], 'starts', ARGV[2], 'ends', ARGV[3])
local stock = tonumber(ARGV[4])
redis.call('SET', KEYS[2], stock)
redis.call('DEL', KEYS[3], KEYS[4], KEYS[7])
local i = 5
while i + 3 <= #ARGV + 0 do
  redis.call('HSET', KEYS[4], ARGV[i], ARGV[i+3])
  redis.call('HINCRBY', KEYS[3], ARGV[i+1], tonumber(ARGV[i+2]))
  i = i + 4
end
if stock <= 0 then redis.call('SET', KEYS[7], '1') end
return 1
`

func newEngine(r redis.UniversalClient) *engine {
	return &engine{
		r:       r,
		claim:   redis.NewScript(claimScript),
		release: redis.NewScript(releaseScript),
		restore: redis.NewScript(restoreScript),
		arm:     redis.NewScript(armScript),
	}
}

// outcome is what the claim script decided for one claim.
type outcome struct {
	result string
	detail string
	entry  string
}

// claimArgs is one claim as the claim script takes it.
type claimArgs struct {
	member string
	qty    int
	id     string
	dedupe string
	now    int64
	record string
}

// saleClaims are claims of one sale decided by one run of the script.
type saleClaims struct {
	saleID string
	claims []claimArgs
	out    []outcome
	err    error
}

// runClaims decides every group, one script run per sale, in one round
// trip. Each group gets its outcomes or its error.
func (e *engine) runClaims(ctx context.Context, groups []*saleClaims) {
	if len(groups) == 1 {
		g := groups[0]
		g.set(e.claim.Run(ctx, e.r, keysOf(g.saleID).all(), g.args()...).StringSlice())
		return
	}
	pipe := e.r.Pipeline()
	cmds := make([]*redis.Cmd, len(groups))
	for i, g := range groups {
		cmds[i] = e.claim.EvalSha(ctx, pipe, keysOf(g.saleID).all(), g.args()...)
	}
	_, _ = pipe.Exec(ctx)
	for i, g := range groups {
		if redis.HasErrorPrefix(cmds[i].Err(), "NOSCRIPT") {
			// A Redis that restarted since: Run loads the script.
			g.set(e.claim.Run(ctx, e.r, keysOf(g.saleID).all(), g.args()...).StringSlice())
			continue
		}
		g.set(cmds[i].StringSlice())
	}
}

func (g *saleClaims) args() []any {
	args := make([]any, 0, 6*len(g.claims))
	for _, c := range g.claims {
		args = append(args, c.member, c.qty, c.id, c.dedupe, c.now, c.record)
	}
	return args
}

func (g *saleClaims) set(res []string, err error) {
	switch {
	case err != nil:
		g.err = fmt.Errorf("flash-sale claim script: %w", err)
	case len(res) != 3*len(g.claims):
		g.err = fmt.Errorf("flash-sale claim script answered %d values for %d claims", len(res), len(g.claims))
	default:
		g.out = make([]outcome, len(g.claims))
		for i := range g.out {
			g.out[i] = outcome{result: res[3*i], detail: res[3*i+1], entry: res[3*i+2]}
		}
	}
}

func (e *engine) runRelease(ctx context.Context, saleID, claimID, memberID string, qty int) (bool, error) {
	n, err := e.release.Run(ctx, e.r, keysOf(saleID).all(), claimID, memberID, qty).Int()
	if err != nil {
		return false, fmt.Errorf("flash-sale release script: %w", err)
	}
	return n == 1, nil
}

func (e *engine) runRestore(ctx context.Context, saleID, claimID, memberID string, qty int, record string) (bool, error) {
	n, err := e.restore.Run(ctx, e.r, keysOf(saleID).all(), claimID, memberID, qty, record).Int()
	if err != nil {
		return false, fmt.Errorf("flash-sale restore script: %w", err)
	}
	return n == 1, nil
}

// armClaim is a claim the arm script loads.
type armClaim struct {
	id, member string
	qty        int
	record     string
}

func (e *engine) runArm(ctx context.Context, f FlashSale, stock int, claims []armClaim) (bool, error) {
	args := []any{f.PerMemberLimit, f.StartsAt.UnixMilli(), f.EndsAt.UnixMilli(), stock}
	for _, c := range claims {
		args = append(args, c.id, c.member, c.qty, c.record)
	}
	n, err := e.arm.Run(ctx, e.r, keysOf(f.ID).all(), args...).Int()
	if err != nil {
		return false, fmt.Errorf("flash-sale arm script: %w", err)
	}
	return n == 1, nil
}

// snapshot is what Redis holds for a sale.
type snapshot struct {
	armed  bool
	stock  int
	claims map[string]string // id → record
}

func (e *engine) snapshot(ctx context.Context, saleID string) (snapshot, error) {
	k := keysOf(saleID)
	var s snapshot
	n, err := e.r.Exists(ctx, k.meta).Result()
	if err != nil {
		return s, fmt.Errorf("read flash sale %s: %w", saleID, err)
	}
	if s.armed = n == 1; !s.armed {
		return s, nil
	}
	if s.claims, err = e.r.HGetAll(ctx, k.claims).Result(); err != nil {
		return s, fmt.Errorf("read claims of %s: %w", saleID, err)
	}
	v, err := e.r.Get(ctx, k.stock).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return s, fmt.Errorf("read stock of %s: %w", saleID, err)
	}
	s.stock, _ = strconv.Atoi(v)
	return s, nil
}

// remaining returns the units left, and false when the sale is not armed.
func (e *engine) remaining(ctx context.Context, saleID string) (int, bool, error) {
	v, err := e.r.Get(ctx, keysOf(saleID).stock).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read stock of %s: %w", saleID, err)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false, fmt.Errorf("stock of %s is %q: %w", saleID, v, err)
	}
	return n, true, nil
}

// expire lets a finished sale's keys go after a week, long enough for any
// late release or inspection.
func (e *engine) expire(ctx context.Context, saleID string) error {
	for _, key := range keysOf(saleID).all() {
		if err := e.r.Expire(ctx, key, 7*24*time.Hour).Err(); err != nil {
			return fmt.Errorf("expire %s: %w", key, err)
		}
	}
	return nil
}
