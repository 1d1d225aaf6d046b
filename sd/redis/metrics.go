package redis

import (
	kitmetrics "github.com/go-kit/kit/metrics"

	"github.com/hydrakit/hydrakit/metrics"
)

// watchMetrics are a watch's metrics, labelled with its service once.
type watchMetrics struct {
	instances               kitmetrics.Gauge
	events, errs, reconnect kitmetrics.Counter
}

func newWatchMetrics(set *metrics.Discovery, service string) watchMetrics {
	return watchMetrics{
		instances: set.Instances.With("service", service), events: set.Events.With("service", service),
		errs: set.LookupErrors.With("service", service), reconnect: set.WatchReconnects.With("service", service),
	}
}

// observe counts a state the watch pushes to its Instancers.
func (m *watchMetrics) observe(live []Instance, err error) {
	m.events.Add(1)
	if err != nil {
		m.errs.Add(1)
		return
	}
	m.instances.Set(float64(len(live)))
}
