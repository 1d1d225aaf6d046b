package balancer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	"github.com/go-kit/log"
	"github.com/sony/gobreaker"

	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/transport/redispubsub/internal/conninfo"
)

// Balancer calls one route of a service by name: it follows the service's instances (an sd/redis
// Instancer made with the Conn's client), keeps one redispubsub.Publisher per instance behind its own
// gobreaker, and spreads calls with round robin and retries.
type Balancer struct {
	conn       *redispubsub.Conn
	instancer  sd.Instancer
	endpointer *sd.DefaultEndpointer
	rr         lb.Balancer
	attempts   int
	timeout    time.Duration
	closed     atomic.Bool
	closeOnce  sync.Once
	unhook     func() // stops the resets on resubscription

	mu       sync.Mutex
	breakers map[*breaker]struct{} // one per instance listed
}

// New returns a Balancer for route on the instances of service, calling them through conn. A call
// tries up to Attempts instances in round-robin order within Timeout; it moves on at once when an
// instance is gone (redispubsub.ErrNoResponders) or its breaker is open, and after Timeout/Attempts
// when an instance does not answer. An error reply (*redispubsub.RemoteError) ends the call at once,
// except a busy instance's 503 (redispubsub.ErrBusy), which is tried on the next instance.
// Every failed call returns an *Error. Breakers count only the instances' own failures (see
// Breaker), and every breaker closes again when conn has subscribed anew after a loss.
//
// Arguments and options are validated here: errors wrap ErrConfig. New starts following the service
// (its first lookup is done when New returns); Close stops it. Close the Balancer before conn.
func New(conn *redispubsub.Conn, service, route string, enc redispubsub.EncodeRequestFunc, dec redispubsub.DecodeResponseFunc, options ...Option) (*Balancer, error) {
	client := conninfo.Client(conn)
	if client == nil {
		return nil, fmt.Errorf("%w: nil Conn", ErrConfig)
	}
	svc, err := keyspace.ValidateService(service)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	c := config{attempts: 3, timeout: 10 * time.Second}
	for _, o := range options {
		if o == nil {
			c.refuse("nil Option")
			continue
		}
		o(&c)
	}
	if c.err != nil {
		return nil, c.err
	}
	publisher := append([]redispubsub.PublisherOption{redispubsub.PublisherTimeout(c.timeout / time.Duration(c.attempts))}, c.publisher...)
	// One Publisher made now validates the route, the codecs and the publisher options up front.
	if _, err := redispubsub.NewPublisher(conn, address(svc, "0", route), enc, dec, publisher...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}

	logger := log.With(fleet.Of(client).Logger, "component", "balancer")
	instancer := c.instancer
	if instancer == nil {
		in, err := sdredis.NewInstancer(client, svc, logger, sdredis.InstancerInstanceID()) // adds the service
		if err != nil {
			return nil, fmt.Errorf("balancer: discovery of %s: %w", svc, err)
		}
		instancer = in
	}
	b := &Balancer{conn: conn, instancer: instancer, attempts: c.attempts, timeout: c.timeout, breakers: map[*breaker]struct{}{}}
	factory := func(instance string) (endpoint.Endpoint, io.Closer, error) {
		p, err := redispubsub.NewPublisher(conn, address(svc, instance, route), enc, dec, publisher...)
		if err != nil {
			return nil, nil, err // an instance ID that is not one: sd.Endpointer logs and skips it
		}
		settings := gobreaker.Settings{Name: instance}
		if c.breaker != nil {
			settings = c.breaker(instance)
		}
		br := newBreaker(settings, callerSide(p.Endpoint()))
		b.mu.Lock()
		b.breakers[br] = struct{}{}
		b.mu.Unlock()
		return b.guard(br), closer(func() { b.mu.Lock(); delete(b.breakers, br); b.mu.Unlock() }), nil
	}
	b.endpointer = sd.NewEndpointer(instancer, factory, log.With(logger, "service", svc))
	awaitFirstEndpoints(instancer, b.endpointer)
	b.rr = lb.NewRoundRobin(b.endpointer)
	b.unhook = conninfo.OnResubscribe(conn, b.resetBreakers)
	return b, nil
}

// address is the UMF address of one instance's route: iid@svc:route.
func address(service, instance, route string) string { return instance + "@" + service + ":" + route }

// Endpoint returns the balanced endpoint. Its errors are always *Error (see there).
func (b *Balancer) Endpoint() endpoint.Endpoint { return b.call }

func (b *Balancer) call(ctx context.Context, request interface{}) (interface{}, error) {
	if b.closed.Load() {
		return nil, &Error{Err: ErrClosed}
	}
	var attempts []error
	retry := lb.RetryWithCallback(b.timeout, b.rr, func(n int, err error) (bool, error) {
		attempts = append(attempts, err) // the callback runs on this goroutine
		return b.keepTrying(n, err), nil
	})
	response, err := retry(context.WithValue(ctx, callerKey{}, ctx), request)
	if err == nil {
		return response, nil
	}
	var re lb.RetryError
	if errors.As(err, &re) {
		err = re.Final // lb.RetryError has no Unwrap; Error does
	}
	return nil, &Error{Err: err, Attempts: attempts}
}

// keepTrying decides whether the call goes on after its n-th failed attempt. Failures that cost no
// time (the instance is gone, its breaker is open, discovery lists none) may repeat while discovery
// still lists a dead instance, so they may use up to 4× the attempts. A busy instance (a 503 reply)
// did not serve the request: another one may, within Attempts.
func (b *Balancer) keepTrying(n int, err error) bool {
	if errors.Is(err, redispubsub.ErrBusy) {
		return n < b.attempts
	}
	var re *redispubsub.RemoteError
	if errors.As(err, &re) {
		return false
	}
	instant := errors.Is(err, redispubsub.ErrNoResponders) || errors.Is(err, gobreaker.ErrOpenState) ||
		errors.Is(err, gobreaker.ErrTooManyRequests) || errors.Is(err, lb.ErrNoEndpoints)
	return n < b.attempts || instant && n < 4*b.attempts
}

// Close stops following the service; calls made afterwards fail with ErrClosed. It is idempotent and
// returns nil: the Instancer's Stop reports nothing.
func (b *Balancer) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		b.unhook()
		b.endpointer.Close()
		b.instancer.Stop()
	})
	return nil
}

// awaitFirstEndpoints returns once the Endpointer has taken in the instances the Instancer already
// lists (go-kit's Endpointer takes its first event on a goroutine of its own, so a call made right
// after New would otherwise find no endpoints), or after a second.
func awaitFirstEndpoints(instancer sd.Instancer, endpointer sd.Endpointer) {
	current := make(chan sd.Event, 1)
	instancer.Register(current) // the Instancer sends its state before Register returns
	instancer.Deregister(current)
	var listed int
	select {
	case ev := <-current:
		listed = len(ev.Instances)
	default:
	}
	for deadline := time.Now().Add(time.Second); listed > 0 && time.Now().Before(deadline); {
		if endpoints, err := endpointer.Endpoints(); err == nil && len(endpoints) > 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
