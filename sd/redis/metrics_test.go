package redis

import (
	"testing"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/internal/metricstest"
	"github.com/hydrakit/hydrakit/internal/redistest"
)

// The watch reports the live instances of the service it follows and counts every state it pushes.
func TestDiscoveryMetrics(t *testing.T) {
	reg, option := metricstest.New(t)
	_, rdb := redistest.Mini(t)
	c := redistest.Fleet(t, rdb, option)
	register(t, c, Service{Name: "metered", IP: "10.0.0.1", Port: 80})
	in, err := NewInstancer(c, "metered", log.NewNopLogger())
	check(t, err)
	ch := watchEvents(t, in)
	waitInstances(t, ch, "10.0.0.1:80")
	if want, have := 1.0, reg.Value("hydrakit_discovery_instances", "service", "metered"); want != have {
		t.Errorf("instances: want %v, have %v", want, have)
	}
	if have := reg.Value("hydrakit_discovery_events_total", "service", "metered"); have < 1 {
		t.Errorf("events: want at least 1, have %v", have)
	}
	if want, have := 0.0, reg.Value("hydrakit_discovery_lookup_errors_total", "service", "metered"); want != have {
		t.Errorf("lookup errors: want %v, have %v", want, have)
	}
}
