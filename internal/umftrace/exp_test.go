package umftrace

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/umf"
)

func BenchmarkHopPar(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.0))))
	defer tp.Shutdown(context.Background())
	comp := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	tr := New(&fleet.State{Tracing: fleet.Tracing{Provider: tp, Propagator: comp}}, "x")
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		m := &umf.Message{}
		for pb.Next() {
			m.Headers = nil
			c, span := tr.Start(ctx, "request x:/y", Client)
			tr.Inject(c, m)
			span.End()
			c2 := tr.Extract(ctx, m)
			_, span2 := tr.Start(c2, "process", Server)
			span2.End()
		}
	})
}
