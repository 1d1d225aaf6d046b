package transport

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/metrics/prom"
)

// unobserved holds the round trip's req/s with metrics and tracing off per in-flight count.
var unobserved = map[int]float64{}

// BenchmarkObservability measures issue 17's target: request/reply with metrics and tracing both on
// beside both off, in the same run. On: every transport metric reported to a Prometheus registry
// (metrics/prom), and an SDK TracerProvider sampling 1 % of the traces
// (ParentBased(TraceIDRatioBased(0.01))) into a batch processor and an exporter that discards, W3C
// trace context and baggage in every request's hdr (and a sampled reply's). Off: the client's
// defaults (metrics.Discard, the otel globals unset). x-off is req/s on over req/s off; paired
// alternates blocks of the two (x-off-paired), the ratio to trust on a shared machine; the control
// pairs two clients with both off, which shows how far from 1 the method itself lands on the run.
func BenchmarkObservability(b *testing.B) {
	client := redistest.Client(b)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))),
		sdktrace.WithBatcher(discard{}))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	on := func(b *testing.B) []hydrakit.Option {
		set, err := prom.New(prometheus.NewRegistry())
		if err != nil {
			b.Fatal(err)
		}
		return []hydrakit.Option{hydrakit.WithMetrics(set), hydrakit.WithTracerProvider(tp),
			hydrakit.WithPropagators(propagation.NewCompositeTextMapPropagator(
				propagation.TraceContext{}, propagation.Baggage{}))}
	}
	for _, n := range []int{1, 32} {
		b.Run(fmt.Sprintf("inflight=%d/off", n), func(b *testing.B) {
			unobserved[n] = run(b, n, hydrakitBetween(b, client, "bench-calc", "bench-caller"))
		})
		b.Run(fmt.Sprintf("inflight=%d/on", n), func(b *testing.B) {
			rps := run(b, n, hydrakitBetween(b, client, "bench-calc", "bench-caller", on(b)...))
			if base, ok := unobserved[n]; ok {
				b.ReportMetric(rps/base, "x-off")
			}
		})
		b.Run(fmt.Sprintf("inflight=%d/paired", n), func(b *testing.B) {
			pairedAs(b, n, hydrakitBetween(b, client, "bench-calc", "bench-caller"),
				hydrakitBetween(b, client, "bench-calc", "bench-caller", on(b)...), "x-off-paired")
		})
	}
	// The control pairs two clients with both off: how far from 1 the method lands on this run.
	b.Run("inflight=32/paired-control", func(b *testing.B) {
		pairedAs(b, 32, hydrakitBetween(b, client, "bench-calc", "bench-caller"),
			hydrakitBetween(b, client, "bench-calc", "bench-caller"), "x-off-paired")
	})
}
