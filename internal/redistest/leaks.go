package redistest

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// VerifyNoLeaks runs the tests of m, then fails the run if a goroutine is left behind: call it from
// TestMain. go-redis probes a server it could not dial once a second (pool.tryDial) until one dial
// works or its client is closed, so after a test that stopped a Redis one may still sleep for up to a
// second: it looks again for a few seconds before calling it a leak, and ignores nothing.
func VerifyNoLeaks(m *testing.M) {
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
