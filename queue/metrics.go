package queue

import (
	kitmetrics "github.com/go-kit/kit/metrics"

	"github.com/hydrakit/hydrakit/metrics"
)

// consumerMetrics are a Consumer's metrics, labelled with its queue once.
type consumerMetrics struct {
	fetched, completed, retried, dead, recovered, extended kitmetrics.Counter
}

func newConsumerMetrics(set *metrics.Queue, queue string) consumerMetrics {
	l := []string{"queue", queue}
	return consumerMetrics{
		fetched: set.Fetched.With(l...), completed: set.Completed.With(l...), retried: set.Retried.With(l...),
		dead: set.DeadLettered.With(l...), recovered: set.Recovered.With(l...), extended: set.LeaseExtensions.With(l...),
	}
}

// settled counts the outcomes Redis applied; applied[i] is 1 for batch[i] when it did.
func (m *consumerMetrics) settled(batch []outcome, applied []int64) {
	for i, ok := range applied {
		if ok == 0 || i >= len(batch) {
			continue
		}
		switch batch[i].op {
		case opComplete:
			m.completed.Add(1)
		case opRetry:
			m.retried.Add(1)
		case opDead:
			m.dead.Add(1)
		}
	}
}
