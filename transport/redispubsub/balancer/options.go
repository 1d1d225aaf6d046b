package balancer

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/sony/gobreaker"

	"github.com/hydrakit/hydrakit/transport/redispubsub"
)

// Option configures a Balancer. New refuses an invalid one with an error wrapping ErrConfig.
type Option func(*config)

type config struct {
	attempts  int
	timeout   time.Duration
	breaker   func(instance string) gobreaker.Settings
	publisher []redispubsub.PublisherOption
	instancer sd.Instancer // tests: instances without Redis
	err       error
}

func (c *config) refuse(format string, args ...any) {
	c.err = errors.Join(c.err, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
}

// Attempts sets how many instances one call may try (default 3); zero or less is refused. Failures
// that cost no time (redispubsub.ErrNoResponders, an open breaker, no instance listed) may use up to
// 4× as many, since round robin can meet a dead instance again before discovery drops it. Use 1 for
// an endpoint that is not idempotent: a request that timed out may still have run.
func Attempts(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.refuse("Attempts(%d): must be positive", n)
		}
		c.attempts = n
	}
}

// Timeout bounds one call including its retries (default 10 s); zero or less is refused. Each
// attempt gets Timeout divided by Attempts, so that a request lost with a crashed instance is retried
// elsewhere instead of failing the call.
func Timeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.refuse("Timeout(%v): must be positive", d)
		}
		c.timeout = d
	}
}

// Breaker sets the gobreaker settings of each instance's circuit breaker; nil is refused. The default
// is gobreaker's, named after the instance: the breaker opens after more than 5 consecutive failures,
// stays open 60 s, then lets 1 call through (half-open) and closes when it succeeds; counts are not
// cleared while it is closed (Interval 0).
//
// What the breaker counts as the instance's failure is, above all, an attempt that ran out of time
// (Timeout/Attempts, or PublisherTimeout) while the instance listened; also a reply the decoder
// refused and an encoder error. When IsSuccessful is nil,
// error replies (*redispubsub.RemoteError: the instance ran the endpoint), ErrNoResponders (the
// instance is not there: round robin moves on at once and discovery drops it; an open breaker would
// only keep it out once it is back) and cancellations count as successes (a busy instance's 503 is
// an error reply too: alive, not failing). Whatever IsSuccessful says,
// the caller's own failures never reach it and count as successes (gobreaker v1 cannot leave a call
// out): ErrConnectionLost and ErrClosed of its Conn, ErrTooManyPending, a PUBLISH that failed, and the
// caller's context ending. While the Conn is not subscribed, calls fail with ErrConnectionLost
// without asking the breakers, and when it has subscribed anew every breaker is reset (closed,
// counts cleared): what failed meanwhile was the caller's loss.
func Breaker(settings func(instance string) gobreaker.Settings) Option {
	return func(c *config) {
		if settings == nil {
			c.refuse("nil Breaker settings")
		}
		c.breaker = settings
	}
}

// PublisherOptions adds options to every instance's Publisher (redispubsub.PublisherBefore...). A
// redispubsub.PublisherTimeout among them replaces the per-attempt timeout. They are validated by New.
func PublisherOptions(options ...redispubsub.PublisherOption) Option {
	return func(c *config) { c.publisher = append(c.publisher, options...) }
}
