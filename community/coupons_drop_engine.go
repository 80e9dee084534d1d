package community

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// dropEngine runs the coupon-drop scripts, the flash-sale engine's
// approach (catalog/engine.go) for coupons: one claim is one coupon and a
// claim is never given back to the drop (a coupon returned by a closed
// order goes back to its member). Every key of a drop carries the hash tag
// {cd:ID}:
//
//	meta    hash: limit, starts and ends (Unix milliseconds), show
//	stock   coupons left
//	held    hash: member → coupons the member claimed
//	claims  hash: claim id → the claim's record (JSON)
//	dedupe  hash: member:request key → claim id, so a retried request wins once
//	journal stream of won claims, drained to the database
//	soldout set once the last coupon is gone
type dropEngine struct {
	r     redis.UniversalClient
	claim *redis.Script
	arm   *redis.Script
}

type dropKeys struct {
	meta, stock, held, claims, dedupe, journal, soldout string
}

func dropKeysOf(dropID string) dropKeys {
	p := "cd:{" + dropID + "}:"
	return dropKeys{p + "meta", p + "stock", p + "held", p + "claims", p + "dedupe", p + "journal", p + "soldout"}
}

func (k dropKeys) all() []string {
	return []string{k.meta, k.stock, k.held, k.claims, k.dedupe, k.journal, k.soldout}
}

// dropClaimScript is the whole decision of a claim. It answers
// {outcome, detail, journal entry id}.
const dropClaimScript = `
if ARGV[3] ~= '' then
  local prior = redis.call('HGET', KEYS[5], ARGV[3])
  if prior then return {'dup', prior, ''} end
end
local meta = redis.call('HMGET', KEYS[1], 'limit', 'starts', 'ends', 'show')
if not meta[1] then return {'not_armed', '0', ''} end
if meta[4] ~= ARGV[6] then return {'not_found', '0', ''} end
local now = tonumber(ARGV[4])
if now < tonumber(meta[2]) then return {'not_started', meta[2], ''} end
if now >= tonumber(meta[3]) then return {'ended', meta[3], ''} end
if redis.call('EXISTS', KEYS[7]) == 1 then return {'sold_out', '0', ''} end
local had = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if had >= tonumber(meta[1]) then return {'limit', tostring(had), ''} end
local stock = tonumber(redis.call('GET', KEYS[2]) or '0')
if stock <= 0 then
  redis.call('SET', KEYS[7], '1')
  return {'sold_out', '0', ''}
end
stock = redis.call('DECR', KEYS[2])
redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
redis.call('HSET', KEYS[4], ARGV[2], ARGV[5])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[5], ARGV[3], ARGV[2]) end
local entry = redis.call('XADD', KEYS[6], '*', 'claim', ARGV[5])
if stock <= 0 then redis.call('SET', KEYS[7], '1') end
return {'ok', tostring(stock), entry}
`

// dropArmScript sets a drop up in Redis unless it already is: its window
// and limit, its stock, its show, and the claims already won (triples of
// id, member and record after the first five arguments).
const dropArmScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'limit', ARGV[1], 'starts', ARGV[2], 'ends', ARGV[3], 'show', ARGV[5])
local stock = tonumber(ARGV[4])
redis.call('SET', KEYS[2], stock)
redis.call('DEL', KEYS[3], KEYS[4], KEYS[7])
local i = 6
while i + 2 <= #ARGV + 0 do
  redis.call('HSET', KEYS[4], ARGV[i], ARGV[i+2])
  redis.call('HINCRBY', KEYS[3], ARGV[i+1], 1)
  i = i + 3
