package proxy

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/go-kit/kit/circuitbreaker"
	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	"github.com/sony/gobreaker"

	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

var _ sd.Endpointer = (*follower)(nil) // API check

// follower follows one service: an sd/redis Instancer, one endpoint per listed instance (host:port)
// behind its own breaker, and go-kit's round robin over them. It is the Endpointer the round robin
// reads: unlike sd.DefaultEndpointer it takes the Instancer's first state before it is used, so a
// request made right after the first ask sees the instances already listed.
type follower struct {
	p       *Proxy
	service string
	ready   chan struct{} // closed once started (or failed: err)
	err     error

	instancer *sdredis.Instancer
	events    chan sd.Event
	quit      chan struct{}
	done      chan struct{}
	rr        lb.Balancer
	lastUsed  atomic.Int64 // a use counter value, for the LRU bound

	endpoints atomic.Pointer[[]endpoint.Endpoint]
	addrList  atomic.Pointer[[]string]     // the addresses of endpoints, sorted
	byAddr    map[string]*instanceEndpoint // owned by run
	listed    atomic.Int32                 // instances listed now

	requests, errors atomic.Uint64 // for Traffic
}

// instanceEndpoint is one instance's endpoint: its breaker around one HTTP send.
type instanceEndpoint struct {
	addr string
	e    endpoint.Endpoint
}

// start makes the Instancer (its first lookup is done when NewInstancer returns) and takes its state.
func (f *follower) start() {
	defer close(f.ready)
	in, err := sdredis.NewInstancer(f.p.client, f.service, f.p.logger)
	if err != nil {
		f.err = err
		return
	}
	f.instancer, f.rr = in, lb.NewRoundRobin(f)
	f.events = make(chan sd.Event, 1)
	in.Register(f.events) // the current state is in f.events when Register returns
	select {
	case ev := <-f.events:
		f.update(ev)
	default:
		f.endpoints.Store(&[]endpoint.Endpoint{})
	}
	go f.run()
}

func (f *follower) run() {
	defer close(f.done)
	for {
		select {
		case ev := <-f.events:
			f.update(ev)
		case <-f.quit:
			return
		}
	}
}

// update takes a new list of instances: endpoints (and breakers) of instances still listed are kept.
// An error event keeps the last list (a Redis hiccup is no reason to drop live instances).
func (f *follower) update(ev sd.Event) {
	if ev.Err != nil {
		if f.endpoints.Load() == nil {
			f.endpoints.Store(&[]endpoint.Endpoint{})
		}
		return
	}
	addrs := append([]string(nil), ev.Instances...) // sorted by the Instancer
	f.addrList.Store(&addrs)
	next := make(map[string]*instanceEndpoint, len(ev.Instances))
	eps := make([]endpoint.Endpoint, 0, len(ev.Instances))
	for _, addr := range ev.Instances {
		ie := f.byAddr[addr]
		if ie == nil {
			ie = f.newInstance(addr)
		}
		next[addr] = ie
		eps = append(eps, ie.e)
	}
	for addr := range f.byAddr {
		if next[addr] == nil {
			f.p.metrics.forgetInstance(f.service, addr)
		}
	}
	f.byAddr = next
	f.listed.Store(int32(len(eps)))
	f.endpoints.Store(&eps)
}

func (f *follower) addrs() []string {
	if a := f.addrList.Load(); a != nil {
		return slices.Clone(*a)
	}
	return nil
}

// Endpoints implements sd.Endpointer.
func (f *follower) Endpoints() ([]endpoint.Endpoint, error) { return *f.endpoints.Load(), nil }

func (f *follower) newInstance(addr string) *instanceEndpoint {
	settings := f.p.cfg.breaker(addr)
	own, onChange := settings.IsSuccessful, settings.OnStateChange
	settings.IsSuccessful = func(err error) bool {
		if own != nil && own(err) {
			return true
		}
		// The client going away or the request's own budget is no failure of the instance; a
		// connection refused, reset or an instance silent past the timeout is.
		return err == nil || errors.Is(err, errCallerGone)
	}
	service := f.service
	settings.OnStateChange = func(name string, from, to gobreaker.State) {
		f.p.metrics.breakerState(service, addr, to)
		if onChange != nil {
			onChange(name, from, to)
		}
	}
	f.p.metrics.breakerState(service, addr, gobreaker.StateClosed)
	send := circuitbreaker.Gobreaker(gobreaker.NewCircuitBreaker(settings))(f.p.sendEndpoint(addr))
	return &instanceEndpoint{addr: addr, e: func(ctx context.Context, request any) (any, error) {
		a := request.(*attempt)
		if a.c.triedAddr(addr) {
			return nil, errTried // round robin handed out an instance this request failed on
		}
		a.addr = addr
		return send(ctx, a)
	}}
}

// stop ends the follower; it may be called before start has ended: it waits for it.
func (f *follower) stop() {
	<-f.ready
	if f.instancer == nil {
		return
	}
	f.instancer.Deregister(f.events)
	close(f.quit)
	<-f.done
	f.instancer.Stop()
}

// followers is the Proxy's bounded set of followed services.
type followers struct {
	mu     sync.RWMutex
	byName map[string]*follower
	uses   atomic.Int64
	closed bool
}
