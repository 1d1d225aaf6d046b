package redispubsub

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Reconnecting: the first attempt after a loss is immediate, later ones wait a jittered backoff that
// doubles from minBackoff up to maxBackoff, so that a Conn is back within maxBackoff of Redis
// answering again, while a Redis that is down sees at most a few dials a second per Conn.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 250 * time.Millisecond
)

// subscribe returns a new subscription to the Conn's channels: sharded (SSUBSCRIBE) on a cluster,
// where both channels carry the service's hash tag, so that go-redis opens it on the master serving
// their slot; plain SUBSCRIBE elsewhere. On a Sentinel-managed Redis, go-redis's failover client asks
// the sentinel for the primary every time it dials, so a new subscription goes to the primary of the
// moment.
func (c *Conn) subscribe(ctx context.Context) *goredis.PubSub {
	if c.sharded {
		return c.client.SSubscribe(ctx, c.channels[:]...)
	}
	return c.client.Subscribe(ctx, c.channels[:]...)
}

// confirmed reports whether m is Redis's confirmation that the subscription holds every channel.
func (c *Conn) confirmed(m *goredis.Subscription) bool {
	return (m.Kind == "subscribe" || m.Kind == "ssubscribe") && m.Count == len(c.channels)
}

// open subscribes and reads until Redis has confirmed every channel (Redis confirms the channels of
// one command before it delivers any message on them, so nothing is skipped here).
func (c *Conn) open(ctx context.Context) (*goredis.PubSub, error) {
	ps := c.subscribe(ctx)
	for {
		m, err := ps.Receive(ctx)
		if err != nil {
			_ = ps.Close()
			return nil, err
		}
		if s, ok := m.(*goredis.Subscription); ok && c.confirmed(s) {
			return ps, nil
		}
	}
}

// current returns the subscription the reader reads, nil when the Conn is closed or the subscription
// was dropped (kick).
func (c *Conn) current() *goredis.PubSub {
	c.psMu.Lock()
	defer c.psMu.Unlock()
	return c.ps
}

// kick drops the subscription of generation gen, if it is still the current one: the reader's receive
// fails, and it subscribes anew, which dials again and so reaches the node that serves the channels
// now (the new primary, the slot's new master).
func (c *Conn) kick(gen uint64, why string) {
	c.psMu.Lock()
	ps := c.ps
	if ps == nil || c.gen != gen {
		c.psMu.Unlock()
		return
	}
	c.ps = nil
	c.psMu.Unlock()
	c.logger.Log("msg", "resubscribing", "reason", why)
	_ = ps.Close()
}

// reconnect replaces a lost subscription with a new one, retrying with backoff, and reports false
// when the Conn was closed meanwhile. The reader calls it; nothing is read while it runs.
func (c *Conn) reconnect() bool {
	backoff := minBackoff
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			select {
			case <-c.done:
				return false
			case <-time.After(backoff/2 + rand.N(backoff/2+1)):
			}
			backoff = min(2*backoff, maxBackoff)
		}
		ctx, cancel := context.WithTimeout(c.ctx, subscribeTimeout)
		ps, err := c.open(ctx)
		cancel()
		if err != nil {
			if c.isClosed() {
				return false
			}
			c.refreshTopology()
			continue
		}
		c.psMu.Lock()
		if c.isClosed() {
			c.psMu.Unlock()
			_ = ps.Close()
			return false
		}
		c.ps = ps
		c.gen++
		c.psMu.Unlock()
		c.resubscribed()
		return true
	}
}

// refreshTopology asks a cluster client to reload its slot map (in the background, at most every
// 200 ms) after the subscription was lost or could not be made: the slot may have moved (MOVED, a
// failover after its master died), and go-redis would otherwise dial the old master again.
func (c *Conn) refreshTopology() {
	if cc, ok := c.client.(*goredis.ClusterClient); ok {
		cc.ReloadState(c.ctx)
	}
}

// lost marks the Conn down and fails the requests in flight: their replies could arrive only on the
// subscription that is gone.
func (c *Conn) lost(err error) {
	c.pmu.Lock()
	wasUp := c.up
	c.up = false
	c.failPendingLocked(ErrConnectionLost)
	c.pmu.Unlock()
	if wasUp {
		c.logger.Log("msg", "subscription lost", "err", err)
	}
}

// resubscribed marks the Conn up again, tells the listeners (a balancer resets its breakers: what
// failed while this Conn was down was not the instances' fault) and has the monitor check at once
// that the new subscription sits where the client publishes.
func (c *Conn) resubscribed() {
	c.pmu.Lock()
	c.up = true
	c.pmu.Unlock()
	c.stats.reconnects.Add(1)
	c.logger.Log("msg", "resubscribed")
	c.lmu.Lock()
	listeners := make([]func(), len(c.listeners))
	for i, l := range c.listeners {
		listeners[i] = l.f
	}
	c.lmu.Unlock()
	for _, f := range listeners {
		f()
	}
	c.poke()
}

// listener is a func run after every resubscription, in the order of registration.
type listener struct {
	key *int
	f   func()
}

// onResubscribe registers f to run (on the reading goroutine, so briefly) every time the Conn has
// resubscribed after a loss; the returned func removes it.
func (c *Conn) onResubscribe(f func()) (remove func()) {
	key := new(int)
	c.lmu.Lock()
	c.listeners = append(c.listeners, listener{key, f})
	c.lmu.Unlock()
	return func() {
		c.lmu.Lock()
		c.listeners = slices.DeleteFunc(c.listeners, func(l listener) bool { return l.key == key })
		c.lmu.Unlock()
	}
}

// isUp reports whether the Conn is subscribed.
func (c *Conn) isUp() bool { return c.ready() == nil }

// ready returns the error a request would fail with now for want of a subscription, or nil.
func (c *Conn) ready() error {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	switch {
	case c.closed:
		return ErrClosed
	case !c.up:
		return ErrConnectionLost
	}
	return nil
}
