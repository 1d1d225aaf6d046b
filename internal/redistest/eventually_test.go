package redistest

import "testing"

func TestPoll(t *testing.T) {
	n := 0
	if !Poll(func() bool { n++; return n == 3 }) {
		t.Fatal("Poll gave up on a condition that came to hold")
	}
	if n != 3 {
		t.Errorf("cond checked %d times, want 3: once at once, then once a tick until it held", n)
	}
}
