package queue

import (
	"math/rand/v2"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/keyspace"
)

// ConsumerOption configures a Consumer. Zero or negative values keep the default.
type ConsumerOption func(*Consumer)

// ConsumerWorkers sets how many messages are handled concurrently (default 8).
func ConsumerWorkers(n int) ConsumerOption { return func(c *Consumer) { c.workers = max(n, 1) } }

// ConsumerPrefetch sets how many leased messages may wait locally for a free worker (default: the
// number of workers, at least 32). Fetching ahead in batches is what makes the pool fast; a small
// value shares a slow queue more evenly between consumers; 0 fetches only for idle workers.
func ConsumerPrefetch(n int) ConsumerOption { return func(c *Consumer) { c.prefetch = max(n, 0) } }

// ConsumerLease sets how long a message stays leased without a heartbeat (default 25 s). A message
// held by a consumer that died returns to the received list within lease + recover interval
// (30 s by default). Heartbeats renew leases every lease/5, so long handlers keep their messages.
func ConsumerLease(d time.Duration) ConsumerOption {
	return func(c *Consumer) {
		if d > 0 {
			c.lease = d
		}
	}
}

// ConsumerRecoverInterval sets how often expired leases are looked for (default 5 s).
func ConsumerRecoverInterval(d time.Duration) ConsumerOption {
	return func(c *Consumer) {
		if d > 0 {
			c.recoverEvery = d
		}
	}
}

// ConsumerSchedulerInterval sets how often due delayed messages and retries are moved to the
// received list (default 1 s), which bounds how late they are delivered.
func ConsumerSchedulerInterval(d time.Duration) ConsumerOption {
	return func(c *Consumer) {
		if d > 0 {
			c.schedulerEvery = d
		}
	}
}

// ConsumerBlockTimeout sets how long one blocking wait for new work lasts (default 2 s, at least
// 1 s: go-redis sends whole seconds). It bounds the idle Redis load (one command per timeout) and
// how long Stop waits for the fetcher.
func ConsumerBlockTimeout(d time.Duration) ConsumerOption {
	return func(c *Consumer) {
		if d > 0 {
			c.blockTimeout = max(d.Truncate(time.Second), time.Second)
		}
	}
}

// ConsumerMaxAttempts sets how many times a message is handled before it goes to the incomplete
// list (default 5).
func ConsumerMaxAttempts(n int) ConsumerOption {
	return func(c *Consumer) { c.maxAttempts = max(n, 1) }
}

// ConsumerBackoff sets the delay before retry attempt+1 after attempt failed (default: exponential
// from 1 s, doubling, capped at 5 min, with ±20% jitter).
func ConsumerBackoff(f func(attempt int) time.Duration) ConsumerOption {
	return func(c *Consumer) {
		if f != nil {
			c.backoff = f
		}
	}
}

// ConsumerMaxRecoveries moves a message to the incomplete list, without handling it, once it has been
// taken back from consumers that died holding it n times (within a week): a message that crashes
// every process handling it would otherwise be redelivered forever. Off (0) by default, since
// messages that were only prefetched by a crashed consumer count too.
func ConsumerMaxRecoveries(n int) ConsumerOption {
	return func(c *Consumer) { c.maxRecoveries = max(n, 0) }
}

// ConsumerShutdownTimeout sets how long Stop lets running handlers finish before cancelling their
// contexts and returning their messages to the received list (default 10 s).
func ConsumerShutdownTimeout(d time.Duration) ConsumerOption {
	return func(c *Consumer) {
		if d > 0 {
			c.shutdownTimeout = d
		}
	}
}

// ConsumerAdoptOrphans makes the recoverer return in-progress messages that carry no lease (taken
// by Node Hydra consumers, which hold none) to the received list once they have been seen without a
// lease for longer than after. Off by default: a Node consumer slower than after would see its
// message delivered twice. See docs/queue.md.
func ConsumerAdoptOrphans(after time.Duration) ConsumerOption {
	return func(c *Consumer) { c.orphanAfter = max(after, 0) }
}

// ConsumerLogger sets the logger (default log.NewNopLogger()).
func ConsumerLogger(l log.Logger) ConsumerOption {
	return func(c *Consumer) {
		if l != nil {
			c.logger = l
		}
	}
}

// ConsumerKeyspace sets the key scheme (default keyspace.Default).
func ConsumerKeyspace(s keyspace.Scheme) ConsumerOption { return func(c *Consumer) { c.scheme = s } }

// ConsumerClock sets the clock lease deadlines and due times are computed with (default time.Now).
// All consumers of a queue must agree on the time within a fraction of the lease.
func ConsumerClock(now func() time.Time) ConsumerOption {
	return func(c *Consumer) {
		if now != nil {
			c.now = now
		}
	}
}

// DefaultBackoff is exponential backoff from 1 s, doubling per attempt, capped at 5 min, ±20% jitter.
func DefaultBackoff(attempt int) time.Duration {
	d := time.Second << min(max(attempt-1, 0), 20)
	d = min(d, 5*time.Minute)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
