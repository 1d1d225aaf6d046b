package hydrakit

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/internal/trust"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/metrics"
)

// ErrConfig is wrapped by every invalid argument or option of NewClient.
var ErrConfig = errors.New("hydrakit: invalid configuration")

// Client carries the fleet-wide settings and shared state of every component made from it. Make one
// per process and Redis, before any component, and Close it after all of them.
type Client struct {
	state     *fleet.State
	closeOnce sync.Once
	closeErr  error
}

func init() {
	fleet.Of = func(c any) *fleet.State {
		if client, ok := c.(*Client); ok && client != nil {
			return client.state
		}
		return nil
	}
}

// Option configures a Client.
type Option func(*config)

type config struct {
	keys    keyspace.Scheme
	keysSet bool
	logger  log.Logger
	now     func() time.Time
	secrets [][]byte
	require bool
	tracing fleet.Tracing
	metrics *metrics.Set
	err     error
}

// WithKeyspace sets the key scheme of the whole fleet. The default is Node Hydra's on a single Redis
// or Sentinel, and keyspace.New(keyspace.ClusterSafe()) on a Redis Cluster, where a scheme that is not
// cluster-safe is refused.
func WithKeyspace(s keyspace.Scheme) Option {
	return func(c *config) {
		if s.Prefix() == "" {
			c.err = errors.Join(c.err, fmt.Errorf("%w: keyspace: the zero Scheme; use keyspace.New", ErrConfig))
		}
		c.keys, c.keysSet = s, true
	}
}

// WithLogger sets the logger of every component made from the client (default: discards).
// Components scope it with their own keys (component, service, instance).
func WithLogger(logger log.Logger) Option {
	return func(c *config) {
		if logger == nil {
			c.err = errors.Join(c.err, fmt.Errorf("%w: nil logger", ErrConfig))
		}
		c.logger = logger
	}
}

// WithClock sets the clock of every component made from the client (default: time.Now). Tests
// use it to move time without waiting for it; timestamps written to Redis come from it too.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.err = errors.Join(c.err, fmt.Errorf("%w: nil clock", ErrConfig))
		}
		c.now = now
	}
}

// WithSigning makes every component sign each UMF message it sends (requests, replies, broadcasts,
// queued messages) with secret, exactly as Node Hydra's signMessage('sha256', secret) does, and
// accept a signature made with secret or any of previous. Keep the secret of a rotation in previous
// until every instance signs with the new one (docs/security.md). Signing alone checks nothing;
// add WithRequiredSignatures once the whole fleet signs.
func WithSigning(secret string, previous ...string) Option {
	return func(c *config) {
		for _, s := range append([]string{secret}, previous...) {
			if s == "" {
				c.err = errors.Join(c.err, fmt.Errorf("%w: empty signing secret", ErrConfig))
			}
			c.secrets = append(c.secrets, []byte(s))
		}
	}
}

// WithRequiredSignatures makes every component refuse a message without a valid signature: pub/sub
// messages and replies are dropped (and counted), and those older or newer than the replay window
// too; queued messages are dead-lettered. It needs WithSigning.
func WithRequiredSignatures() Option {
	return func(c *config) { c.require = true }
}

// WithTracerProvider sets where the spans of every component go (default: otel.GetTracerProvider()
// when NewClient runs; the global provider forwards to one set later with otel.SetTracerProvider).
// docs/tracing.md lists the spans; trace/noop.NewTracerProvider() turns them off.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) {
		if tp == nil {
			c.err = errors.Join(c.err, fmt.Errorf("%w: nil TracerProvider", ErrConfig))
		}
		c.tracing.Provider = tp
	}
}

// WithPropagators sets how trace context travels in the hdr of every UMF message the components
// send and receive (default: otel.GetTextMapPropagator() when NewClient runs, which propagates
// nothing until one is set; use propagation.NewCompositeTextMapPropagator(propagation.TraceContext{},
// propagation.Baggage{}) for W3C traceparent, tracestate and baggage).
func WithPropagators(p propagation.TextMapPropagator) Option {
	return func(c *config) {
		if p == nil {
			c.err = errors.Join(c.err, fmt.Errorf("%w: nil TextMapPropagator", ErrConfig))
		}
		c.tracing.Propagator = p
	}
}

// WithMetrics makes every component made from the client report to set (default: metrics.Discard()):
// see package metrics, metrics/prom for Prometheus, and docs/observability.md for the list. A nil
// metric in set discards its values; a nil set is refused.
func WithMetrics(set *metrics.Set) Option {
	return func(c *config) {
		if set == nil {
			c.err = errors.Join(c.err, fmt.Errorf("%w: nil metrics set", ErrConfig))
			return
		}
		c.metrics = set.Complete()
	}
}

// NewClient returns a Client over rdb: a *goredis.Client (single Redis or Sentinel), a
// *goredis.ClusterClient, or any UniversalClient. rdb stays the caller's: Close does not close it.
// Every option is validated here; errors wrap ErrConfig.
func NewClient(rdb goredis.UniversalClient, options ...Option) (*Client, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil go-redis client", ErrConfig)
	}
	_, cluster := rdb.(*goredis.ClusterClient)
	c := config{logger: log.NewNopLogger(), now: time.Now, metrics: metrics.Discard()}
	for _, o := range options {
		o(&c)
	}
	if c.require && len(c.secrets) == 0 {
		c.err = errors.Join(c.err, fmt.Errorf("%w: WithRequiredSignatures needs WithSigning", ErrConfig))
	}
	if c.err != nil {
		return nil, c.err
	}
	if c.tracing.Provider == nil {
		c.tracing.Provider = otel.GetTracerProvider()
	}
	if c.tracing.Propagator == nil {
		c.tracing.Propagator = otel.GetTextMapPropagator()
	}
	var signing *trust.Keys
	if len(c.secrets) > 0 {
		signing = trust.New(c.secrets, c.require)
	}
	switch {
	case !c.keysSet && cluster:
		c.keys = keyspace.New(keyspace.ClusterSafe())
	case !c.keysSet:
		c.keys = keyspace.New()
	case cluster && !c.keys.IsClusterSafe():
		return nil, fmt.Errorf("%w: a Redis Cluster needs a cluster-safe keyspace (keyspace.ClusterSafe)", ErrConfig)
	}
	return &Client{state: &fleet.State{
		Redis: rdb, Keys: c.keys, Logger: c.logger, Now: c.now, Cluster: cluster, Signing: signing,
		Tracing: c.tracing, Metrics: c.metrics,
	}}, nil
}

// Redis returns the go-redis client the Client was made with.
func (c *Client) Redis() goredis.UniversalClient { return c.state.Redis }

// Keyspace returns the fleet's key scheme.
func (c *Client) Keyspace() keyspace.Scheme { return c.state.Keys }

// Logger returns the fleet's default logger.
func (c *Client) Logger() log.Logger { return c.state.Logger }

// Cluster reports whether the go-redis client is a Redis Cluster client.
func (c *Client) Cluster() bool { return c.state.Cluster }

// Close stops what the components made from the client shared (the discovery watches) and waits for
// it. It does not close the go-redis client. Close the components first: one still running when its
// client closes stops receiving updates. Close is idempotent and returns the first call's error.
func (c *Client) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.state.Close() })
	return c.closeErr
}
