package balancer

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { verifyNoLeaks(m) }

// verifyNoLeaks runs the tests, then fails the run if a goroutine is left behind. go-redis probes a
// server it could not dial once a second (pool.tryDial) until one dial works or its client is closed,
// so after a test that stopped a Redis one may still sleep for up to a second: look again for a few
// seconds before calling it a leak.
func verifyNoLeaks(m *testing.M) {
	code := m.Run()
	if code == 0 {
		var err error
		for deadline := time.Now().Add(5 * time.Second); ; {
			if err = goleak.Find(); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on a successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
