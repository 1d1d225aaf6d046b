package prom

import (
	kitmetrics "github.com/go-kit/kit/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// go-kit's metrics/prometheus resolves the labels (a map and a hash) on every update: 16 allocations
// per request/reply on the transport's hot path. These are the same go-kit metrics, but With resolves
// the Prometheus child once all labels are given, so that an update of a metric bound by With is an
// atomic add. A metric updated before all its labels are given resolves them on each update, with the
// missing ones empty; no series exists before the first update.

// labels are label name-value pairs, as go-kit's With takes them.
type labels []string

func (l labels) with(pairs []string) labels {
	if len(pairs)%2 != 0 {
		pairs = append(pairs, "unknown")
	}
	return append(l[:len(l):len(l)], pairs...)
}

// values returns the values in the order of names ("" for a name not given), and whether every
// name was given.
func (l labels) values(names []string) ([]string, bool) {
	out := make([]string, len(names))
	given := 0
	for j, n := range names {
		for i := 0; i+1 < len(l); i += 2 {
			if n == l[i] {
				out[j] = l[i+1]
				given++
				break
			}
		}
	}
	return out, given == len(names)
}

type counter struct {
	vec   *prometheus.CounterVec
	names []string
	lvs   labels
	c     prometheus.Counter
}

func newCounter(vec *prometheus.CounterVec, names []string, lvs labels) *counter {
	c := &counter{vec: vec, names: names, lvs: lvs}
	if values, all := lvs.values(names); all {
		c.c = vec.WithLabelValues(values...)
	}
	return c
}

func (c *counter) With(pairs ...string) kitmetrics.Counter {
	return newCounter(c.vec, c.names, c.lvs.with(pairs))
}

func (c *counter) Add(delta float64) {
	if c.c == nil {
		values, _ := c.lvs.values(c.names)
		c.vec.WithLabelValues(values...).Add(delta)
		return
	}
	c.c.Add(delta)
}

type gauge struct {
	vec   *prometheus.GaugeVec
	names []string
	lvs   labels
	g     prometheus.Gauge
}

func newGauge(vec *prometheus.GaugeVec, names []string, lvs labels) *gauge {
	g := &gauge{vec: vec, names: names, lvs: lvs}
	if values, all := lvs.values(names); all {
		g.g = vec.WithLabelValues(values...)
	}
	return g
}

func (g *gauge) child() prometheus.Gauge {
	if g.g == nil {
		values, _ := g.lvs.values(g.names)
		return g.vec.WithLabelValues(values...)
	}
	return g.g
}

func (g *gauge) With(pairs ...string) kitmetrics.Gauge {
	return newGauge(g.vec, g.names, g.lvs.with(pairs))
}

func (g *gauge) Set(v float64)     { g.child().Set(v) }
func (g *gauge) Add(delta float64) { g.child().Add(delta) }

type histogram struct {
	vec   *prometheus.HistogramVec
	names []string
	lvs   labels
	h     prometheus.Observer
}

func newHistogram(vec *prometheus.HistogramVec, names []string, lvs labels) *histogram {
	h := &histogram{vec: vec, names: names, lvs: lvs}
	if values, all := lvs.values(names); all {
		h.h = vec.WithLabelValues(values...)
	}
	return h
}

func (h *histogram) With(pairs ...string) kitmetrics.Histogram {
	return newHistogram(h.vec, h.names, h.lvs.with(pairs))
}

func (h *histogram) Observe(v float64) {
	if h.h == nil {
		values, _ := h.lvs.values(h.names)
		h.vec.WithLabelValues(values...).Observe(v)
		return
	}
	h.h.Observe(v)
}
