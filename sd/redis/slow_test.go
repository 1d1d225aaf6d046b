package redis

import (
	"testing"

	"github.com/go-kit/kit/sd"

	"github.com/hydrakit/hydrakit/internal/redistest"
)

// go-kit lets a subscriber be slow. One that never reads its channel must not hold up another
// Instancer sharing its watch: that one still sees every change.
func TestSlowSubscriberHoldsUpNoOtherInstancer(t *testing.T) {
	_, c := redistest.Mini(t)
	client := redistest.Fleet(t, c)
	slow, err := NewInstancer(client, "svc", nil)
	if err != nil {
		t.Fatal(err)
	}
	stuck := make(chan sd.Event, 1)
	slow.Register(stuck) // takes the first state; never read again
	other, err := NewInstancer(client, "svc", nil)
	if err != nil {
		t.Fatal(err)
	}
	if slow.w != other.w {
		t.Fatal("the two Instancers do not share a watch")
	}
	ch := watchEvents(t, other)
	t.Cleanup(func() { // runs first
		go func() { // reads at last, so that a cache that waits for it lets go
			for range stuck {
			}
		}()
		slow.Deregister(stuck)
		slow.Stop()
		close(stuck)
	})
	waitInstances(t, ch)
	a := register(t, client, Service{Name: "svc", ID: "a", IP: "10.0.0.1", Port: 1})
	waitInstances(t, ch, "10.0.0.1:1")
	register(t, client, Service{Name: "svc", ID: "b", IP: "10.0.0.2", Port: 2})
	waitInstances(t, ch, "10.0.0.1:1", "10.0.0.2:2")
	a.Deregister()
	waitInstances(t, ch, "10.0.0.2:2")
}
