package redispubsub

import (
	"context"
	"fmt"
	"sync"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// discovery finds the live instances of the services the application sends to by service address
// (svc:/route): it follows one Instancer per service, made on first use, for at most MaxFollowed
// services (past that, it reads through the lookup cache), so that the choice is made from memory,
// never from Redis. The sd/redis Instancers of one client share one watch per service
// through the client. The Conn owns it: Conn.Close stops every Instancer and waits for the goroutines
// that follow them.
type discovery struct {
	newInstancer func(service string) (sd.Instancer, error) // yields instance IDs
	max          int
	fallback     *lookups

	mu       sync.Mutex
	closed   bool
	services map[string]*followed
	wg       sync.WaitGroup
}

type followed struct {
	events chan sd.Event
	ready  chan struct{} // closed at the first event, or when making the Instancer failed
	stop   chan struct{}

	mu  sync.RWMutex
	ids []string
	err error
}

func newDiscovery(client *hydrakit.Client, logger log.Logger, fallback *lookups) *discovery {
	return &discovery{
		newInstancer: func(service string) (sd.Instancer, error) {
			return sdredis.NewInstancer(client, service, logger, sdredis.InstancerInstanceID())
		},
		max: MaxFollowed, fallback: fallback,
		services: map[string]*followed{},
	}
}

// instances returns the live instance IDs of service, waiting (within ctx) for its first lookup.
func (d *discovery) instances(ctx context.Context, service string) ([]string, error) {
	f, err := d.follow(service)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return d.fallback.instances(ctx, service)
	}
	select {
	case <-f.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	if len(f.ids) == 0 && f.err != nil {
		return nil, f.err
	}
	return f.ids, nil // after a failed lookup the last good set stands, as in sd.Endpointer
}

// known returns the instances of service if it is followed and its first lookup is done, without
// starting anything: replies to a service the application follows anyway need no read.
func (d *discovery) known(service string) ([]string, bool) {
	d.mu.Lock()
	f := d.services[service]
	d.mu.Unlock()
	if f == nil {
		return nil, false
	}
	select {
	case <-f.ready:
	default:
		return nil, false
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.ids, f.err == nil
}

// follow returns the followed service, starting to follow it when it is new: the Instancer (whose
// first lookup blocks) is made on a goroutine of the discovery's, never under its lock. It returns
// nil when MaxFollowed services are followed already.
func (d *discovery) follow(service string) (*followed, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	if f, ok := d.services[service]; ok {
		return f, nil
	}
	if len(d.services) >= d.max {
		return nil, nil
	}
	f := &followed{events: make(chan sd.Event, 1), ready: make(chan struct{}), stop: make(chan struct{})}
	d.services[service] = f
	d.wg.Add(1)
	go d.run(service, f)
	return f, nil
}

// run makes the service's Instancer and takes in its events until close.
func (d *discovery) run(service string, f *followed) {
	defer d.wg.Done()
	in, err := d.newInstancer(service)
	if err != nil {
		f.mu.Lock()
		f.err = fmt.Errorf("redispubsub: discovery of %s: %w", service, err)
		f.mu.Unlock()
		close(f.ready)
		d.mu.Lock()
		if d.services[service] == f {
			delete(d.services, service) // the next message tries again
		}
		d.mu.Unlock()
		return
	}
	defer in.Stop()
	in.Register(f.events)
	first := true
	for {
		select {
		case ev := <-f.events:
			f.mu.Lock()
			if ev.Err == nil {
				f.ids = ev.Instances
			}
			f.err = ev.Err
			f.mu.Unlock()
			if first {
				close(f.ready)
				first = false
			}
		case <-f.stop:
			// The Instancer sends under its lock: keep draining until it has let go of f.events.
			deregistered := make(chan struct{})
			go func() { in.Deregister(f.events); close(deregistered) }()
			for {
				select {
				case <-f.events:
				case <-deregistered:
					return
				}
			}
		}
	}
}

// close stops following: every Instancer is deregistered and stopped, and every goroutine of the
// discovery's has returned.
func (d *discovery) close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	services := d.services
	d.services = nil
	d.mu.Unlock()
	for _, f := range services {
		close(f.stop)
	}
	d.wg.Wait()
}
