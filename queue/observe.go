package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/metrics"
)

// MaxObserved bounds the queues one Observe call reads: each costs a round trip.
const MaxObserved = 256

// Observe reads the named queues' Stats (one round trip each) into the client's metrics:
// metrics.Queue.Depth per list and OldestAge of the received and in-progress lists. Call it before
// each scrape or on a ticker of your own; the queues are the application's list, so nothing read
// from Redis adds a series. A queue whose read fails keeps its gauges; the errors are joined.
func (i *Inspector) Observe(ctx context.Context, services ...string) error {
	if len(services) > MaxObserved {
		return configError("Observe: %d queues, at most %d", len(services), MaxObserved)
	}
	var errs error
	for _, service := range services {
		name, err := keyspace.ValidateService(service)
		if err != nil {
			errs = errors.Join(errs, fmt.Errorf("queue: %w", err))
			continue
		}
		s, err := i.Stats(ctx, name)
		if err != nil {
			errs = errors.Join(errs, fmt.Errorf("queue %s: %w", name, err))
			continue
		}
		depth := []int64{s.Received, s.InProgress, s.Incomplete, s.Delayed}
		for n, list := range metrics.QueueLists {
			i.metrics.Depth.With("queue", name, "list", list).Set(float64(depth[n]))
		}
		i.metrics.OldestAge.With("queue", name, "list", "received").Set(s.OldestReceived.Seconds())
		i.metrics.OldestAge.With("queue", name, "list", "in_progress").Set(s.OldestInProgress.Seconds())
	}
	return errs
}
