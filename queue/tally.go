package queue

import (
	"strconv"
	"time"
)

// Per-message counts (recoveries) live in hashes keyed by the SHA-1 of the message's bytes, beside
// a zset of when each last changed. Each script that changes a count first drops the counts that
// have not changed for countsKept (a batch at a time) and the oldest beyond maxCounted, and every
// key expires countsKept after the last change, so a count whose message ends where hydrakit does not
// see it (a Node consumer completes it) goes away with its age. The keys are fixed and passed in
// KEYS, so on a cluster they share the queue's slot; a key per message could not be, since a fetch
// only learns which messages it took inside its script.
const (
	// countsKept is how long a message's counts last after their last change.
	countsKept = 7 * 24 * time.Hour
	// maxCounted bounds the messages with counts, per queue: the least recently changed go first.
	maxCounted = 100_000
)

// tallyLua defines the count helpers for the scripts that include it. Z is the counted zset, H the
// count hashes.
const tallyLua = `
local function forget(Z, H, sha)
  redis.call('ZREM', Z, sha)
  for _, h in ipairs(H) do redis.call('HDEL', h, sha) end
end
-- touch notes that sha's counts change now: counts older than ttl go first (sha's own included,
-- so a stale count restarts from zero), then those beyond the cap, least recently changed first.
local function touch(Z, H, sha, now, ttl, cap)
  local score = redis.call('ZSCORE', Z, sha)
  if score and tonumber(score) <= now - ttl then forget(Z, H, sha) end
  for _, old in ipairs(redis.call('ZRANGEBYSCORE', Z, '-inf', now - ttl, 'LIMIT', 0, 100)) do
    forget(Z, H, old)
  end
  redis.call('ZADD', Z, now, sha)
  local over = redis.call('ZCARD', Z) - cap
  if over > 0 then
    for _, old in ipairs(redis.call('ZRANGE', Z, 0, math.min(over, 100) - 1)) do forget(Z, H, old) end
  end
  redis.call('PEXPIRE', Z, ttl)
  for _, h in ipairs(H) do redis.call('PEXPIRE', h, ttl) end
end
`

// countsArgs are the ARGV entries touch needs: now, ttl and cap.
func (c *Consumer) countsArgs(now time.Time) []any {
	return []any{ms(now), strconv.FormatInt(countsKept.Milliseconds(), 10), c.maxCounted}
}
