package queue

import (
	"context"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// settleScript applies handler outcomes, each only if its lease is still the consumer's own: a
// lease recovered after expiry is gone, so a late result never removes another consumer's copy.
// A retry records the failed attempts and forgets the recoveries; a message that ends (complete,
// dead letter) forgets both. A release changes neither.
// KEYS[1] leases, KEYS[2] leased, KEYS[3] in-progress, KEYS[4] received, KEYS[5] delayed,
// KEYS[6] incomplete, KEYS[7] counted, KEYS[8] attempts, KEYS[9] recoveries
// ARGV[1] now (unix ms), ARGV[2] count ttl (ms), ARGV[3] max counted, then groups of 5: op (c
// complete, q release, r retry, d dead-letter), lease token, target (r: delayed member; d:
// incomplete item), due (r: unix ms), failed attempts (r)
// Returns one integer per group: 1 applied, 0 lease lost.
var settleScript = goredis.NewScript(tallyLua + `
local now, ttl, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local counts = {KEYS[8], KEYS[9]}
local out = {}
local counted = redis.call('EXISTS', KEYS[7]) == 1
for i = 4, #ARGV, 5 do
  local ok = 0
  if redis.call('ZREM', KEYS[1], ARGV[i+1]) == 1 then
    ok = 1
    local raw = redis.call('HGET', KEYS[2], ARGV[i+1])
    redis.call('HDEL', KEYS[2], ARGV[i+1])
    if raw then
      redis.call('LREM', KEYS[3], -1, raw)
    end
    local op = ARGV[i]
    if op == 'q' and raw then
      redis.call('RPUSH', KEYS[4], raw)
    elseif op == 'r' then
      redis.call('ZADD', KEYS[5], ARGV[i+3], ARGV[i+2])
      if raw then
        local sha = redis.sha1hex(raw)
        touch(KEYS[7], counts, sha, now, ttl, cap)
        redis.call('HDEL', KEYS[9], sha)
        redis.call('HSET', KEYS[8], sha, ARGV[i+4])
      end
    elseif op == 'd' then
      redis.call('RPUSH', KEYS[6], ARGV[i+2])
    end
    if counted and raw and (op == 'c' or op == 'd') then
      forget(KEYS[7], counts, redis.sha1hex(raw))
    end
  end
  out[#out+1] = ok
end
return out
`)

// maxSettle bounds one script call, so a huge batch does not stall Redis.
const maxSettle = 256

func (c *Consumer) settle(ctx context.Context, batch []outcome) error {
	args := append(make([]any, 0, 3+5*len(batch)), c.countsArgs(c.now())...)
	for _, o := range batch {
		args = append(args, string(o.op), o.d.token, o.target, strconv.FormatInt(o.due, 10), o.d.Attempt)
	}
	applied, err := settleScript.Run(ctx, c.rdb, c.keys.settleKeys(), args...).Int64Slice()
	if err != nil {
		return err
	}
	c.mx.settled(batch, applied)
	for i, ok := range applied {
		if i < len(batch) {
			endSettle(batch[i], ok == 1)
		}
		if ok == 0 && i < len(batch) {
			mid := ""
			if m := batch[i].d.Message; m != nil {
				mid = m.MID
			}
			c.inputLog.Log("msg", "result not applied: lease gone (expired and recovered, or settled by a resent call)", "mid", mid, "err", ErrLeaseLost)
		}
	}
	return nil
}

// settleLoop applies outcomes in batches: whatever workers finished while the previous call was
// in flight goes in the next one. A failed call is retried until it succeeds or ctx ends; the
// leases stay renewed meanwhile, so nothing is redelivered while Redis is merely slow.
func (c *Consumer) settleLoop(ctx context.Context) {
	batch := make([]outcome, 0, maxSettle)
	defer c.abandonOutcomes()
	for {
		var o outcome
		var ok bool
		select {
		case o, ok = <-c.outcomes:
		case <-ctx.Done():
			return
		}
		if !ok {
			return
		}
		batch = append(batch[:0], o)
	more:
		for len(batch) < maxSettle {
			select {
			case o, ok := <-c.outcomes:
				if !ok {
					break more
				}
				batch = append(batch, o)
			default:
				break more
			}
		}
		for failures := 1; ; failures++ {
			err := c.settle(ctx, batch)
			if err == nil {
				break
			}
			c.logger.Log("msg", "settle failed", "err", err)
			sleep(ctx, retryDelay(failures))
			if ctx.Err() != nil {
				for _, o := range batch {
					abandonSettle(o)
				}
				return // leases stay; the messages are recovered when they expire
			}
		}
		for _, o := range batch {
			c.held.remove(o.d)
			<-c.slots
		}
	}
}

// abandonOutcomes ends the settle spans of the outcomes the settler leaves unread when its context
// ends before the workers' outcomes closed.
func (c *Consumer) abandonOutcomes() {
	for {
		select {
		case o, ok := <-c.outcomes:
			if !ok {
				return
			}
			abandonSettle(o)
		default:
			return
		}
	}
}

// releaseAll returns every message still held to the received list, at the end of a shutdown whose
// handlers did not return.
func (c *Consumer) releaseAll() {
	held := c.held.all()
	if len(held) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for len(held) > 0 {
		n := min(len(held), maxSettle)
		batch := make([]outcome, n)
		for i, d := range held[:n] {
			batch[i] = outcome{op: opRelease, d: d}
		}
		if err := c.settle(ctx, batch); err != nil {
			c.logger.Log("msg", "release at shutdown failed; leases will expire", "err", err)
			return
		}
		held = held[n:]
	}
}
