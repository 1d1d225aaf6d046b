package balancer

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/go-kit/kit/circuitbreaker"
	"github.com/go-kit/kit/endpoint"
	"github.com/sony/gobreaker"

	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/transport/redispubsub/internal/conninfo"
)

// breaker is one instance's circuit breaker: go-kit's circuitbreaker.Gobreaker around the instance's
// Publisher, made again (closed, counts cleared) by reset.
type breaker struct {
	settings gobreaker.Settings
	next     endpoint.Endpoint
	e        atomic.Pointer[endpoint.Endpoint]
}

func newBreaker(settings gobreaker.Settings, next endpoint.Endpoint) *breaker {
	own := settings.IsSuccessful
	if own == nil {
		own = instanceAnswered
	}
	settings.IsSuccessful = func(err error) bool {
		var ce *callerError
		return errors.As(err, &ce) || own(err)
	}
	br := &breaker{settings: settings, next: next}
	br.reset()
	return br
}

func (br *breaker) reset() {
	e := circuitbreaker.Gobreaker(gobreaker.NewCircuitBreaker(br.settings))(br.next)
	br.e.Store(&e)
}

// instanceAnswered is the default IsSuccessful: besides a success, an error reply (the instance ran
// the endpoint, or was busy and said so: alive), ErrNoResponders (the instance is not there: round robin moves on at once, and
// discovery drops it within its presence TTL; an open breaker would only keep a returning instance
// out) and a cancellation are no failure of the instance.
func instanceAnswered(err error) bool {
	var re *redispubsub.RemoteError
	return err == nil || errors.As(err, &re) || errors.Is(err, redispubsub.ErrNoResponders) ||
		errors.Is(err, context.Canceled)
}

// callerError marks an outcome that was the caller's doing, never the instance's: its subscription
// was lost or its Conn closed or full, its PUBLISH failed, or its context ended. gobreaker v1 cannot
// leave a call out, so the breaker counts it as a success.
type callerError struct{ err error }

func (e *callerError) Error() string { return e.err.Error() }
func (e *callerError) Unwrap() error { return e.err }

// callerKey keys the caller's own context in the context of each attempt: the attempt's deadline
// (Timeout/Attempts) and the call's (Timeout) are the balancer's, and running out of them is the
// instance's failure; the caller's context ending is not.
type callerKey struct{}

// callerSide marks the caller's own failures of next (inside the breaker).
func callerSide(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, request interface{}) (interface{}, error) {
		response, err := next(ctx, request)
		if err == nil {
			return response, nil
		}
		if caller, ok := ctx.Value(callerKey{}).(context.Context); ok && caller.Err() != nil || conninfo.CallerSide(err) {
			return nil, &callerError{err}
		}
		return nil, err
	}
}

// guard is an instance's endpoint as the balancer calls it: while the Conn is not subscribed the call
// fails at once with ErrConnectionLost (ErrClosed once it is closed) without asking the breaker; the
// mark of callerSide is taken off again outside it.
func (b *Balancer) guard(br *breaker) endpoint.Endpoint {
	return func(ctx context.Context, request interface{}) (interface{}, error) {
		if err := conninfo.Ready(b.conn); err != nil {
			return nil, err
		}
		response, err := (*br.e.Load())(ctx, request)
		var ce *callerError
		if errors.As(err, &ce) {
			return nil, ce.err
		}
		return response, err
	}
}

// resetBreakers closes every instance's breaker: it runs when the Conn has subscribed anew, since
// what failed while it was down (replies lost with its subscription) was not the instances' doing.
func (b *Balancer) resetBreakers() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for br := range b.breakers {
		br.reset()
	}
}

// closer adapts a func to io.Closer.
type closer func()

func (f closer) Close() error { f(); return nil }
