package queue

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/hydrakit/hydrakit/internal/metricstest"
	"github.com/hydrakit/hydrakit/internal/redistest"
)

// Every queue counter moves on its event, and Observe reads the lists into the gauges.
func TestQueueMetrics(t *testing.T) {
	reg, option := metricstest.New(t)
	_, rdb := redistest.Mini(t)
	c := redistest.Fleet(t, rdb, option)
	svc := service()
	enqueueN(t, c, svc, 3)
	var failed atomic.Bool
	done := make(chan struct{}, 4)
	startConsumer(t, c, svc, HandlerFunc(func(context.Context, *Delivery) error {
		if failed.CompareAndSwap(false, true) {
			return errors.New("once")
		}
		done <- struct{}{}
		return nil
	}), fast()...)
	for range 3 {
		receive(t, done, "a completion")
	}
	eventually(t, "three completions counted", func() bool { return reg.Value("hydrakit_queue_completed_total", "queue", svc) == 3 })
	for name, want := range map[string]float64{
		"hydrakit_queue_enqueued_total": 3, "hydrakit_queue_fetched_total": 4, "hydrakit_queue_retried_total": 1,
		"hydrakit_queue_dead_lettered_total": 0,
	} {
		if have := reg.Value(name, "queue", svc); want != have {
			t.Errorf("%s: want %v, have %v", name, want, have)
		}
	}
	enqueueN(t, c, "other-"+svc, 2)
	must(t, inspector(t, c).Observe(context.Background(), svc, "other-"+svc))
	if want, have := 2.0, reg.Value("hydrakit_queue_depth", "queue", "other-"+svc, "list", "received"); want != have {
		t.Errorf("depth: want %v, have %v", want, have)
	}
	if want, have := 0.0, reg.Value("hydrakit_queue_depth", "queue", svc, "list", "received"); want != have {
		t.Errorf("depth: want %v, have %v", want, have)
	}
	isErr(t, inspector(t, c).Observe(context.Background(), make([]string, MaxObserved+1)...), ErrConfig)
}
