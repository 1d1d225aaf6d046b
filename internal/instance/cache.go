package instance

import (
	"slices"
	"sync"

	"github.com/go-kit/kit/sd"
)

// Cache keeps the current state of an Instancer and fans it out to subscribers. Unlike go-kit's, it
// never waits for one subscriber while holding the others up: a send that would block is handed to a
// goroutine of that subscriber's own, which delivers the newest state when the channel has room
// (states it could not deliver in time are replaced, never queued). So each subscriber costs at most
// one goroutine, only while it is behind, and one pending state.
type Cache struct {
	mu     sync.Mutex
	state  sd.Event
	subs   map[chan<- sd.Event]*subscriber
	closed bool
	wg     sync.WaitGroup // delivery goroutines
}

// subscriber is one registered channel. Its fields are guarded by the cache's lock.
type subscriber struct {
	ch       chan<- sd.Event
	latest   sd.Event      // the newest state not yet delivered, when pending
	pending  bool          // latest is waiting for delivery
	sending  bool          // a delivery (a goroutine, or Register) owns the channel
	wake     chan struct{} // tells a waiting delivery that latest changed; capacity 1
	quit     chan struct{} // closed by Deregister and Close
	finished chan struct{} // closed when the current delivery has ended
}

// NewCache returns an empty cache; its state is the zero sd.Event until the first Update.
func NewCache() *Cache {
	return &Cache{subs: map[chan<- sd.Event]*subscriber{}}
}

// Update sorts the event's instances and, unless it equals the current state, stores it and sends a
// copy to every subscriber. It never blocks on a subscriber.
func (c *Cache) Update(event sd.Event) {
	event.Instances = slices.Clone(event.Instances)
	slices.Sort(event.Instances)
	c.mu.Lock()
	defer c.mu.Unlock()
	if equal(c.state, event) {
		return
	}
	c.state = event
	if c.closed {
		return
	}
	for _, s := range c.subs {
		if s.sending {
			s.latest, s.pending = copyEvent(event), true
			select {
			case s.wake <- struct{}{}:
			default:
			}
			continue
		}
		select {
		case s.ch <- copyEvent(event):
		default:
			s.latest, s.pending, s.sending = copyEvent(event), true, true
			s.finished = make(chan struct{})
			c.wg.Add(1)
			go func() { defer c.wg.Done(); c.deliver(s) }()
		}
	}
}

// deliver sends s's pending states until none is left, switching to a newer state whenever one
// arrives while it waits. It ends at once when s is deregistered or the cache closed.
func (c *Cache) deliver(s *subscriber) {
	defer close(s.finished)
	c.mu.Lock()
	ev, pending := s.latest, s.pending
	s.pending = false
	c.mu.Unlock()
	for pending {
		select {
		case s.ch <- ev:
			c.mu.Lock()
			ev, pending = s.latest, s.pending
			s.pending = false
			if !pending {
				s.sending = false
			}
			c.mu.Unlock()
		case <-s.wake:
			c.mu.Lock()
			if s.pending {
				ev, s.pending = s.latest, false
			}
			c.mu.Unlock()
		case <-s.quit:
			return
		}
	}
}

// State returns a copy of the current state.
func (c *Cache) State() sd.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return copyEvent(c.state)
}

// Register adds a subscriber and sends it the current state before returning (and any newer state
// that arrives meanwhile), as go-kit's cache does: Register waits for ch, nothing else does.
func (c *Cache) Register(ch chan<- sd.Event) {
	c.mu.Lock()
	if old := c.subs[ch]; old != nil {
		c.mu.Unlock()
		c.Deregister(ch)
		c.mu.Lock()
	}
	s := &subscriber{
		ch: ch, latest: copyEvent(c.state), pending: true, sending: true,
		wake: make(chan struct{}, 1), quit: make(chan struct{}), finished: make(chan struct{}),
	}
	c.subs[ch] = s
	c.mu.Unlock()
	c.deliver(s)
}

// Deregister removes a subscriber. When it returns, nothing more is sent to ch, so the caller may
// close it.
func (c *Cache) Deregister(ch chan<- sd.Event) {
	c.mu.Lock()
	s := c.subs[ch]
	delete(c.subs, ch)
	c.mu.Unlock()
	if s == nil {
		return
	}
	close(s.quit)
	c.mu.Lock()
	finished := s.finished
	sending := s.sending
	c.mu.Unlock()
	if sending {
		<-finished
	}
}

// Close ends every delivery still waiting for a subscriber and waits for them; later Updates only
// keep the state. Register still sends the current state. Close may be called more than once.
func (c *Cache) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		for _, s := range c.subs {
			close(s.quit)
		}
		c.subs = map[chan<- sd.Event]*subscriber{}
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// equal compares events by their sorted instances and their error text: two failures with the same
// message are the same state, so a retrying loop does not flood subscribers.
func equal(a, b sd.Event) bool {
	if (a.Err == nil) != (b.Err == nil) {
		return false
	}
	if a.Err != nil && a.Err.Error() != b.Err.Error() {
		return false
	}
	if (a.Instances == nil) != (b.Instances == nil) {
		return false
	}
	return slices.Equal(a.Instances, b.Instances)
}

func copyEvent(e sd.Event) sd.Event {
	e.Instances = slices.Clone(e.Instances)
	return e
}
