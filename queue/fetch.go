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

// fetchScript moves up to ARGV[2] messages from received to in-progress and leases each one, in one
// atomic step, so a consumer that dies at any moment leaves no unleased message behind.
// A fetch is asked again under the same tokens when its reply may have been lost after it ran: by
// go-redis, which resends a command whose reply did not arrive (Redis restarting), and by the fetch
// loop, which repeats a failed fetch with its token prefix (ARGV[4] = 1). Asked again, it answers the
// messages still leased under those tokens, with their leases renewed, instead of leasing more under
// tokens in use: a resend is recognized by its first token; a repeat looks at every token, since the
// recoverer may have taken some back meanwhile. Only a fetch none of whose tokens is leased moves
// messages, so a token is never leased twice.
// KEYS[1] received, KEYS[2] in-progress, KEYS[3] leases, KEYS[4] leased, KEYS[5] counted,
// KEYS[6] attempts, KEYS[7] recoveries
// ARGV[1] lease deadline (unix ms), ARGV[2] max messages, ARGV[3] token prefix (unique per fetch),
// ARGV[4] 1 when the fetch loop repeats a fetch that failed, else 0, ARGV[5] the oldest time of a
// count change still kept (unix ms): older counts read as 0
// Returns token number, raw message, failed attempts, recoveries, then the same for the next
// message...: oldest first; the lease token of a message is ARGV[3]..its token number.
var fetchScript = goredis.NewScript(`
local out = {}
local n = tonumber(ARGV[2])
local again = redis.call('HEXISTS', KEYS[4], ARGV[3] .. 1) == 1
if not again and ARGV[4] == '1' then
  for i = 2, n do
    if redis.call('HEXISTS', KEYS[4], ARGV[3] .. i) == 1 then
      again = true
      break
    end
  end
end
local counted = redis.call('EXISTS', KEYS[5]) == 1
for i = 1, n do
  local raw
  if again then
    raw = redis.call('HGET', KEYS[4], ARGV[3] .. i)
    if raw then
      redis.call('ZADD', KEYS[3], 'XX', ARGV[1], ARGV[3] .. i)
    end
  else
    raw = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
    if not raw then break end
    redis.call('ZADD', KEYS[3], ARGV[1], ARGV[3] .. i)
    redis.call('HSET', KEYS[4], ARGV[3] .. i, raw)
  end
  if raw then
    local attempts, recoveries = '0', '0'
    if counted then
      local sha = redis.sha1hex(raw)
      local changed = redis.call('ZSCORE', KEYS[5], sha)
      if changed and tonumber(changed) > tonumber(ARGV[5]) then
        attempts = redis.call('HGET', KEYS[6], sha) or '0'
        recoveries = redis.call('HGET', KEYS[7], sha) or '0'
      end
    end
    out[#out+1] = i
    out[#out+1] = raw
    out[#out+1] = attempts
    out[#out+1] = recoveries
  end
end
return out
`)

var fetchSeq atomic.Uint64

// newFetchPrefix returns a token prefix no fetch has used.
func (c *Consumer) newFetchPrefix() string {
	return c.id + "." + strconv.FormatUint(fetchSeq.Add(1), 36) + "."
}

// fetch leases up to n messages under tokens starting with prefix; repeat says that a fetch under
// prefix already failed, and may have leased messages whose reply was lost.
func (c *Consumer) fetch(ctx context.Context, n int, prefix string, repeat bool) ([]*Delivery, error) {
	now, fetched := c.now(), time.Now()
	flag := 0
	if repeat {
		flag = 1
	}
	res, err := fetchScript.Run(ctx, c.rdb, c.keys.fetchKeys(), ms(now.Add(c.lease)), n, prefix, flag,
		ms(now.Add(-countsKept))).Slice()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, err
	}
	ds := make([]*Delivery, 0, len(res)/4)
	for i := 0; i+3 < len(res); i += 4 {
		number, _ := res[i].(int64)
		raw, _ := res[i+1].(string)
		failed, _ := res[i+2].(string)
		recovered, _ := res[i+3].(string)
		attempts, _ := strconv.Atoi(failed)
		recoveries, _ := strconv.Atoi(recovered)
		d := &Delivery{Service: c.service, Raw: []byte(raw), Attempt: attempts + 1, Recoveries: recoveries,
			token: prefix + strconv.FormatInt(number, 10), fetched: fetched}
		if m, err := umf.Unmarshal(d.Raw); err == nil {
			d.Message = m
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
	// failed is the token prefix of the last fetch if it failed: it may have run in Redis and leased
	// messages whose reply was lost, so the next fetch asks under the same prefix. It asks for at
	// least as many: slots only come free while fetches fail.
	failed := ""
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
		prefix := failed
		if prefix == "" {
			prefix = c.newFetchPrefix()
		}
		ds, err := c.fetch(ctx, n, prefix, failed != "")
		for range n - len(ds) {
			<-c.slots
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failed = prefix
			failures++
			c.logger.Log("msg", "fetch failed", "err", err)
			sleep(ctx, retryDelay(failures))
			continue
		}
		failed, failures = "", 0
		c.mx.fetched.Add(float64(len(ds)))
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

// retryDelay backs off from 100 ms to 1 s while Redis keeps failing: a pool is back at work within
// about a second of Redis answering again (go-redis adds at most another second after a run of
// failed dials), for the cost of one failed call per second and loop while it is down.
func retryDelay(failures int) time.Duration {
	return min(100*time.Millisecond<<min(failures-1, 6), time.Second)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
