package instance

import (
	"slices"
	"sync"

	"github.com/go-kit/kit/sd"
)

// Cache keeps the current state of an Instancer and fans it out to subscribers. Sends happen under
// the lock, as in go-kit: a subscriber must keep draining its channel until it deregisters.
type Cache struct {
	mu    sync.Mutex
	state sd.Event
	subs  map[chan<- sd.Event]struct{}
}

// NewCache returns an empty cache; its state is the zero sd.Event until the first Update.
func NewCache() *Cache {
	return &Cache{subs: map[chan<- sd.Event]struct{}{}}
}

// Update sorts the event's instances and, unless it equals the current state, stores it and sends a
// copy to every subscriber.
func (c *Cache) Update(event sd.Event) {
	event.Instances = slices.Clone(event.Instances)
	slices.Sort(event.Instances)
	c.mu.Lock()
	defer c.mu.Unlock()
	if equal(c.state, event) {
		return
	}
	c.state = event
	for ch := range c.subs {
		ch <- copyEvent(event)
	}
}

// State returns a copy of the current state.
func (c *Cache) State() sd.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return copyEvent(c.state)
}

// Register adds a subscriber and sends it the current state before returning.
func (c *Cache) Register(ch chan<- sd.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs[ch] = struct{}{}
	ch <- copyEvent(c.state)
}

// Deregister removes a subscriber; it receives nothing more.
func (c *Cache) Deregister(ch chan<- sd.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.subs, ch)
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
