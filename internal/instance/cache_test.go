package instance

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
)

func TestRegisterGetsStateSynchronously(t *testing.T) {
	c := NewCache()
	c.Update(sd.Event{Instances: []string{"b:2", "a:1"}})
	ch := make(chan sd.Event, 1)
	c.Register(ch)
	select {
	case ev := <-ch:
		if want, have := []string{"a:1", "b:2"}, ev.Instances; !slices.Equal(want, have) {
			t.Fatalf("want %v, have %v", want, have)
		}
	default:
		t.Fatal("Register returned before sending the state")
	}
}

func TestIdenticalEventsSuppressed(t *testing.T) {
	c := NewCache()
	ch := make(chan sd.Event, 10)
	c.Register(ch)
	<-ch // zero state
	c.Update(sd.Event{Instances: []string{"a:1", "b:2"}})
	c.Update(sd.Event{Instances: []string{"b:2", "a:1"}}) // same set, other order
	c.Update(sd.Event{Err: errors.New("boom")})
	c.Update(sd.Event{Err: errors.New("boom")}) // same failure again
	c.Update(sd.Event{Instances: []string{}})
	if want, have := 3, len(ch); want != have {
		t.Fatalf("want %d events, have %d", want, have)
	}
}

func TestEverySubscriberGetsItsOwnCopy(t *testing.T) {
	c := NewCache()
	a, b := make(chan sd.Event, 2), make(chan sd.Event, 2)
	c.Register(a)
	c.Register(b)
	<-a
	<-b
	in := []string{"x:1", "y:2"}
	c.Update(sd.Event{Instances: in})
	in[0] = "mutated by caller"
	evA, evB := <-a, <-b
	evA.Instances[1] = "mutated by a"
	if want, have := "x:1", evB.Instances[0]; want != have {
		t.Errorf("want %q, have %q", want, have)
	}
	if want, have := "y:2", evB.Instances[1]; want != have {
		t.Errorf("want %q, have %q", want, have)
	}
	if want, have := "y:2", c.State().Instances[1]; want != have {
		t.Errorf("state: want %q, have %q", want, have)
	}
}

func TestDeregisterStopsDelivery(t *testing.T) {
	c := NewCache()
	ch := make(chan sd.Event) // unbuffered: a send after Deregister would block forever
	done := make(chan struct{})
	go func() { defer close(done); <-ch }()
	c.Register(ch)
	<-done
	c.Deregister(ch)
	finished := make(chan struct{})
	go func() { c.Update(sd.Event{Instances: []string{"a:1"}}); close(finished) }()
	select {
	case <-finished:
	case <-time.After(failAfter):
		t.Fatal("Update blocked on a deregistered channel")
	}
}
