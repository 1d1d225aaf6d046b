package queue

import (
	"context"
	"time"
)

// A wait is a place where the pool waits for time to pass. Outside tests each is a real ticker or
// timer; a test can take waits over (hand), so that it says when their time has passed instead of
// sleeping, and learns when a loop's pass is over instead of guessing.
type wait uint8

const (
	waitRecover   wait = iota // the recoverer's ticker
	waitHeartbeat             // the heartbeat's ticker
	waitSchedule              // the scheduler's pause between passes
	waitShutdown              // Close: running handlers' time to finish
	waitGiveUp                // Close: cancelled handlers' time to return
	waitSettle                // Close: the settler's time to reach Redis
	numWaits
)

// hand is a test's hold on some of the pool's waits; nil outside tests. A wait with a tick channel
// ends when the test sends on it. A loop whose wait is held says on ready that it is about to wait:
// its previous pass is over.
type hand struct {
	tick  [numWaits]chan time.Time
	ready [numWaits]chan struct{}
}

// handed returns the test's tick channel for w, or nil when w runs on real time.
func (c *Consumer) handed(w wait) chan time.Time {
	if c.hand == nil {
		return nil
	}
	return c.hand.tick[w]
}

// ticker returns the channel of a ticker every d for w, and its stop function.
func (c *Consumer) ticker(w wait, d time.Duration) (<-chan time.Time, func()) {
	if ch := c.handed(w); ch != nil {
		return ch, func() {}
	}
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// timer returns the channel of a timer firing once after d for w, and its stop function.
func (c *Consumer) timer(w wait, d time.Duration) (<-chan time.Time, func()) {
	if ch := c.handed(w); ch != nil {
		return ch, func() {}
	}
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// waiting tells a test holding w that the loop is about to wait again.
func (c *Consumer) waiting(ctx context.Context, w wait) {
	if c.hand == nil || c.hand.ready[w] == nil {
		return
	}
	select {
	case c.hand.ready[w] <- struct{}{}:
	case <-ctx.Done():
	}
}

// pause waits for d at w, or until ctx ends.
func (c *Consumer) pause(ctx context.Context, w wait, d time.Duration) {
	c.waiting(ctx, w)
	t, stop := c.timer(w, d)
	defer stop()
	select {
	case <-ctx.Done():
	case <-t:
	}
}

// within reports whether done is closed within d, timed at w.
func (c *Consumer) within(w wait, done <-chan struct{}, d time.Duration) bool {
	t, stop := c.timer(w, d)
	defer stop()
	select {
	case <-done:
		return true
	case <-t:
		return false
	}
}
