package redispubsub

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/go-kit/kit/circuitbreaker"
	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	"github.com/go-kit/log"
	"github.com/sony/gobreaker"
)

// Balancer is the whole go-kit client stack over this transport in one value: an sd.Endpointer on an
// Instancer that yields instance IDs (sd/redis with InstancerInstanceID), one Publisher per instance
// behind its own gobreaker, lb.NewRoundRobin, and lb.Retry. Each part is the stock go-kit one, so
// users who need another arrangement build it from the same pieces.
type Balancer struct {
	endpointer *sd.DefaultEndpointer
	endpoint   endpoint.Endpoint
}

type balancerConfig struct {
	attempts       int
	timeout        time.Duration
	attemptTimeout time.Duration
	breaker        func(instance string) gobreaker.Settings
	publisher      []PublisherOption
	logger         log.Logger
	endpointer     []sd.EndpointerOption
}

// BalancerOption configures a Balancer.
type BalancerOption func(*balancerConfig)

// BalancerAttempts sets how many instances one call may try (default 3). Failures that cost no time
// (ErrNoResponders, an open breaker) may use up to 4× as many, since round robin can meet a dead
// instance again before discovery drops it.
func BalancerAttempts(n int) BalancerOption {
	return func(c *balancerConfig) { c.attempts = max(n, 1) }
}

// BalancerTimeout bounds one call including its retries (default 10 s).
func BalancerTimeout(d time.Duration) BalancerOption {
	return func(c *balancerConfig) { c.timeout = d }
}

// BalancerAttemptTimeout bounds one attempt (default: BalancerTimeout divided by the attempts), so
// that a request lost with a crashed instance is retried elsewhere instead of failing the call.
func BalancerAttemptTimeout(d time.Duration) BalancerOption {
	return func(c *balancerConfig) { c.attemptTimeout = d }
}

// BalancerBreaker sets the gobreaker settings of each instance (default gobreaker's, named after the
// instance). Error replies (*RemoteError) always count as successes: the instance answered.
func BalancerBreaker(settings func(instance string) gobreaker.Settings) BalancerOption {
	return func(c *balancerConfig) { c.breaker = settings }
}

// BalancerPublisherOptions adds options to every instance's Publisher (PublisherBefore...).
func BalancerPublisherOptions(options ...PublisherOption) BalancerOption {
	return func(c *balancerConfig) { c.publisher = append(c.publisher, options...) }
}

// BalancerEndpointerOptions passes options to sd.NewEndpointer (sd.InvalidateOnError...).
func BalancerEndpointerOptions(options ...sd.EndpointerOption) BalancerOption {
	return func(c *balancerConfig) { c.endpointer = append(c.endpointer, options...) }
}

// BalancerLogger sets the Endpointer's logger; the default discards.
func BalancerLogger(logger log.Logger) BalancerOption {
	return func(c *balancerConfig) { c.logger = logger }
}

// NewBalancer returns a balanced client for route on the instances of service that instancer
// reports (instance IDs). A call tries up to BalancerAttempts instances in round-robin order; it
// moves on at once when an instance is gone (ErrNoResponders) or its breaker is open, and after
// BalancerAttemptTimeout when an instance does not answer. An error reply (*RemoteError) is returned
// as it is, without retrying. Close it when done; the instancer and conn stay the caller's.
func NewBalancer(conn *Conn, instancer sd.Instancer, service, route string, enc EncodeRequestFunc, dec DecodeResponseFunc, options ...BalancerOption) *Balancer {
	c := balancerConfig{attempts: 3, timeout: 10 * time.Second, logger: log.NewNopLogger()}
	for _, o := range options {
		o(&c)
	}
	if c.attemptTimeout <= 0 {
		c.attemptTimeout = c.timeout / time.Duration(c.attempts)
	}
	factory := func(instance string) (endpoint.Endpoint, io.Closer, error) {
		settings := gobreaker.Settings{Name: instance}
		if c.breaker != nil {
			settings = c.breaker(instance)
		}
		if settings.IsSuccessful == nil {
			settings.IsSuccessful = func(err error) bool {
				var re *RemoteError
				return err == nil || errors.As(err, &re) || errors.Is(err, context.Canceled)
			}
		}
		opts := append([]PublisherOption{PublisherTimeout(c.attemptTimeout)}, c.publisher...)
		p := NewPublisher(conn, InstanceAddress(service, instance, route), enc, dec, opts...)
		return circuitbreaker.Gobreaker(gobreaker.NewCircuitBreaker(settings))(p.Endpoint()), nil, nil
	}
	endpointer := sd.NewEndpointer(instancer, factory, c.logger, c.endpointer...)
	retry := lb.RetryWithCallback(c.timeout, lb.NewRoundRobin(endpointer), func(n int, err error) (bool, error) {
		var re *RemoteError
		if errors.As(err, &re) {
			return false, nil
		}
		return n < c.attempts || (instant(err) && n < 4*c.attempts), nil
	})
	return &Balancer{endpointer: endpointer, endpoint: retry}
}

// instant reports failures that cost no time (the instance is gone, its breaker is open): while
// discovery still lists a dead instance they may repeat, so they may use up to 4× the attempts.
func instant(err error) bool {
	return errors.Is(err, ErrNoResponders) || errors.Is(err, gobreaker.ErrOpenState) ||
		errors.Is(err, gobreaker.ErrTooManyRequests) || errors.Is(err, lb.ErrNoEndpoints)
}

// Endpoint returns the balanced endpoint. Its errors are lb.RetryError values (Final holds the last
// error), or the context's error when BalancerTimeout runs out.
func (b *Balancer) Endpoint() endpoint.Endpoint { return b.endpoint }

// Close stops following the instancer.
func (b *Balancer) Close() { b.endpointer.Close() }
