// Package metricstest gives tests a client whose metrics go to a Prometheus registry they can read.
package metricstest

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/metrics/prom"
)

// Registry is a Prometheus registry holding hydrakit's metrics.
type Registry struct {
	*prometheus.Registry
	t testing.TB
}

// New returns a registry and the client option reporting to it.
func New(t testing.TB) (*Registry, hydrakit.Option) {
	t.Helper()
	reg := prometheus.NewRegistry()
	set, err := prom.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return &Registry{Registry: reg, t: t}, hydrakit.WithMetrics(set)
}

// Series returns the series of metric name whose labels include the name-value pairs given, or nil.
func (r *Registry) Series(name string, labels ...string) *dto.Metric {
	r.t.Helper()
	families, err := r.Gather()
	if err != nil {
		r.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}
				if !found {
					continue series
				}
			}
			return m
		}
	}
	return nil
}

// Value is a counter's or gauge's value, or a histogram's count; 0 when there is no such series.
func (r *Registry) Value(name string, labels ...string) float64 {
	r.t.Helper()
	m := r.Series(name, labels...)
	switch {
	case m == nil:
		return 0
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	default:
		return float64(m.GetHistogram().GetSampleCount())
	}
}

// Scrape reads a /metrics page in the Prometheus text format: its families by name.
func Scrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	return families
}
