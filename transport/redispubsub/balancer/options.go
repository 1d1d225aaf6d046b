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

// Breaker sets the gobreaker settings of each instance's circuit breaker (default: gobreaker's
// defaults, named after the instance: it opens after more than 5 consecutive failures). When
// IsSuccessful is nil, error replies (*redispubsub.RemoteError) and cancellations count as
// successes: the instance answered, or the caller gave up. nil is refused.
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
