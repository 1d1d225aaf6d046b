package redis

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild() // the re-executed test binary of TestSIGKILLRemoved
		return
	}
	redistest.VerifyNoLeaks(m)
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

// failAfter is the longest a test waits for something that must happen: a bound on failure, never a
// timing claim (those are benchmarks: bench/sd).
const failAfter = 30 * time.Second

// waitInstances waits for an event whose instances are want.
func waitInstances(t *testing.T, ch chan sd.Event, want ...string) {
	t.Helper()
	slices.Sort(want)
	deadline := time.After(failAfter)
	var last sd.Event
	for {
		select {
		case ev := <-ch:
			last = ev
			if ev.Err == nil && slices.Equal(want, ev.Instances) && (len(want) > 0 || ev.Instances != nil) {
				return
			}
		case <-deadline:
			t.Fatalf("no event with instances %v; last %+v", want, last)
		}
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
