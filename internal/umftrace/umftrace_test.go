package umftrace

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/umf"
)

func TestCarrierWithoutHdr(t *testing.T) {
	var m umf.Message
	c := Carrier{&m}
	if v := c.Get("traceparent"); v != "" {
		t.Errorf("Get on nil hdr: %q", v)
	}
	if keys := c.Keys(); len(keys) != 0 {
		t.Errorf("Keys on nil hdr: %v", keys)
	}
	c.Set("traceparent", "00-x-y-01")
	if want, have := `{"traceparent":"00-x-y-01"}`, string(m.Headers); want != have {
		t.Errorf("Set on nil hdr: want %s, have %s", want, have)
	}
	if v := c.Get("traceparent"); v != "00-x-y-01" {
		t.Errorf("Get after Set: %q", v)
	}
}

func TestCarrierExistingHdr(t *testing.T) {
	m := umf.Message{Headers: json.RawMessage(`{"x":1,"tracestate":"a=b","nested":{"traceparent":"inner"}}`)}
	c := Carrier{&m}
	c.Set("traceparent", "00-x-y-01")
	c.Set("tracestate", "c=d")
	for key, want := range map[string]string{"traceparent": "00-x-y-01", "tracestate": "c=d", "x": "", "nested": "", "baggage": ""} {
		if have := c.Get(key); want != have {
			t.Errorf("Get(%s): want %q, have %q", key, want, have)
		}
	}
	keys := c.Keys()
	slices.Sort(keys)
	if want := []string{"nested", "traceparent", "tracestate", "x"}; !slices.Equal(want, keys) {
		t.Errorf("Keys: want %v, have %v", want, keys)
	}
	var fields map[string]any
	if err := json.Unmarshal(m.Headers, &fields); err != nil || fields["x"] != 1.0 {
		t.Errorf("the other fields are kept: %s (%v)", m.Headers, err)
	}
}

// A key spelled with escapes is found: the shortcut for absent keys only applies to a hdr without
// a backslash.
func TestCarrierEscapedKey(t *testing.T) {
	m := umf.Message{Headers: json.RawMessage(`{"trace\u0070arent":"00-x-y-01","q":"a\"b"}`)}
	if v := (Carrier{&m}).Get("traceparent"); v != "00-x-y-01" {
		t.Errorf("Get of an escaped key: %q", v)
	}
	m.Headers = json.RawMessage(`{"note":"traceparent"}`)
	if v := (Carrier{&m}).Get("traceparent"); v != "" {
		t.Errorf("Get of a key that is a value elsewhere: %q", v)
	}
}

// A hdr that is not a JSON object: nothing is read, and Set leaves it as it is (the message goes
// without trace context rather than not at all).
func TestCarrierNonObjectHdr(t *testing.T) {
	for _, hdr := range []string{`[1,2]`, `"s"`, `{"a":`} {
		m := umf.Message{Headers: json.RawMessage(hdr)}
		c := Carrier{&m}
		if v := c.Get("traceparent"); v != "" {
			t.Errorf("%s: Get: %q", hdr, v)
		}
		if keys := c.Keys(); len(keys) != 0 {
			t.Errorf("%s: Keys: %v", hdr, keys)
		}
		c.Set("traceparent", "00-x-y-01")
		if string(m.Headers) != hdr {
			t.Errorf("%s: Set changed it to %s", hdr, m.Headers)
		}
	}
}

func TestDestination(t *testing.T) {
	for to, want := range map[string]string{
		"svc:/route":             "svc:/route",
		"abc123@svc:/v1/x":       "svc:/v1/x",
		"abc123-sub@svc:[get]/x": "svc:[get]/x",
		"svc:/":                  "svc:/",
		"no-colon":               "no-colon",
		"id@svc:":                "svc:",
	} {
		if have := Destination(to); want != have {
			t.Errorf("Destination(%q): want %q, have %q", to, want, have)
		}
	}
}

// Unsampled context still travels (traceparent with flags 00), so that the next service's sampler
// decides as this one did; without a span context, or with a propagator that writes nothing, the
// message is left as it is.
func TestInjectExtract(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := New(&fleet.State{Tracing: fleet.Tracing{Provider: tp, Propagator: propagation.TraceContext{}}}, "test")
	ctx, span := tr.Start(context.Background(), "unsampled", Client)
	defer span.End()
	var m umf.Message
	tr.Inject(ctx, &m)
	if len(m.Headers) == 0 {
		t.Fatal("an unsampled span's context was not injected")
	}
	sc := trace.SpanContextFromContext(tr.Extract(context.Background(), &m))
	if !sc.IsRemote() || sc.TraceID() != span.SpanContext().TraceID() || sc.IsSampled() {
		t.Errorf("extracted %+v from %s", sc, m.Headers)
	}

	var bare umf.Message
	tr.Inject(context.Background(), &bare)
	if bare.Headers != nil {
		t.Errorf("no span context, yet hdr %s", bare.Headers)
	}
	quiet := New(&fleet.State{Tracing: fleet.Tracing{Provider: tp, Propagator: propagation.NewCompositeTextMapPropagator()}}, "test")
	quiet.Inject(ctx, &bare)
	if bare.Headers != nil {
		t.Errorf("a propagator that writes nothing, yet hdr %s", bare.Headers)
	}
	if have := quiet.Extract(context.Background(), &bare); have != context.Background() {
		t.Error("Extract of a message without hdr returned a new context")
	}
}

// FuzzCarrierGet checks Get's shortcuts against umf.Message.Header on any valid JSON hdr.
func FuzzCarrierGet(f *testing.F) {
	for _, s := range []string{`{"traceparent":"a"}`, `{"traceparent":"a","traceparent":1}`, `{"x":"traceparent"}`,
		`{"n":{"traceparent":"b"},"traceparent":"c"}`, `{"traceparent" : "d"}`, `{"t":["traceparent"],"traceparent":"e"}`,
		`{"traceparent":"f","x":"\"traceparent\":\"g"}`, `{"traceparenttraceparent":"h","traceparent":"i"}`} {
		f.Add(s, "traceparent")
	}
	f.Fuzz(func(t *testing.T, hdr, key string) {
		if !json.Valid([]byte(hdr)) {
			return
		}
		m := umf.Message{Headers: json.RawMessage(hdr)}
		want, _ := m.Header(key)
		if have := (Carrier{&m}).Get(key); want != have {
			t.Fatalf("Get(%q) on %s: Header says %q, Get %q", key, hdr, want, have)
		}
	})
}

// A client that follows the global provider pays nothing for tracing until one is set, and traces
// from then on with the Tracer it already has.
func TestUnsetGlobalProviderCostsNothing(t *testing.T) {
	if otel.GetTracerProvider() != unsetGlobal {
		t.Skip("the global TracerProvider was set earlier in this process")
	}
	tr := New(&fleet.State{Tracing: fleet.Tracing{
		Provider: otel.GetTracerProvider(), Propagator: otel.GetTextMapPropagator(),
	}}, "test")
	ctx := context.Background()
	if have := testing.AllocsPerRun(100, func() {
		c, span := tr.Start(ctx, "request svc:/x", Client)
		span.End()
		if c != ctx {
			t.Fatal("Start changed ctx with no provider set")
		}
	}); have != 0 {
		t.Errorf("allocations per span with no provider set: want 0, have %v", have)
	}

	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	otel.SetTracerProvider(tp)
	_, span := tr.Start(ctx, "request svc:/x", Client)
	span.End()
	if have := len(exporter.GetSpans()); have != 1 {
		t.Errorf("spans exported once a provider is set: want 1, have %d", have)
	}
}
