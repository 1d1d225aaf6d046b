package umftrace

import (
	"context"
	"encoding/json"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/umf"
)

// custom is a propagator of someone else's: never taken for W3C's.
type custom struct{ propagation.TraceContext }

var w3cPropagators = map[string]propagation.TextMapPropagator{
	"tracecontext":         propagation.TraceContext{},
	"baggage":              propagation.Baggage{},
	"tracecontext+baggage": propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	"baggage+tracecontext": propagation.NewCompositeTextMapPropagator(propagation.Baggage{}, propagation.TraceContext{}),
	"nested":               propagation.NewCompositeTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}), propagation.Baggage{}),
}

func tracerWith(p propagation.TextMapPropagator) *Tracer {
	return New(&fleet.State{Tracing: fleet.Tracing{Provider: noop.NewTracerProvider(), Propagator: p}}, "test")
}

func TestW3COnly(t *testing.T) {
	for name, p := range w3cPropagators {
		tc, ok := w3cOnly(p)
		if want := name != "baggage"; !ok || tc != want {
			t.Errorf("%s: want W3C with trace context %v, have %v, %v", name, want, tc, ok)
		}
	}
	for name, p := range map[string]propagation.TextMapPropagator{
		"custom":           custom{},
		"composite+custom": propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, custom{}),
		"unset global":     otel.GetTextMapPropagator(),
		"nil":              nil,
	} {
		if _, ok := w3cOnly(p); ok {
			t.Errorf("%s taken for W3C's", name)
		}
	}
	if tc, ok := w3cOnly(propagation.NewCompositeTextMapPropagator()); !ok || tc {
		t.Errorf("empty composite: want W3C without trace context, have %v, %v", tc, ok)
	}
}

// Inject writes, byte for byte, what the propagator writes through Carrier.
func TestInjectWritesWhatThePropagatorWrites(t *testing.T) {
	ts, err := trace.ParseTraceState("vendor=abc,other=1")
	if err != nil {
		t.Fatal(err)
	}
	member, _ := baggage.NewMember("user", "a b")
	bag, _ := baggage.New(member)
	contexts := map[string]context.Context{}
	for _, flags := range []trace.TraceFlags{0, trace.FlagsSampled, trace.FlagsRandom, 0xff} {
		for _, state := range []trace.TraceState{{}, ts} {
			sc := trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: [16]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
				SpanID:  [8]byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}, TraceFlags: flags, TraceState: state,
			})
			ctx := trace.ContextWithSpanContext(context.Background(), sc)
			contexts[flags.String()+"/"+state.String()] = ctx
			contexts[flags.String()+"/"+state.String()+"/baggage"] = baggage.ContextWithBaggage(ctx, bag)
		}
	}
	for name, p := range w3cPropagators {
		tr := tracerWith(p)
		for cname, ctx := range contexts {
			for _, hdr := range []string{"", `{"x":1}`} {
				have, want := umf.Message{Headers: json.RawMessage(hdr)}, umf.Message{Headers: json.RawMessage(hdr)}
				tr.Inject(ctx, &have)
				p.Inject(ctx, Carrier{&want})
				if string(want.Headers) != string(have.Headers) {
					t.Errorf("%s, %s, hdr %q: want %s, have %s", name, cname, hdr, want.Headers, have.Headers)
				}
			}
		}
	}
}

// A message with only a traceparent is traced for the cost of its context: one allocation for
// hdr, and reading it back makes nothing but the context.
func TestTraceparentAllocations(t *testing.T) {
	tr := tracerWith(w3cPropagators["tracecontext+baggage"])
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: [16]byte{1}, SpanID: [8]byte{1}}))
	msg := &umf.Message{}
	if have := testing.AllocsPerRun(100, func() {
		msg.Headers = nil
		tr.Inject(ctx, msg)
	}); have != 1 {
		t.Errorf("Inject: want 1 allocation, have %v", have)
	}
	if have := testing.AllocsPerRun(100, func() {
		if !trace.SpanContextFromContext(tr.Extract(context.Background(), msg)).IsValid() {
			t.Fatal("nothing extracted")
		}
	}); have > 2 { // the remote span context and the context holding it
		t.Errorf("Extract: want at most 2 allocations, have %v", have)
	}
}

// FuzzExtract checks Extract's shortcut against the propagator reading the same hdr through
// Carrier: the same span context and the same baggage, for any valid JSON hdr.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		`{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}`,
		`{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03"}`,
		`{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-04"}`,
		`{"traceparent":"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"}`,
		`{"traceparent":"00-00000000000000000000000000000000-00f067aa0ba902b7-01"}`,
		`{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"}`,
		`{"traceparent":"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}`,
		`{"traceparent":"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"}`,
		`{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-"}`,
		`{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"}`,
		`{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","tracestate":"a=b"}`,
		`{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","baggage":"k=v"}`,
		`{"a":1,"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}`,
		`{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","traceparent":"x"}`,
		`{"n":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}`,
		`{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b\u0037-01"}`,
		`{"traceparent":1}`, `{"x":"traceparent"}`, `{}`, `[1]`, `"s"`, `null`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, hdr string) {
		if !json.Valid([]byte(hdr)) {
			return
		}
		for name, p := range w3cPropagators {
			m := umf.Message{Headers: json.RawMessage(hdr)}
			have := tracerWith(p).Extract(context.Background(), &m)
			want := p.Extract(context.Background(), Carrier{&m})
			if w, h := trace.SpanContextFromContext(want), trace.SpanContextFromContext(have); !w.Equal(h) {
				t.Errorf("%s on %s: span context: want %+v, have %+v", name, hdr, w, h)
			}
			if w, h := baggage.FromContext(want).String(), baggage.FromContext(have).String(); w != h {
				t.Errorf("%s on %s: baggage: want %q, have %q", name, hdr, w, h)
			}
		}
	})
}
