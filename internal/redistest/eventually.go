package redistest

import (
	"testing"
	"time"
)

// Patience is how long Poll waits: what a saturated machine needs. It only turns a hang into a
// failure and never decides a test's outcome.
const Patience = 30 * time.Second

// Poll checks cond on a 5 ms ticker and reports whether it held within Patience. It is for state
// that announces itself nowhere (a key in Redis, a list's length, a registry's view, a process's
// exit); anything that sends an event is waited on by its channel instead.
func Poll(cond func() bool) bool {
	if cond() {
		return true
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(Patience)
	defer deadline.Stop()
	for {
		select {
		case <-tick.C:
			if cond() {
				return true
			}
		case <-deadline.C:
			return false
		}
	}
}

// Eventually is Poll, failing t when cond never held.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !Poll(cond) {
		t.Fatalf("gave up after %v waiting for %s", Patience, what)
	}
}