end
if stock <= 0 then redis.call('SET', KEYS[7], '1') end
return 1
`

func newDropEngine(r redis.UniversalClient) *dropEngine {
	return &dropEngine{r: r, claim: redis.NewScript(dropClaimScript), arm: redis.NewScript(dropArmScript)}
}

// dropClaim is a won claim as the journal and the claims hash keep it.
type dropClaim struct {
	ID       string    `json:"id"`
	DropID   string    `json:"drop"`
	MemberID string    `json:"member"`
	At       time.Time `json:"at"`
	entry    string
}

func (c dropClaim) record() string {
	b, _ := json.Marshal(c)
	return string(b)
}

func parseDropClaim(s string) (dropClaim, error) {
	var c dropClaim
	if err := json.Unmarshal([]byte(s), &c); err != nil || c.ID == "" || c.DropID == "" || c.MemberID == "" {
		return dropClaim{}, fmt.Errorf("bad coupon-drop claim record %q: %v", s, err)
	}
	c.At = c.At.UTC()
	return c, nil
}

// dropOutcome is what the claim script decided.
type dropOutcome struct {
	result, detail, entry string
}

func (e *dropEngine) runClaim(ctx context.Context, c dropClaim, showID, dedupe string) (dropOutcome, error) {
	res, err := e.claim.Run(ctx, e.r, dropKeysOf(c.DropID).all(), c.MemberID, c.ID, dedupe, c.At.UnixMilli(), c.record(), showID).StringSlice()
	if err != nil {
		return dropOutcome{}, fmt.Errorf("coupon-drop claim script: %w", err)
	}
	if len(res) != 3 {
		return dropOutcome{}, fmt.Errorf("coupon-drop claim script answered %q", res)
	}
	return dropOutcome{result: res[0], detail: res[1], entry: res[2]}, nil
}

func (e *dropEngine) runArm(ctx context.Context, d CouponDrop, stock int, claims []dropClaim) (bool, error) {
	args := []any{d.PerMemberLimit, d.StartsAt.UnixMilli(), d.EndsAt.UnixMilli(), stock, d.ShowID}
	for _, c := range claims {
		args = append(args, c.ID, c.MemberID, c.record())
	}
	n, err := e.arm.Run(ctx, e.r, dropKeysOf(d.ID).all(), args...).Int()
	if err != nil {
		return false, fmt.Errorf("coupon-drop arm script: %w", err)
	}
	return n == 1, nil
}

// remaining returns the coupons left, and false when Redis does not hold
// the drop.
func (e *dropEngine) remaining(ctx context.Context, dropID string) (int, bool, error) {
	v, err := e.r.Get(ctx, dropKeysOf(dropID).stock).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read stock of drop %s: %w", dropID, err)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false, fmt.Errorf("stock of drop %s is %q: %w", dropID, v, err)
	}
	return n, true, nil
}

// journal reads up to limit won claims waiting in a drop's journal (every
// one when limit is 0).
func (e *dropEngine) journal(ctx context.Context, dropID string, limit int64) ([]dropClaim, []string, error) {
	var msgs []redis.XMessage
	var err error
	key := dropKeysOf(dropID).journal
	if limit > 0 {
		msgs, err = e.r.XRangeN(ctx, key, "-", "+", limit).Result()
	} else {
		msgs, err = e.r.XRange(ctx, key, "-", "+").Result()
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("read journal of drop %s: %w", dropID, err)
	}
	var claims []dropClaim
	var bad []string
	for _, m := range msgs {
		rec, _ := m.Values["claim"].(string)
		c, err := parseDropClaim(rec)
		if err != nil {
			bad = append(bad, m.ID)
			continue
		}
		c.entry = m.ID
		claims = append(claims, c)
	}
	return claims, bad, nil
}

// ack removes journal entries whose claims are in the database.
func (e *dropEngine) ack(ctx context.Context, dropID string, entries ...string) error {
	if len(entries) == 0 {
		return nil
	}
	if err := e.r.XDel(ctx, dropKeysOf(dropID).journal, entries...).Err(); err != nil {
		return fmt.Errorf("trim journal of drop %s: %w", dropID, err)
	}
	return nil
}

// priorClaim returns the claim a repeated request key already won.
func (e *dropEngine) priorClaim(ctx context.Context, dropID, claimID string) (dropClaim, bool, error) {
	rec, err := e.r.HGet(ctx, dropKeysOf(dropID).claims, claimID).Result()
	if errors.Is(err, redis.Nil) {
		return dropClaim{}, false, nil
	}
	if err != nil {
		return dropClaim{}, false, fmt.Errorf("read claim %s: %w", claimID, err)
	}
	c, err := parseDropClaim(rec)
	return c, err == nil, err
}

// expire lets a finished drop's keys go after a week.
func (e *dropEngine) expire(ctx context.Context, dropID string) error {
	for _, key := range dropKeysOf(dropID).all() {
		if err := e.r.Expire(ctx, key, 7*24*time.Hour).Err(); err != nil {
			return fmt.Errorf("expire %s: %w", key, err)
		}
	}
	return nil
}
