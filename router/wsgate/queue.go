package wsgate

import (
	"context"
	"errors"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/umf"
)

// queuePrefix is hydra-router's: messages for a client that is away wait in the list
// <prefix>:<clientID>:queued, and move to <prefix>:<clientID>:processing while they are delivered.
// The :gone marker is hydrakit's own: a client that left a hydrakit router, whose queue may be
// started by a fwd from anywhere.
const queuePrefix = "hydra-router:message:queue:"

// queueKeys returns the client's queued and processing lists and its gone marker; on a cluster-safe
// keyspace the ID is hash-tagged so that the three share a slot.
func (g *Gateway) queueKeys(id string) (queued, processing, gone string) {
	base := queuePrefix + id
	if g.keys.IsClusterSafe() {
		base = queuePrefix + "{" + id + "}"
	}
	return base + ":queued", base + ":processing", base + ":gone"
}

// enqueueScript appends a message to a client's reconnect queue, bounded.
// KEYS[1] the client's queued list, KEYS[2] its gone marker.
// ARGV[1] the message, ARGV[2] the queue limit, ARGV[3] the TTL in seconds, ARGV[4] "1" to queue only
// for a known client (its queue or its gone marker exists).
// Returns the number of oldest messages dropped to keep the limit, or -1 for an unknown client
// (nothing queued).
var enqueueScript = goredis.NewScript(`
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 0 then
  return -1
end
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
local drop = n - tonumber(ARGV[2])
if drop > 0 then
  redis.call('LTRIM', KEYS[1], drop, -1)
else
  drop = 0
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return drop
`)

// enqueueRaw queues data for client id; false when it was not queued (unknown client, bad ID, Redis
// error).
func (g *Gateway) enqueueRaw(id string, data []byte, requireKnown bool) bool {
	if !validID(id) {
		return false
	}
	queued, _, gone := g.queueKeys(id)
	known := "0"
	if requireKnown {
		known = "1"
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.writeTimeout)
	defer cancel()
	n, err := enqueueScript.Run(ctx, g.rdb, []string{queued, gone}, data, g.cfg.queueLimit,
		strconv.Itoa(int(g.cfg.queueTTL/time.Second)), known).Int()
	switch {
	case err != nil:
		g.logger.Log("msg", "queue a message for a client", "client", id, "err", err)
		return false
	case n < 0:
		g.stats.unknownClients.Add(1)
		return false
	}
	g.stats.queued.Add(1)
	g.stats.queueDropped.Add(uint64(n))
	return true
}

// markGone records that client id left this router, so that messages for it are queued.
func (g *Gateway) markGone(id string) {
	_, _, gone := g.queueKeys(id)
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.writeTimeout)
	defer cancel()
	if err := g.rdb.Set(ctx, gone, "1", g.cfg.queueTTL).Err(); err != nil {
		g.logger.Log("msg", "mark a client gone", "client", id, "err", err)
	}
}

// recoverScript moves back to the head of the queue, in order, what a router left in processing
// (it stopped while delivering), at most ARGV[1] messages.
// KEYS[1] the client's processing list, KEYS[2] its queued list. Returns the number moved.
var recoverScript = goredis.NewScript(`
local n = 0
while n < tonumber(ARGV[1]) do
  if not redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') then break end
  n = n + 1
end
return n
`)

// drain delivers client id's queued messages to c, oldest first, at the client's pace: each moves
// to processing while it is on its way and leaves it once the socket has taken it. If the socket
// leaves first, the message goes back to the head of the queue.
func (g *Gateway) drain(c *client, id string) {
	queued, processing, _ := g.queueKeys(id)
	if err := recoverScript.Run(c.ctx, g.rdb, []string{processing, queued}, g.cfg.queueLimit).Err(); err != nil && !errors.Is(err, goredis.Nil) {
		g.logger.Log("msg", "recover a client's queue", "client", id, "err", err)
	}
	for {
		raw, err := g.rdb.LMove(c.ctx, queued, processing, "LEFT", "RIGHT").Result()
		if err != nil {
			if !errors.Is(err, goredis.Nil) && c.ctx.Err() == nil {
				g.logger.Log("msg", "drain a client's queue", "client", id, "err", err)
			}
			return
		}
		msg, err := umf.Unmarshal([]byte(raw))
		var data []byte
		if err == nil {
			msg.Signature = ""
			data, err = msg.Marshal()
		}
		ctx, cancel := context.WithTimeout(context.Background(), g.cfg.writeTimeout)
		if err != nil {
			g.stats.malformed.Add(1)
			g.rdb.LRem(ctx, processing, 1, raw)
			cancel()
			continue
		}
		if !c.sendWait(frame{id: id, data: data, keep: true}) {
			pipe := g.rdb.TxPipeline()
			pipe.LPush(ctx, queued, raw)
			pipe.LRem(ctx, processing, 1, raw)
			_, _ = pipe.Exec(ctx)
			cancel()
			return
		}
		g.rdb.LRem(ctx, processing, 1, raw)
		cancel()
		g.stats.delivered.Add(1)
	}
}
