package fleet

import (
	"errors"
	"sync"
	"time"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hydrakit/hydrakit/internal/trust"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/metrics"
)

// ErrClosed is returned by Shared after Close.
var ErrClosed = errors.New("hydrakit: client closed")

// State is a *hydrakit.Client as the other packages of the module see it. Its exported fields are set
// once by hydrakit.NewClient and never change.
type State struct {
	Redis   goredis.UniversalClient
	Keys    keyspace.Scheme
	Logger  log.Logger
	Now     func() time.Time
	Cluster bool
	Signing *trust.Keys // nil: nothing is signed or checked
	// Tracing is where spans go and how their context travels in hdr; never nil.
	Tracing Tracing
	Metrics *metrics.Set // never nil: metrics.Discard() unless hydrakit.WithMetrics

	mu      sync.Mutex
	closed  bool
	shared  map[any]any
	closers []func() error
}

// Tracing is the client's OpenTelemetry setting (hydrakit.WithTracerProvider, WithPropagators).
type Tracing struct {
	Provider   trace.TracerProvider
	Propagator propagation.TextMapPropagator
}

// Of returns the State of a *hydrakit.Client, or nil for a nil client. Package hydrakit sets it in its
// init, because the client's state must be reachable from the module's packages but not from users'.
var Of func(client any) *State

// Shared returns the value kept under key (a value of an unexported type of the calling package),
// making it with open on first use. The close func that open returns runs at Close, in reverse
// order of making.
func (s *State) Shared(key any, open func() (value any, close func() error)) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if v, ok := s.shared[key]; ok {
		return v, nil
	}
	if s.shared == nil {
		s.shared = map[any]any{}
	}
	v, closeFn := open()
	s.shared[key] = v
	if closeFn != nil {
		s.closers = append(s.closers, closeFn)
	}
	return v, nil
}

// Close runs the close funcs of every shared value and returns the first error. It is idempotent.
func (s *State) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	closers := s.closers
	s.closers, s.shared = nil, nil
	s.mu.Unlock()
	var first error
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i](); err != nil && first == nil {
			first = err
		}
	}
	return first
}
