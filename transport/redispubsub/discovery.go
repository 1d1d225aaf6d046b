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

// discovery finds the live instances of a service for service addresses (svc:/route): it follows one
// Instancer per service, made on first use, so that the choice is made from memory, never from Redis.
// The sd/redis Instancers of one client share one watch per service through the client. The Conn
// owns it: Conn.Close stops every Instancer and waits for the goroutines that follow them.
type discovery struct {
	newInstancer func(service string) (sd.Instancer, error) // yields instance IDs

	mu       sync.Mutex
	closed   bool
	services map[string]*followed
	wg       sync.WaitGroup
}

type followed struct {
	instancer sd.Instancer
	events    chan sd.Event
	ready     chan struct{} // closed at the first event
	stop      chan struct{}

	mu  sync.RWMutex
	ids []string
	err error
}

func newDiscovery(client *hydrakit.Client, logger log.Logger) *discovery {
	return &discovery{
		newInstancer: func(service string) (sd.Instancer, error) {
			return sdredis.NewInstancer(client, service, logger, sdredis.InstancerInstanceID())
		},
		services: map[string]*followed{},
	}
}

// instances returns the live instance IDs of service, waiting (within ctx) for its first lookup.
func (d *discovery) instances(ctx context.Context, service string) ([]string, error) {
	f, err := d.follow(service)
	if err != nil {
		return nil, err
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

func (d *discovery) follow(service string) (*followed, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	if f, ok := d.services[service]; ok {
		return f, nil
	}
	in, err := d.newInstancer(service)
	if err != nil {
		return nil, fmt.Errorf("redispubsub: discovery of %s: %w", service, err)
	}
	f := &followed{instancer: in, events: make(chan sd.Event, 1), ready: make(chan struct{}), stop: make(chan struct{})}
	d.services[service] = f
	d.wg.Add(1)
	go f.run(&d.wg)
	in.Register(f.events)
	return f, nil
}

func (f *followed) run(wg *sync.WaitGroup) {
	defer wg.Done()
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
			return
		}
	}
}

// close stops following: every Instancer is deregistered and stopped, and its goroutine has returned.
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
		f.instancer.Deregister(f.events)
		close(f.stop)
		f.instancer.Stop()
	}
	d.wg.Wait()
}
