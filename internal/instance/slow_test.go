package instance

import (
	"slices"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
)

// failAfter is the longest a test waits for something that must happen: a bound on failure, never a
// timing claim.
const failAfter = 5 * time.Second

func event(instances ...string) sd.Event { return sd.Event{Instances: instances} }

// update runs Update in its own goroutine and fails the test if it does not return: an Update must
// never wait for a subscriber.
func update(t *testing.T, c *Cache, ev sd.Event) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); c.Update(ev) }()
	select {
	case <-done:
	case <-time.After(failAfter):
		t.Fatalf("Update(%v) blocked on a subscriber that does not read", ev.Instances)
	}
}

func receive(t *testing.T, ch <-chan sd.Event) sd.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(failAfter):
		t.Fatal("no event")
		return sd.Event{}
	}
}

// A subscriber that never reads holds up nobody: the others get every change, and the slow one gets
// the newest state once it reads, not a backlog of the changes it missed.
func TestSlowSubscriberHoldsUpNobody(t *testing.T) {
	c := NewCache()
	defer c.Close()
	slow := make(chan sd.Event, 1)
	c.Register(slow) // the zero state fills its buffer; nobody reads it for now
	fast := make(chan sd.Event)
	go func() { <-fast }()
	c.Register(fast)

	for _, ev := range []sd.Event{event("a:1"), event("a:1", "b:2"), event("b:2"), event("b:2", "c:3")} {
		update(t, c, ev)
		if want, have := ev.Instances, receive(t, fast).Instances; !slices.Equal(want, have) {
			t.Fatalf("fast subscriber: want %v, have %v", want, have)
		}
	}

	if have := receive(t, slow); have.Instances != nil {
		t.Fatalf("slow subscriber: want the zero state first, have %v", have.Instances)
	}
	// At most one stale state may already have been on its way; the newest always comes last.
	want := []string{"b:2", "c:3"}
	for got := 0; ; got++ {
		have := receive(t, slow).Instances
		if slices.Equal(want, have) {
			break
		}
		if got > 0 {
			t.Fatalf("slow subscriber got a backlog: %v after a stale state", have)
		}
	}
	c.Deregister(slow)
	close(slow) // what go-kit's Endpointer does after Deregister: nothing may be sent any more
	update(t, c, event("d:4"))
}

// Deregister ends a delivery that is waiting for its subscriber, and nothing reaches the channel
// afterwards.
func TestDeregisterEndsWaitingDelivery(t *testing.T) {
	c := NewCache()
	defer c.Close()
	ch := make(chan sd.Event, 1)
	c.Register(ch)
	update(t, c, event("a:1")) // ch is full: a delivery now waits for it
	update(t, c, event("b:2"))
	c.Deregister(ch)
	close(ch) // would panic in a delivery still running
	for range ch {
	}
}

// Close ends every delivery still waiting for a subscriber that never reads (goleak checks that
// nothing is left running) and the cache then only keeps its state.
func TestCloseEndsWaitingDeliveries(t *testing.T) {
	c := NewCache()
	ch := make(chan sd.Event, 1)
	c.Register(ch)
	update(t, c, event("a:1"))
	c.Close()
	update(t, c, event("b:2"))
	if want, have := []string{"b:2"}, c.State().Instances; !slices.Equal(want, have) {
		t.Fatalf("want %v, have %v", want, have)
	}
}
