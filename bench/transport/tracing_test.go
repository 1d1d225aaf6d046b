package transport

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/internal/umftrace"
	"github.com/hydrakit/hydrakit/umf"
)

// untraced holds the untraced round trip's req/s per in-flight count, for the ratio.
var untraced = map[int]float64{}

// BenchmarkTracing measures what tracing costs a round trip, beside the same round trip untraced
// (the client's defaults: the otel globals, unset), in the same run: an SDK TracerProvider sampling
// 1 % of the traces (ParentBased(TraceIDRatioBased(0.01))) into a batch processor and an exporter
// that discards, and W3C trace context and baggage in every request's and reply's hdr. x-untraced is
// traced req/s over untraced req/s; paired alternates blocks of the two (x-untraced-paired), the
// ratio to trust on a shared machine.
func BenchmarkTracing(b *testing.B) {
	client := redistest.Client(b)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))),
		sdktrace.WithBatcher(discard{}))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracing := []hydrakit.Option{hydrakit.WithTracerProvider(tp), hydrakit.WithPropagators(
		propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))}
	for _, n := range []int{1, 32} {
		b.Run(fmt.Sprintf("inflight=%d/untraced", n), func(b *testing.B) {
			untraced[n] = run(b, n, hydrakitBetween(b, client, "bench-calc", "bench-caller"))
		})
		b.Run(fmt.Sprintf("inflight=%d/traced-1pct", n), func(b *testing.B) {
			rps := run(b, n, hydrakitBetween(b, client, "bench-calc", "bench-caller", tracing...))
			if base, ok := untraced[n]; ok {
				b.ReportMetric(rps/base, "x-untraced")
			}
		})
		b.Run(fmt.Sprintf("inflight=%d/paired", n), func(b *testing.B) {
			pairedAs(b, n, hydrakitBetween(b, client, "bench-calc", "bench-caller"),
				hydrakitBetween(b, client, "bench-calc", "bench-caller", tracing...), "x-untraced-paired")
		})
	}
}

// discard is a span exporter that drops what it is given.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkTraceHop measures the tracing work of one unsampled round trip without Redis: the caller's
// span and its traceparent written into hdr, then the handler's span from that hdr, with an SDK
// TracerProvider (ParentBased(TraceIDRatioBased(0.01)), never sampling these IDs) and W3C trace
// context and baggage. w3c is how a client with OpenTelemetry's W3C propagators carries it (umftrace
// reads and writes a lone traceparent itself, decision 51); generic the same propagators behind a
// wrapper umftrace does not know, so that they read and write hdr through the carrier. x-generic is
// generic's ns/op over w3c's.
func BenchmarkTraceHop(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0))))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	w3c := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	var generic float64
	for _, side := range []struct {
		name string
		prop propagation.TextMapPropagator
	}{{"generic", opaque{w3c}}, {"w3c", w3c}} {
		b.Run(side.name, func(b *testing.B) {
			tr := umftrace.New(&fleet.State{Tracing: fleet.Tracing{Provider: tp, Propagator: side.prop}}, "bench")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				msg := &umf.Message{}
				for pb.Next() {
					msg.Headers = nil
					ctx, span := tr.Start(context.Background(), "request bench:/x", umftrace.Client)
					tr.Inject(ctx, msg)
					_, process := tr.Start(tr.Extract(context.Background(), msg), "process bench", umftrace.Server)
					process.End()
					span.End()
				}
			})
			perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if side.name == "generic" {
				generic = perOp
			} else if generic > 0 {
				b.ReportMetric(generic/perOp, "x-generic")
			}
		})
	}
}

// opaque hides a propagator's type, as any propagator umftrace does not know is hidden.
type opaque struct{ propagation.TextMapPropagator }
