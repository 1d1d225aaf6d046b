package proxy

import (
	"errors"
	"fmt"

	kitprom "github.com/go-kit/kit/metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker"
)

// metrics are the Proxy's Prometheus series, registered on the registerer it was given (or none).
// The vecs are kept beside go-kit's wrappers to delete the series of instances and services that
// are gone, so their number is bounded by what is followed.
type metrics struct {
	requestsVec, errorsVec, attemptsVec *prometheus.CounterVec
	latencyVec                          *prometheus.HistogramVec
	breakerVec                          *prometheus.GaugeVec

	requests *kitprom.Counter   // service, code
	latency  *kitprom.Histogram // service
	errors   *kitprom.Counter   // service, reason
	attempts *kitprom.Counter   // service, instance, outcome
	breaker  *kitprom.Gauge     // service, instance
}

func newMetrics(r prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requestsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hydrakit", Subsystem: "router", Name: "http_requests_total",
			Help: "Routed HTTP requests answered, by service and status code.",
		}, []string{"service", "code"}),
		latencyVec: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hydrakit", Subsystem: "router", Name: "http_request_duration_seconds",
			Help:    "Time to answer a routed HTTP request, body included, by service.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"service"}),
		errorsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hydrakit", Subsystem: "router", Name: "http_errors_total",
			Help: "Routed HTTP requests that failed, by service and reason (no_instances, unavailable, timeout, service_5xx).",
		}, []string{"service", "reason"}),
		attemptsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hydrakit", Subsystem: "router", Name: "upstream_attempts_total",
			Help: "Sends to an instance, by service, instance (host:port) and outcome (ok, error, breaker_open).",
		}, []string{"service", "instance", "outcome"}),
		breakerVec: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "hydrakit", Subsystem: "router", Name: "breaker_state",
			Help: "Each instance's circuit breaker: 0 closed, 1 half-open, 2 open.",
		}, []string{"service", "instance"}),
	}
	if r != nil {
		for _, c := range []prometheus.Collector{m.requestsVec, m.latencyVec, m.errorsVec, m.attemptsVec, m.breakerVec} {
			if err := r.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if errors.As(err, &are) {
					return nil, fmt.Errorf("%w: metrics already registered: %w", ErrConfig, err)
				}
				return nil, fmt.Errorf("%w: %w", ErrConfig, err)
			}
		}
	}
	m.requests = kitprom.NewCounter(m.requestsVec)
	m.latency = kitprom.NewHistogram(m.latencyVec)
	m.errors = kitprom.NewCounter(m.errorsVec)
	m.attempts = kitprom.NewCounter(m.attemptsVec)
	m.breaker = kitprom.NewGauge(m.breakerVec)
	return m, nil
}

func (m *metrics) breakerState(service, instance string, s gobreaker.State) {
	var v float64
	switch s {
	case gobreaker.StateHalfOpen:
		v = 1
	case gobreaker.StateOpen:
		v = 2
	}
	m.breaker.With("service", service, "instance", instance).Set(v)
}

// forgetInstance deletes the series of an instance no longer listed.
func (m *metrics) forgetInstance(service, instance string) {
	m.attemptsVec.DeletePartialMatch(prometheus.Labels{"service": service, "instance": instance})
	m.breakerVec.DeletePartialMatch(prometheus.Labels{"service": service, "instance": instance})
}

// forgetService deletes every series of a service no longer followed.
func (m *metrics) forgetService(service string) {
	l := prometheus.Labels{"service": service}
	m.requestsVec.DeletePartialMatch(l)
	m.latencyVec.DeletePartialMatch(l)
	m.errorsVec.DeletePartialMatch(l)
	m.attemptsVec.DeletePartialMatch(l)
	m.breakerVec.DeletePartialMatch(l)
}
