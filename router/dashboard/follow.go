package dashboard

import (
	"github.com/go-kit/kit/sd"

	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// follower keeps one service's live instance IDs: an sd/redis Instancer pushes every change of its
// live set, within the resync interval of a presence key expiring, and the follower's goroutine hands
// it to the dashboard and wakes the snapshot loop.
type follower struct {
	service string
	in      *sdredis.Instancer
	events  chan sd.Event
	stop    chan struct{}
	done    chan struct{}
}

func (d *Dashboard) follow(service string) (*follower, error) {
	in, err := sdredis.NewInstancer(d.client, service, d.logger,
		sdredis.InstancerInstanceID(), sdredis.InstancerResync(d.cfg.resync))
	if err != nil {
		return nil, err
	}
	f := &follower{
		service: service, in: in,
		events: make(chan sd.Event, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	in.Register(f.events) // the current state is in f.events when Register returns
	go f.run(d)
	return f, nil
}

func (f *follower) run(d *Dashboard) {
	defer close(f.done)
	for {
		select {
		case <-f.stop:
			return
		case ev := <-f.events:
			d.setLive(f.service, ev)
		}
	}
}

// close stops the Instancer's deliveries first, so that none waits on the goroutine it then ends.
func (f *follower) close() {
	f.in.Deregister(f.events)
	close(f.stop)
	<-f.done
	f.in.Stop()
}

// liveSet is a followed service's last known live instances; err is set while its lookups fail (the
// IDs are then the last good ones).
type liveSet struct {
	ids map[string]bool
	err error
}

// setLive records a new live set and wakes the snapshot loop, which pushes it at once.
func (d *Dashboard) setLive(service string, ev sd.Event) {
	d.mu.Lock()
	old := d.live[service]
	if ev.Err != nil {
		d.live[service] = liveSet{ids: old.ids, err: ev.Err}
	} else {
		ids := make(map[string]bool, len(ev.Instances))
		for _, id := range ev.Instances {
			ids[id] = true
		}
		d.live[service] = liveSet{ids: ids}
	}
	d.mu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default: // a wake-up is pending already; it will read this state
	}
}
