package queue

import (
	"math/rand/v2"
	"time"
)

// Timing that no user needs to turn (see docs/queue.md, "Blocking fetch, batches and cost"). Tests
// shorten them through the unexported fields they set.
const (
	// blockTimeout is how long one blocking wait for new work lasts. It bounds the idle load (one
	// BLMOVE per timeout) and how long Close waits for the fetcher; go-redis sends whole seconds.
	blockTimeout = 2 * time.Second
	// schedulerInterval bounds how late due delayed messages and retries are delivered.
	schedulerInterval = time.Second
	// maxRecoverInterval caps the recoverer's period, which is otherwise lease/5.
	maxRecoverInterval = 5 * time.Second
	// minLease is the resolution of lease deadlines (unix ms in Redis).
	minLease = time.Millisecond
	// maxHeld bounds workers and prefetch, each: their sum is the capacity of the consumer's channels.
	maxHeld = 1 << 16
)

// ConsumerOption configures a Consumer. An option left out keeps its default; an invalid value makes
// NewConsumer fail with ErrConfig.
type ConsumerOption func(*Consumer)

// ConsumerWorkers sets how many messages are handled concurrently (default 8, at most 65536). Zero or
// a negative n is refused.
func ConsumerWorkers(n int) ConsumerOption {
	return func(c *Consumer) {
		if n <= 0 || n > maxHeld {
			c.fail(configError("workers %d: want 1 to %d", n, maxHeld))
		}
		c.workers = n
	}
}

// ConsumerPrefetch sets how many leased messages may wait locally for a free worker (default: the
// number of workers, at least 32; at most 65536). Fetching ahead in batches is what makes the pool
// fast. Zero fetches only for idle workers: with slow handlers and several consumers a small value
// shares the queue more evenly, since messages waiting in one consumer are not available to another.
// A negative n is refused.
func ConsumerPrefetch(n int) ConsumerOption {
	return func(c *Consumer) {
		if n < 0 || n > maxHeld {
			c.fail(configError("prefetch %d: want 0 to %d", n, maxHeld))
		}
		c.prefetch = n
	}
}

// ConsumerLease sets how long a message stays leased without a heartbeat (default 25 s, at least
// 1 ms). Heartbeats renew leases every lease/5, so long handlers keep their messages, and the
// recoverer looks for expired leases every lease/5 (at most every 5 s): a message held by a consumer
// that died returns to the received list within 1.2 × lease (30 s by default). Zero or a negative d is
// refused.
func ConsumerLease(d time.Duration) ConsumerOption {
	return func(c *Consumer) {
		if d < minLease {
			c.fail(configError("lease %v: want at least %v", d, minLease))
		}
		c.lease = d
	}
}

// ConsumerMaxAttempts sets how many times a message is handled before it goes to the incomplete
// list (default 5; 1 means no retries). Zero or a negative n is refused.
func ConsumerMaxAttempts(n int) ConsumerOption {
	return func(c *Consumer) {
		if n <= 0 {
			c.fail(configError("max attempts %d: want at least 1", n))
		}
		c.maxAttempts = n
	}
}

// ConsumerBackoff sets the delay before retry attempt+1 after attempt failed (default: exponential
// from 1 s, doubling, capped at 5 min, with ±20% jitter). A nil f is refused.
func ConsumerBackoff(f func(attempt int) time.Duration) ConsumerOption {
	return func(c *Consumer) {
		if f == nil {
			c.fail(configError("nil backoff"))
		}
		c.backoff = f
	}
}

// ConsumerMaxRecoveries moves a message to the incomplete list, without handling it, once it has been
// taken back from consumers that died holding it n times (a count lasts a week after the message's
// last recovery): a message that crashes every process handling it would otherwise be redelivered
// forever. Zero turns it off, the default,
// since messages that were only prefetched by a crashed consumer count too. A negative n is refused.
func ConsumerMaxRecoveries(n int) ConsumerOption {
	return func(c *Consumer) {
		if n < 0 {
			c.fail(configError("max recoveries %d: want 0 (off) or more", n))
		}
		c.maxRecoveries = n
	}
}

// ConsumerShutdownTimeout sets how long Close lets running handlers finish before cancelling their
// contexts and returning their messages to the received list (default 10 s). Zero or a negative d is
// refused.
func ConsumerShutdownTimeout(d time.Duration) ConsumerOption {
	return func(c *Consumer) {
		if d <= 0 {
			c.fail(configError("shutdown timeout %v: want a positive duration", d))
		}
		c.shutdownTimeout = d
	}
}

// ConsumerAdoptOrphans makes the recoverer return in-progress messages that carry no lease (taken
// by Node Hydra consumers, which hold none) to the received list once they have been seen without a
// lease for longer than after. Zero turns it off, the default: a Node consumer slower than after
// would see its message delivered twice. See docs/queue.md. A negative after is refused.
func ConsumerAdoptOrphans(after time.Duration) ConsumerOption {
	return func(c *Consumer) {
		if after < 0 {
			c.fail(configError("adopt orphans after %v: want 0 (off) or a positive duration", after))
		}
		c.orphanAfter = after
	}
}

// defaultBackoff is exponential backoff from 1 s, doubling per attempt, capped at 5 min, ±20% jitter.
func defaultBackoff(attempt int) time.Duration {
	d := time.Second << min(max(attempt-1, 0), 20)
	d = min(d, 5*time.Minute)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
