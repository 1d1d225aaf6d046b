package redis

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"
	"go.uber.org/goleak"

	"github.com/hydrakit/hydrakit"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild() // the re-executed test binary of TestSIGKILLRemovedWithinTTL
		return
	}
	goleak.VerifyTestMain(m)
}

// register starts a Registrar for the test and deregisters it when the test ends.
func register(t *testing.T, c *hydrakit.Client, svc Service, options ...RegistrarOption) *Registrar {
	t.Helper()
	r, err := NewRegistrar(c, svc, log.NewNopLogger(), options...)
	if err != nil {
		t.Fatal(err)
	}
	r.Register()
	t.Cleanup(r.Deregister)
	return r
}

// watchEvents registers a channel with in and stops in when the test ends.
func watchEvents(t *testing.T, in *Instancer) chan sd.Event {
	t.Helper()
	ch := make(chan sd.Event, 64)
	in.Register(ch)
	t.Cleanup(func() { in.Deregister(ch); in.Stop() })
	return ch
}

// waitInstances waits for an event whose instances are want, returning how long it took.
func waitInstances(t *testing.T, ch chan sd.Event, timeout time.Duration, want ...string) time.Duration {
	t.Helper()
	slices.Sort(want)
	start := time.Now()
	deadline := time.After(timeout)
	var last sd.Event
	for {
		select {
		case ev := <-ch:
			last = ev
			if ev.Err == nil && slices.Equal(want, ev.Instances) && (len(want) > 0 || ev.Instances != nil) {
				return time.Since(start)
			}
		case <-deadline:
			t.Fatalf("no event with instances %v in %v; last %+v", want, timeout, last)
		}
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
