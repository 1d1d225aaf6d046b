package queue

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// recoverScript returns messages whose lease expired (their consumer died or lost Redis for longer
// than the lease) to the front of the received list. Idempotent: any number of consumers may run it.
// Each recovery is counted per message (tally.go), so that a message that kills every consumer
// taking it can be recognized (ConsumerMaxRecoveries).
// KEYS[1] leases, KEYS[2] leased, KEYS[3] in-progress, KEYS[4] received, KEYS[5] counted,
// KEYS[6] attempts, KEYS[7] recoveries
// ARGV[1] now (unix ms), ARGV[2] count ttl (ms), ARGV[3] max counted, ARGV[4] max leases per call
// Returns the number of expired leases removed.
var recoverScript = goredis.NewScript(tallyLua + `
local now, ttl, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
for _, token in ipairs(expired) do
  redis.call('ZREM', KEYS[1], token)
  local raw = redis.call('HGET', KEYS[2], token)
  redis.call('HDEL', KEYS[2], token)
  if raw and redis.call('LREM', KEYS[3], -1, raw) == 1 then
    redis.call('RPUSH', KEYS[4], raw)
    local sha = redis.sha1hex(raw)
    touch(KEYS[5], {KEYS[6], KEYS[7]}, sha, now, ttl, cap)
    redis.call('HINCRBY', KEYS[7], sha, 1)
  end
end
return #expired
`)

const recoverBatch = 500

// recoverExpired runs recoverScript until no expired lease is left, after a plain read that keeps
// the common case (nothing expired) at one cheap command.
func (c *Consumer) recoverExpired(ctx context.Context) (int, error) {
	now := c.now()
	some, err := c.rdb.ZRangeByScore(ctx, c.keys.leases, &goredis.ZRangeBy{Min: "-inf", Max: ms(now), Count: 1}).Result()
	if err != nil || len(some) == 0 {
		return 0, err
	}
	total := 0
	args := append(c.countsArgs(now), recoverBatch)
	for {
		n, err := recoverScript.Run(ctx, c.rdb, c.keys.recoverKeys(), args...).Int()
		total += n
		if err != nil || n < recoverBatch {
			return total, err
		}
	}
}

// recoverLoop looks for expired leases every recover interval and, when orphan adoption is on, for
// unleased in-progress messages every tenth of the adoption age (at least every recover interval).
func (c *Consumer) recoverLoop(ctx context.Context) {
	tick, stop := c.ticker(waitRecover, c.recoverEvery)
	defer stop()
	var lastOrphanScan time.Time
	for {
		c.waiting(ctx, waitRecover)
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		n, err := c.recoverExpired(ctx)
		c.mx.recovered.Add(float64(n))
		if err != nil {
			if ctx.Err() == nil {
				c.logger.Log("msg", "recovery failed", "err", err)
			}
		} else if n > 0 {
			c.logger.Log("msg", "expired leases recovered", "count", n)
		}
		if now := c.now(); c.orphanAfter > 0 && now.Sub(lastOrphanScan) >= max(c.orphanAfter/10, c.recoverEvery) {
			lastOrphanScan = now
			n, err := c.adoptOrphans(ctx)
			c.mx.recovered.Add(float64(n))
			if err != nil {
				if ctx.Err() == nil {
					c.logger.Log("msg", "orphan scan failed", "err", err)
				}
			} else if n > 0 {
				c.logger.Log("msg", "unleased in-progress messages requeued", "count", n)
			}
		}
	}
}
