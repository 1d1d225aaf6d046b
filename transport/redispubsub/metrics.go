package redispubsub

import (
	"context"
	"errors"
	"sync"
	"time"

	kitmetrics "github.com/go-kit/kit/metrics"

	"github.com/hydrakit/hydrakit/internal/statcount"
	"github.com/hydrakit/hydrakit/metrics"
	"github.com/hydrakit/hydrakit/umf"
)

// maxMetricServices bounds the target services a Conn labels its request metrics with: Request may
// be given any address, so past this many the rest share the label "other".
const maxMetricServices = 64

// connMetrics are a Conn's metrics, bound to their labels once: the Conn's own service for what it
// receives, each target service (made on first use) for the requests it sends.
type connMetrics struct {
	set *metrics.Transport

	mu       sync.RWMutex
	requests map[string]*requestMetrics
}

// bindMetrics points the Conn's counters at the client's metrics, labelled with its service.
func (c *Conn) bindMetrics(set *metrics.Transport) {
	c.mx = &connMetrics{set: set, requests: map[string]*requestMetrics{}}
	svc := []string{"service", c.service}
	dropped := func(reason string) kitmetrics.Counter {
		return set.Dropped.With("service", c.service, "reason", reason)
	}
	s := &c.stats
	for _, b := range []struct {
		c *statcount.Counter
		m kitmetrics.Counter
	}{
		{&s.handled, set.Handled.With(svc...)}, {&s.reconnects, set.Reconnects.With(svc...)},
		{&s.panics, set.Panics.With(svc...)}, {&s.malformed, dropped("malformed")},
		{&s.unhandled, dropped("unhandled")}, {&s.busy, dropped("busy")}, {&s.forged, dropped("forged")},
		{&s.foreign, dropped("foreign")}, {&s.orphans, dropped("orphan")}, {&s.duplicates, dropped("duplicate")},
	} {
		b.c.Metric = b.m
	}
	c.pub.batchSize = set.PublishBatch.With(svc...)
}

// request returns the metrics of requests to service.
func (m *connMetrics) request(service string) *requestMetrics {
	if m == nil { // a Conn made without NewConn, as tests do
		m = &connMetrics{set: &metrics.Discard().Transport, requests: map[string]*requestMetrics{}}
	}
	m.mu.RLock()
	r := m.requests[service]
	m.mu.RUnlock()
	if r != nil {
		return r
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r = m.requests[service]; r != nil {
		return r
	}
	label := service
	if len(m.requests) >= maxMetricServices {
		label = "other"
		if r = m.requests[label]; r != nil {
			return r
		}
	}
	t := m.set
	r = &requestMetrics{
		requests: t.Requests.With("service", label), replies: t.Replies.With("service", label),
		duration: t.RequestDuration.With("service", label), inFlight: t.InFlight.With("service", label),
	}
	for i, kind := range metrics.ErrorKinds {
		r.errors[i] = t.Errors.With("service", label, "kind", kind)
	}
	m.requests[label] = r
	return r
}

// requestMetrics are the metrics of the requests to one service.
type requestMetrics struct {
	requests, replies kitmetrics.Counter
	errors            [errorKinds]kitmetrics.Counter // by the index of metrics.ErrorKinds
	duration          kitmetrics.Histogram
	inFlight          kitmetrics.Gauge
}

const errorKinds = 12

// Indices into metrics.ErrorKinds (pinned by a test).
const (
	kindTimeout = iota
	kindCanceled
	kindNoResponders
	kindNoInstances
	kindRemote
	kindConnectionLost
	kindTooManyPending
	kindClosed
	kindPublish
	kindBadAddress
	kindDecode
	kindOther
)

// begin counts a request sent and returns its start.
func (r *requestMetrics) begin() time.Time {
	r.requests.Add(1)
	r.inFlight.Add(1)
	return time.Now()
}

// end counts the outcome of a request begun at start: *reply is the reply it got (nil: none), *err
// its error.
func (r *requestMetrics) end(start time.Time, reply **umf.Message, err *error) {
	r.inFlight.Add(-1)
	r.duration.Observe(time.Since(start).Seconds())
	got := *reply != nil
	if got {
		r.replies.Add(1)
	}
	switch {
	case got && (*reply).Type == typeError:
		r.errors[kindRemote].Add(1)
	case *err != nil:
		r.errors[errorKind(*err, got)].Add(1)
	}
}

// errorKind classifies a failed request; replied tells that a reply came (the decoder failed).
func errorKind(err error, replied bool) int {
	var pe *publishError
	switch {
	case replied:
		return kindDecode
	case errors.Is(err, context.DeadlineExceeded):
		return kindTimeout
	case errors.Is(err, context.Canceled):
		return kindCanceled
	case errors.Is(err, ErrNoResponders):
		return kindNoResponders
	case errors.Is(err, ErrNoInstances):
		return kindNoInstances
	case errors.Is(err, ErrConnectionLost):
		return kindConnectionLost
	case errors.Is(err, ErrTooManyPending):
		return kindTooManyPending
	case errors.Is(err, ErrClosed):
		return kindClosed
	case errors.As(err, &pe):
		return kindPublish
	case errors.Is(err, ErrBadAddress):
		return kindBadAddress
	}
	return kindOther
}
