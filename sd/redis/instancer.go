package redis

import (
	"fmt"
	"sync"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/internal/instance"
	"github.com/hydrakit/hydrakit/keyspace"
)

var _ sd.Instancer = (*Instancer)(nil) // API check

// Instancer yields the live instances of a service as go-kit sd.Events: host:port strings by default,
// instance IDs with InstancerInstanceID. Instancers of the same service on the same client share one
// watch; Redis is read by the watch, never per request.
type Instancer struct {
	cache  *instance.Cache
	byID   bool
	logger log.Logger
	w      *watch
	once   sync.Once
	failed bool // the last state was an error; guarded by the watch's lock
}

// NewInstancer looks the service up once before it returns (a failure becomes the first event's Err)
// and then follows it until Stop. logger receives this Instancer's lookup failures and recoveries. It
// fails only on an invalid service name or option (ErrConfig), or a closed client.
func NewInstancer(client *hydrakit.Client, service string, logger log.Logger, options ...InstancerOption) (*Instancer, error) {
	state := fleet.Of(client)
	if state == nil {
		return nil, fmt.Errorf("%w: nil client", ErrConfig)
	}
	name, err := keyspace.ValidateService(service)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	c := instancerConfig{resync: DefaultResync, nodesScan: DefaultNodesScan}
	for _, o := range options {
		o(&c)
	}
	if c.resync <= 0 || c.nodesScan < 0 {
		return nil, fmt.Errorf("%w: resync %v, nodes scan %v", ErrConfig, c.resync, c.nodesScan)
	}
	if logger == nil {
		logger = log.NewNopLogger()
	}
	reg, err := registryOf(state)
	if err != nil {
		return nil, err
	}
	s := &Instancer{cache: instance.NewCache(), byID: c.byID, logger: log.With(logger, "service", name)}
	s.w = reg.acquire(watchKey{service: name, resync: c.resync, nodesScan: c.nodesScan}, s, s.update)
	return s, nil
}

func (s *Instancer) update(live []Instance, err error) {
	if err != nil && !s.failed {
		s.logger.Log("msg", "lookup failed", "err", err)
	} else if err == nil && s.failed {
		s.logger.Log("msg", "lookup recovered", "instances", len(live))
	}
	s.failed = err != nil
	if err != nil {
		s.cache.Update(sd.Event{Err: err})
		return
	}
	instances := make([]string, 0, len(live))
	for _, in := range live {
		switch {
		case s.byID:
			instances = append(instances, in.ID)
		case in.IP != "" && in.Port > 0:
			instances = append(instances, in.Addr())
		}
	}
	s.cache.Update(sd.Event{Instances: instances})
}

// Register implements sd.Instancer: ch receives the current state before Register returns. A
// subscriber may be slow: it holds up no other subscriber, and receives the newest state when it
// reads again (states it missed are not queued).
func (s *Instancer) Register(ch chan<- sd.Event) { s.cache.Register(ch) }

// Deregister implements sd.Instancer.
func (s *Instancer) Deregister(ch chan<- sd.Event) { s.cache.Deregister(ch) }

// Stop implements sd.Instancer. When it was the last Instancer of its watch, Stop returns after the
// watch's goroutine has ended; deliveries still waiting for a subscriber that does not read end too.
// It may be called more than once.
func (s *Instancer) Stop() {
	s.once.Do(func() {
		s.w.release(s)
		s.cache.Close()
	})
}
