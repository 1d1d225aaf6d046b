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

// bound is a metric's Prometheus child for the labels given so far: resolved once, by With, when
// every label is given; otherwise looked up on each update.
type bound[T any] struct {
	lookup func(values ...string) T // the vector's WithLabelValues
	names  []string
	lvs    labels
	child  T
	all    bool
}

func bind[T any](lookup func(...string) T, names []string, lvs labels) bound[T] {
	b := bound[T]{lookup: lookup, names: names, lvs: lvs}
	if values, all := lvs.values(names); all {
		b.child, b.all = lookup(values...), true
	}
	return b
}

func (b *bound[T]) with(pairs []string) bound[T] { return bind(b.lookup, b.names, b.lvs.with(pairs)) }

func (b *bound[T]) get() T {
	if b.all {
		return b.child
	}
	values, _ := b.lvs.values(b.names)
	return b.lookup(values...)
}

type counter struct{ bound[prometheus.Counter] }

func (c *counter) With(pairs ...string) kitmetrics.Counter { return &counter{c.with(pairs)} }
func (c *counter) Add(delta float64)                       { c.get().Add(delta) }

type gauge struct{ bound[prometheus.Gauge] }

func (g *gauge) With(pairs ...string) kitmetrics.Gauge { return &gauge{g.with(pairs)} }
func (g *gauge) Set(v float64)                         { g.get().Set(v) }
func (g *gauge) Add(delta float64)                     { g.get().Add(delta) }

type histogram struct{ bound[prometheus.Observer] }

func (h *histogram) With(pairs ...string) kitmetrics.Histogram { return &histogram{h.with(pairs)} }
func (h *histogram) Observe(v float64)                         { h.get().Observe(v) }
