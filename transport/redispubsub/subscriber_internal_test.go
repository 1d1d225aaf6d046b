package redispubsub

import (
	"context"
	"testing"
	"time"
)

func TestSharedDeadline(t *testing.T) {
	s, err := NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse)
	if err != nil {
		t.Fatal(err)
	}
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	const tmo = 5 * time.Second
	before := time.Now()
	d1 := s.sharedDeadline(base, tmo)
	d2 := s.sharedDeadline(base, tmo)
	deadline, ok := d1.ctx.Deadline()
	if !ok {
		t.Fatal("no deadline")
	}
	// Rounded down to the slot: never later than asked, at most one slot earlier.
	if latest := time.Now().Add(tmo); deadline.After(latest) {
		t.Errorf("deadline %v is after %v", deadline, latest)
	}
	if earliest := before.Add(tmo - deadlineSlot); deadline.Before(earliest) {
		t.Errorf("deadline %v is before %v", deadline, earliest)
	}
	if d1 != d2 {
		// Two calls can straddle a slot boundary; then a third must share the second's.
		d3 := s.sharedDeadline(base, tmo)
		if d3 != d2 {
			t.Error("messages of one deadline slot do not share a context")
		}
		d3.release()
	}
	d1.release()
	d2.release()
	if d2.ctx.Err() != nil {
		t.Error("the latest shared context ended while it may still be shared")
	}

	// A newer slot retires the old context: it ends once its last message is done, not at its
	// deadline (a tmo of hours must not keep contexts and timers alive).
	old := s.sharedDeadline(base, tmo)
	newer := s.sharedDeadline(base, tmo+time.Second)
	if old.ctx.Err() != nil {
		t.Error("a context still in use ended")
	}
	old.release()
	if old.ctx.Err() == nil {
		t.Error("a retired context outlives its last message")
	}
	newer.release()
	cancel()
	if newer.ctx.Err() == nil {
		t.Error("the shared context outlives its base")
	}
}
