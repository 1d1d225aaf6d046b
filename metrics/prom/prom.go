package prom

import (
	"errors"
	"fmt"

	kitmetrics "github.com/go-kit/kit/metrics"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hydrakit/hydrakit/metrics"
)

// ErrConfig is wrapped by every invalid argument or option of New.
var ErrConfig = errors.New("prom: invalid configuration")

// DefaultDurationBuckets are the upper bounds, in seconds, of the request duration histogram: from
// half a millisecond (a request/reply on a local Redis) to 10 s (the default request timeout).
var DefaultDurationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// batchBuckets are the upper bounds of the publish batch histogram; the transport's default
// ConnMaxBatch is within them.
var batchBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}

// Option configures New.
type Option func(*config)

type config struct {
	durations []float64
	err       error
}

// DurationBuckets replaces DefaultDurationBuckets; the bounds must be positive and increasing.
func DurationBuckets(bounds ...float64) Option {
	return func(c *config) {
		for i, b := range bounds {
			if b <= 0 || i > 0 && b <= bounds[i-1] {
				c.err = errors.Join(c.err, fmt.Errorf("%w: DurationBuckets%v: bounds must be positive and increasing", ErrConfig, bounds))
				return
			}
		}
		if len(bounds) == 0 {
			c.err = errors.Join(c.err, fmt.Errorf("%w: DurationBuckets: no bounds", ErrConfig))
		}
		c.durations = bounds
	}
}

// New registers every hydrakit metric with reg and returns the Set to give hydrakit.WithMetrics.
// Make one per registry: registering the same names twice fails (wrapping
// prometheus.AlreadyRegisteredError).
func New(reg prometheus.Registerer, options ...Option) (*metrics.Set, error) {
	if reg == nil {
		return nil, fmt.Errorf("%w: nil Registerer", ErrConfig)
	}
	c := config{durations: DefaultDurationBuckets}
	for _, o := range options {
		if o == nil {
			c.err = errors.Join(c.err, fmt.Errorf("%w: nil Option", ErrConfig))
			continue
		}
		o(&c)
	}
	if c.err != nil {
		return nil, c.err
	}
	b := &builder{reg: reg}
	s := build(b, c.durations)
	if b.err != nil {
		return nil, b.err
	}
	return s, nil
}

// build makes every metric of a Set through b; the order is the order of docs/observability.md.
func build(b *builder, durations []float64) *metrics.Set {
	s := &metrics.Set{}
	t := &s.Transport
	t.Requests = b.counter("transport_requests_total", "Requests sent, by target service.", "service")
	t.Replies = b.counter("transport_replies_total", "Replies received to requests sent, error replies included.", "service")
	t.Errors = b.counter("transport_request_errors_total", "Requests that failed, by kind.", "service", "kind")
	t.RequestDuration = b.histogram("transport_request_duration_seconds", "Time from sending a request to its reply or failure.", durations, "service")
	t.InFlight = b.gauge("transport_requests_in_flight", "Requests waiting for their reply.", "service")
	t.PublishBatch = b.histogram("transport_publish_batch_size", "Messages per PUBLISH round trip.", batchBuckets, "service")
	t.Handled = b.counter("transport_messages_handled_total", "Messages handed to a handler.", "service")
	t.Dropped = b.counter("transport_messages_dropped_total", "Messages dropped unhandled, by reason.", "service", "reason")
	t.Reconnects = b.counter("transport_reconnects_total", "New subscriptions after one was lost.", "service")
	t.Panics = b.counter("transport_handler_panics_total", "Handlers that panicked.", "service")

	d := &s.Discovery
	d.Instances = b.gauge("discovery_instances", "Live instances of a followed service.", "service")
	d.Events = b.counter("discovery_events_total", "States of a followed service pushed to its Instancers.", "service")
	d.LookupErrors = b.counter("discovery_lookup_errors_total", "Reads of a followed service's live instances that failed.", "service")
	d.WatchReconnects = b.counter("discovery_watch_reconnects_total", "Resubscriptions to a followed service's join and leave announcements.", "service")

	q := &s.Queue
	q.Enqueued = b.counter("queue_enqueued_total", "Messages enqueued.", "queue")
	q.Fetched = b.counter("queue_fetched_total", "Messages leased by a consumer.", "queue")
	q.Completed = b.counter("queue_completed_total", "Messages completed.", "queue")
	q.Retried = b.counter("queue_retried_total", "Messages scheduled for another attempt.", "queue")
	q.DeadLettered = b.counter("queue_dead_lettered_total", "Messages moved to the incomplete list.", "queue")
	q.Recovered = b.counter("queue_recovered_total", "Messages taken back from expired leases or orphaned.", "queue")
	q.LeaseExtensions = b.counter("queue_lease_extensions_total", "Leases renewed by a consumer's heartbeat.", "queue")
	q.Depth = b.gauge("queue_depth", "Messages in a queue's list.", "queue", "list")
	q.OldestAge = b.gauge("queue_oldest_age_seconds", "Age of the oldest message in a queue's list.", "queue", "list")

	h := &s.Health
	h.CheckUp = b.gauge("health_check_up", "1 when the health check passed in the last snapshot, 0 when it failed.", "service", "check")
	h.Status = b.gauge("health_status", "1 for the instance's current health status, 0 for the others.", "service", "status")

	r := &s.Recorder
	r.Entries = b.counter("recorder_entries_total", "Entries written to the health log.", "service")
	r.Dropped = b.counter("recorder_dropped_total", "Entries dropped: buffer full or Redis unavailable.", "service")
	return s
}

// builder registers metrics and keeps the first error.
type builder struct {
	reg   prometheus.Registerer
	err   error
	specs []spec // what was built, for the docs test
}

type spec struct {
	name, kind string
	labels     []string
}

const namespace = "hydrakit"

func (b *builder) register(c prometheus.Collector, name, kind string, labels []string) {
	b.specs = append(b.specs, spec{name: namespace + "_" + name, kind: kind, labels: labels})
	if err := b.reg.Register(c); err != nil {
		b.err = errors.Join(b.err, fmt.Errorf("prom: register %s_%s: %w", namespace, name, err))
	}
}

func (b *builder) counter(name, help string, labels ...string) kitmetrics.Counter {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	b.register(v, name, "counter", labels)
	return &counter{bind(v.WithLabelValues, labels, nil)}
}

func (b *builder) gauge(name, help string, labels ...string) kitmetrics.Gauge {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, labels)
	b.register(v, name, "gauge", labels)
	return &gauge{bind(v.WithLabelValues, labels, nil)}
}

func (b *builder) histogram(name, help string, buckets []float64, labels ...string) kitmetrics.Histogram {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	b.register(v, name, "histogram", labels)
	return &histogram{bind(v.WithLabelValues, labels, nil)}
}
