package queue

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hydrakit/hydrakit"
)

// traced is a client on a real Redis that records every span into an in-memory exporter, with W3C
// trace context in hdr.
func traced(t *testing.T) (*hydrakit.Client, *tracetest.InMemoryExporter, trace.Tracer) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	c := realFleet(t, hydrakit.WithTracerProvider(tp), hydrakit.WithPropagators(propagation.TraceContext{}))
	return c, exp, tp.Tracer("test")
}

// spansNamed waits until n spans named name were exported and returns them.
func spansNamed(t *testing.T, exp *tracetest.InMemoryExporter, name string, n int) []tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	eventually(t, "span "+name, func() bool {
		found = found[:0]
		for _, s := range exp.GetSpans() {
			if s.Name == name {
				found = append(found, s)
			}
		}
		return len(found) >= n
	})
	if len(found) != n {
		t.Fatalf("%s: want %d spans, have %d", name, n, len(found))
	}
	return found
}

func attrOf(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == attribute.Key(key) {
			return kv.Value.String()
		}
	}
	return ""
}

func wantChild(t *testing.T, child, parent tracetest.SpanStub) {
	t.Helper()
	if child.Parent.SpanID() != parent.SpanContext.SpanID() || child.SpanContext.TraceID() != parent.SpanContext.TraceID() {
		t.Errorf("%s is not a child of %s", child.Name, parent.Name)
	}
}

// A message that fails once: one trace under its enqueue span, each attempt a fetch → process →
// settle chain numbered by hydra.attempt, the first process failed and settled by a retry.
func TestTraceRetriedJob(t *testing.T) {
	c, exp, tracer := traced(t)
	svc := service()
	ctx, parent := tracer.Start(context.Background(), "test")
	m := newMessage(t, svc, 1)
	must(t, producer(t, c).Enqueue(ctx, m))
	parent.End()
	if len(m.Headers) != 0 {
		t.Errorf("Enqueue changed the caller's message: hdr %s", m.Headers)
	}
	startConsumer(t, c, svc, HandlerFunc(func(_ context.Context, d *Delivery) error {
		if d.Attempt == 1 {
			return errors.New("fails once")
		}
		return nil
	}), fast()...)

	complete := spansNamed(t, exp, "complete "+svc, 1)[0]
	enqueue := spansNamed(t, exp, "enqueue "+svc, 1)[0]
	wantChild(t, enqueue, spansNamed(t, exp, "test", 1)[0])
	if enqueue.SpanKind != trace.SpanKindProducer || attrOf(enqueue, "messaging.message.id") != m.MID ||
		attrOf(enqueue, "messaging.destination.name") != svc || attrOf(enqueue, "messaging.operation.type") != "send" {
		t.Errorf("enqueue span: kind %v, attributes %v", enqueue.SpanKind, enqueue.Attributes)
	}
	fetches := spansNamed(t, exp, "fetch "+svc, 2)
	processes := spansNamed(t, exp, "process "+svc, 2)
	retry := spansNamed(t, exp, "retry "+svc, 1)[0]
	for i := range 2 {
		f, p := fetches[i], processes[i]
		if attrOf(f, "hydra.attempt") != attrOf(p, "hydra.attempt") {
			f, p = fetches[i], processes[1-i]
		}
		wantChild(t, f, enqueue)
		wantChild(t, p, f)
		if f.SpanKind != trace.SpanKindConsumer || p.SpanKind != trace.SpanKindConsumer {
			t.Errorf("kinds: fetch %v, process %v", f.SpanKind, p.SpanKind)
		}
		if attrOf(p, "messaging.message.id") != m.MID || attrOf(f, "messaging.operation.type") != "receive" {
			t.Errorf("attempt %s: fetch %v, process %v", attrOf(p, "hydra.attempt"), f.Attributes, p.Attributes)
		}
		switch attrOf(p, "hydra.attempt") {
		case "1":
			if p.Status.Code != codes.Error || attrOf(p, "error.type") != "handler" {
				t.Errorf("first attempt: want status Error, error.type handler; have %v, %v", p.Status, p.Attributes)
			}
			wantChild(t, retry, p)
		case "2":
			if p.Status.Code == codes.Error {
				t.Errorf("second attempt failed: %v", p.Status)
			}
			wantChild(t, complete, p)
		default:
			t.Errorf("hydra.attempt %q", attrOf(p, "hydra.attempt"))
		}
	}
	for _, s := range []tracetest.SpanStub{retry, complete} {
		if s.SpanKind != trace.SpanKindClient || attrOf(s, "messaging.operation.type") != "settle" || s.Status.Code == codes.Error {
			t.Errorf("%s: kind %v, status %v, attributes %v", s.Name, s.SpanKind, s.Status, s.Attributes)
		}
	}
}

// A permanent error: one attempt, its process span failed, settled by dead_letter.
func TestTraceDeadLetteredJob(t *testing.T) {
	c, exp, _ := traced(t)
	svc := service()
	must(t, producer(t, c).Enqueue(context.Background(), newMessage(t, svc, 1)))
	startConsumer(t, c, svc, HandlerFunc(func(context.Context, *Delivery) error {
		return Permanent(errors.New("bad input"))
	}), fast()...)
	dead := spansNamed(t, exp, "dead_letter "+svc, 1)[0]
	p := spansNamed(t, exp, "process "+svc, 1)[0]
	wantChild(t, dead, p)
	wantChild(t, p, spansNamed(t, exp, "fetch "+svc, 1)[0])
	if p.Status.Code != codes.Error || attrOf(p, "error.type") != "handler" {
		t.Errorf("process: want status Error, error.type handler; have %v, %v", p.Status, p.Attributes)
	}
	if dead.Status.Code == codes.Error || attrOf(dead, "messaging.operation.name") != "dead_letter" {
		t.Errorf("dead_letter: status %v, attributes %v", dead.Status, dead.Attributes)
	}
}

// Outcomes Close leaves unapplied still end their settle spans, failed, so that they are exported.
func TestTraceUnappliedSettleEnds(t *testing.T) {
	_, exp, tracer := traced(t)
	con := &Consumer{outcomes: make(chan outcome, 2)}
	for range 2 {
		_, span := tracer.Start(context.Background(), "complete q")
		con.outcomes <- outcome{op: opComplete, span: span}
	}
	con.abandonOutcomes()
	for _, s := range spansNamed(t, exp, "complete q", 2) {
		if s.Status.Code != codes.Error || attrOf(s, "error.type") != "closed" {
			t.Errorf("unapplied settle span: status %v, attributes %v", s.Status, s.Attributes)
		}
	}
}
