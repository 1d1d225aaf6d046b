package redispubsub

import (
	"context"
	"fmt"
	"sync"

	"github.com/go-kit/kit/sd"
)

// ListerFunc adapts a function to InstanceLister.
type ListerFunc func(ctx context.Context, service string) ([]string, error)

// Instances calls f.
func (f ListerFunc) Instances(ctx context.Context, service string) ([]string, error) {
	return f(ctx, service)
}

// InstancerLister is an InstanceLister that follows one go-kit Instancer per service, created on
// first use, so that sending to a service address reads the live set from memory, never from
// Redis. The Instancers must yield instance IDs:
//
//	lister := redispubsub.NewInstancerLister(func(service string) (sd.Instancer, error) {
//		return sdredis.NewInstancer(client, service, logger, sdredis.InstancerInstanceID())
//	})
//	defer lister.Close()
//	conn, err := redispubsub.NewConn(client, "orders", id, redispubsub.ConnInstanceLister(lister))
type InstancerLister struct {
	newInstancer func(service string) (sd.Instancer, error)

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

// NewInstancerLister returns a lister that makes Instancers with newInstancer; Close stops them.
func NewInstancerLister(newInstancer func(service string) (sd.Instancer, error)) *InstancerLister {
	return &InstancerLister{newInstancer: newInstancer, services: map[string]*followed{}}
}

// Instances returns the live instance IDs of service, waiting (within ctx) for its first lookup.
func (l *InstancerLister) Instances(ctx context.Context, service string) ([]string, error) {
	f, err := l.follow(service)
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

func (l *InstancerLister) follow(service string) (*followed, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	if f, ok := l.services[service]; ok {
		return f, nil
	}
	in, err := l.newInstancer(service)
	if err != nil {
		return nil, fmt.Errorf("redispubsub: instancer for %s: %w", service, err)
	}
	f := &followed{instancer: in, events: make(chan sd.Event, 1), ready: make(chan struct{}), stop: make(chan struct{})}
	l.services[service] = f
	l.wg.Add(1)
	go f.run(&l.wg)
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

// Close stops following: every Instancer it made is deregistered and stopped.
func (l *InstancerLister) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	services := l.services
	l.mu.Unlock()
	for _, f := range services {
		f.instancer.Deregister(f.events)
		close(f.stop)
		f.instancer.Stop()
	}
	l.wg.Wait()
}
