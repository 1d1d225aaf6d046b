package queue

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// scheduleScript moves due delayed messages (retries and delayed enqueues) to the back of the
// received list, earliest first. A member that is not "<id>|<raw>" (written by something else) goes
// to the incomplete list unchanged: nothing is lost, and the members after it are still delivered.
// KEYS[1] delayed, KEYS[2] received, KEYS[3] incomplete
// ARGV[1] now (unix ms), ARGV[2] max messages per call
// Returns {handled, due time of the next delayed message in unix ms or -1, dead-lettered}.
var scheduleScript = goredis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local bad = 0
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
  local bar = string.find(m, '|', 1, true)
  if bar then
    redis.call('LPUSH', KEYS[2], string.sub(m, bar + 1))
  else
    redis.call('RPUSH', KEYS[3], m)
    bad = bad + 1
  end
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {#due, tonumber(nxt[2] or '-1'), bad}
`)

const scheduleBatch = 500

// schedule moves every due message and returns how many it moved to the received list and when the
// next one is due (zero: none waiting). A plain read comes first, so that an idle queue costs one
// cheap command per interval.
func (c *Consumer) schedule(ctx context.Context) (moved int, next time.Time, err error) {
	first, err := c.rdb.ZRangeWithScores(ctx, c.keys.delayed, 0, 0).Result()
	if err != nil || len(first) == 0 {
		return 0, next, err
	}
	if due := time.UnixMilli(int64(first[0].Score)); due.After(c.now()) {
		return 0, due, nil
	}
	k := []string{c.keys.delayed, c.keys.received, c.keys.incomplete}
	for {
		res, err := scheduleScript.Run(ctx, c.rdb, k, ms(c.now()), scheduleBatch).Int64Slice()
		if err != nil {
			return moved, next, err
		}
		moved += int(res[0] - res[2])
		if res[2] > 0 {
			c.badDelayed.Add(uint64(res[2]))
			c.inputLog.Log("msg", "delayed entries without a message moved to incomplete", "count", res[2])
		}
		if res[0] < scheduleBatch {
			if res[1] >= 0 {
				next = time.UnixMilli(res[1])
			}
			return moved, next, nil
		}
	}
}

// scheduleLoop runs schedule every scheduler interval, or sooner when the next message is due
// sooner. Other producers may add earlier messages at any time, hence the fixed interval.
func (c *Consumer) scheduleLoop(ctx context.Context) {
	failures := 0
	for {
		wait := c.schedulerEvery
		_, next, err := c.schedule(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			failures++
			c.logger.Log("msg", "scheduler failed", "err", err)
			wait = max(wait, retryDelay(failures))
		case err == nil:
			failures = 0
			if !next.IsZero() {
				wait = max(min(wait, next.Sub(c.now())), time.Millisecond)
			}
		}
		c.pause(ctx, waitSchedule, wait)
		if ctx.Err() != nil {
			return
		}
	}
}
