package queue

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/umf"
)

// attemptHeader counts in a message's hdr how many times it was handled and failed. It travels in
// the message itself, so it survives restarts and needs no extra key; Node consumers ignore it.
const attemptHeader = "hydrakit-attempt"

// fetchScript moves up to ARGV[2] messages from received to in-progress and leases each one, in one
// atomic step, so a consumer that dies at any moment leaves no unleased message behind. go-redis
// resends a command whose reply was lost (Redis restarting), so a fetch whose first token exists
// already ran: it answers the same messages again instead of leasing more under the same tokens.
// KEYS[1] received, KEYS[2] in-progress, KEYS[3] leases, KEYS[4] leased, KEYS[5] recovered
// ARGV[1] lease deadline (unix ms), ARGV[2] max messages, ARGV[3] token prefix (unique per call)
// Returns raw message, recovery count, raw message, recovery count...: oldest first; the lease
// token of the i-th message is ARGV[3]..i.
var fetchScript = goredis.NewScript(`
local out = {}
local again = redis.call('HEXISTS', KEYS[4], ARGV[3] .. 1) == 1
local counted = redis.call('EXISTS', KEYS[5]) == 1
for i = 1, tonumber(ARGV[2]) do
  local raw
  if again then
    raw = redis.call('HGET', KEYS[4], ARGV[3] .. i)
  else
    raw = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  end
  if not raw then break end
  if not again then
    redis.call('ZADD', KEYS[3], ARGV[1], ARGV[3] .. i)
    redis.call('HSET', KEYS[4], ARGV[3] .. i, raw)
  end
  out[#out+1] = raw
  out[#out+1] = counted and redis.call('HGET', KEYS[5], raw) or '0'
end
return out
`)

var fetchSeq atomic.Uint64

// fetch leases up to n messages.
func (c *Consumer) fetch(ctx context.Context, n int) ([]*Delivery, error) {
	prefix := c.id + "." + strconv.FormatUint(fetchSeq.Add(1), 36) + "."
	deadline := ms(c.now().Add(c.lease))
	k := []string{c.keys.received, c.keys.inProgress, c.keys.leases, c.keys.leased, c.keys.recovered}
	res, err := fetchScript.Run(ctx, c.rdb, k, deadline, n, prefix).StringSlice()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, err
	}
	ds := make([]*Delivery, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		recoveries, _ := strconv.Atoi(res[i+1])
		d := &Delivery{Service: c.service, Raw: []byte(res[i]), Attempt: 1, Recoveries: recoveries,
			token: prefix + strconv.Itoa(i/2+1)}
		if m, err := umf.Unmarshal(d.Raw); err == nil {
			d.Message = m
			if v, ok := m.Header(attemptHeader); ok {
				if n, err := strconv.Atoi(v); err == nil && n > 0 {
					d.Attempt = n + 1
				}
			}
		}
		c.held.add(d)
		ds = append(ds, d)
	}
	return ds, nil
}

// fetchLoop fetches batches for free slots and waits on Redis, without polling, when the queue is
// empty. It closes jobs when it returns.
func (c *Consumer) fetchLoop(ctx context.Context) {
	defer close(c.jobs)
	failures := 0
	for {
		n := 0
		select {
		case c.slots <- struct{}{}:
			n++
		case <-ctx.Done():
			return
		}
	more:
		for n < c.workers+c.prefetch {
			select {
			case c.slots <- struct{}{}:
				n++
			default:
				break more
			}
		}
		ds, err := c.fetch(ctx, n)
		for range n - len(ds) {
			<-c.slots
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			c.logger.Log("msg", "fetch failed", "err", err)
			sleep(ctx, retryDelay(failures))
			continue
		}
		failures = 0
		for _, d := range ds {
			c.jobs <- d // never blocks: jobs holds as many as there are slots
		}
		if len(ds) < n {
			c.waitForWork(ctx)
		}
	}
}

// waitForWork blocks until the received list is non-empty, Redis fails, or ctx ends. BLMOVE from
// the list's tail back to its tail changes nothing, so no message is ever outside a list without a
// lease. An idle pool costs one BLMOVE per block timeout and nothing else on this path.
func (c *Consumer) waitForWork(ctx context.Context) {
	for ctx.Err() == nil {
		err := c.rdb.BLMove(ctx, c.keys.received, c.keys.received, "RIGHT", "RIGHT", c.blockTimeout).Err()
		switch {
		case err == nil:
			return
		case errors.Is(err, goredis.Nil): // timed out: wait again
		case ctx.Err() == nil:
			c.logger.Log("msg", "wait for work failed", "err", err)
			sleep(ctx, time.Second)
			return // fetch again: its errors back off
		}
	}
}

// retryDelay backs off from 100 ms to 5 s while Redis keeps failing.
func retryDelay(failures int) time.Duration {
	return min(100*time.Millisecond<<min(failures-1, 6), 5*time.Second)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
