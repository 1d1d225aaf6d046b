package queue

import (
	"context"

	goredis "github.com/redis/go-redis/v9"
)

// orphanScript requeues in-progress messages that no lease covers (Node consumers hold none) once
// they have been seen unleased for ARGV[2] ms. Copies are counted per byte string: the copies of a
// message in progress minus its leases are its orphans. Adopted copies go to the front of received.
// KEYS[1] in-progress, KEYS[2] leased, KEYS[3] orphans (hash raw → first seen), KEYS[4] received
// ARGV[1] now (unix ms), ARGV[2] adoption age (ms), ARGV[3] how many of the oldest in-progress
// messages to inspect
// Returns the number of messages requeued.
var orphanScript = goredis.NewScript(`
local copies = {}
for _, raw in ipairs(redis.call('LRANGE', KEYS[1], -tonumber(ARGV[3]), -1)) do
  copies[raw] = (copies[raw] or 0) + 1
end
for _, raw in ipairs(redis.call('HVALS', KEYS[2])) do
  if copies[raw] then copies[raw] = copies[raw] - 1 end
end
for _, raw in ipairs(redis.call('HKEYS', KEYS[3])) do
  if (copies[raw] or 0) <= 0 then redis.call('HDEL', KEYS[3], raw) end
end
local now, age, n = tonumber(ARGV[1]), tonumber(ARGV[2]), 0
for raw, count in pairs(copies) do
  if count > 0 then
    local seen = tonumber(redis.call('HGET', KEYS[3], raw))
    if not seen then
      redis.call('HSET', KEYS[3], raw, now)
    elseif now - seen >= age then
      redis.call('LREM', KEYS[1], -1, raw)
      redis.call('RPUSH', KEYS[4], raw)
      n = n + 1
      if count > 1 then redis.call('HSET', KEYS[3], raw, now) else redis.call('HDEL', KEYS[3], raw) end
    end
  end
end
return n
`)

// orphanWindow bounds the in-progress messages one scan inspects (the oldest ones).
const orphanWindow = 1000

func (c *Consumer) adoptOrphans(ctx context.Context) (int, error) {
	k := []string{c.keys.inProgress, c.keys.leased, c.keys.orphans, c.keys.received}
	return orphanScript.Run(ctx, c.rdb, k, ms(c.now()), c.orphanAfter.Milliseconds(), orphanWindow).Int()
}
