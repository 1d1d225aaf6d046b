package queue

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/internal/umftrace"
	"github.com/hydrakit/hydrakit/umf"
)

// scope is the instrumentation scope of the queue's spans.
const scope = "github.com/hydrakit/hydrakit/queue"

// Spans (docs/tracing.md): "enqueue <queue>" (producer) per message, whose trace context goes in
// the message's hdr; then per attempt "fetch <queue>" (consumer, from the fetch to a worker taking
// it), "process <queue>" (consumer, the handler) and "<settle> <queue>" (client: complete, retry,
// dead_letter or release, until Redis applied it). The message's bytes never change across retries
// (they are how attempts are counted), so every attempt is a child of the one enqueue span: a retried
// message is one trace, its attempts numbered by hydra.attempt.

// startEnqueue starts the span of enqueuing m to service's queue and returns m with its trace
// context in hdr: a copy when there is one to carry, so the caller's message is left as it is.
func (p *Producer) startEnqueue(ctx context.Context, m *umf.Message, service string) (*umf.Message, trace.Span) {
	ctx, span := p.trace.Start(ctx, "enqueue "+service, umftrace.Producer)
	if span.IsRecording() {
		span.SetAttributes(umftrace.SystemAttr,
			semconv.MessagingOperationName("enqueue"), semconv.MessagingOperationTypeSend,
			semconv.MessagingDestinationName(service), semconv.MessagingMessageID(m.MID),
			semconv.MessagingMessageBodySize(len(m.Body)))
	}
	if trace.SpanContextFromContext(ctx).IsValid() {
		c := *m
		p.trace.Inject(ctx, &c)
		m = &c
	}
	return m, span
}

// endSpans ends spans, marked failed with err.
func endSpans(spans []trace.Span, err error) {
	for _, s := range spans {
		umftrace.Fail(s, err, "redis")
		s.End()
	}
}

// consumerTrace makes a Consumer's spans.
type consumerTrace struct {
	*umftrace.Tracer
	fetchName, processName string
}

func newConsumerTrace(st *fleet.State, service string) consumerTrace {
	return consumerTrace{Tracer: umftrace.New(st, scope), fetchName: "fetch " + service, processName: "process " + service}
}

// startProcess records the fetch span of d (from its fetch until now) and starts its process span,
// both children of the trace context in d's hdr.
func (c *Consumer) startProcess(ctx context.Context, d *Delivery) (context.Context, trace.Span) {
	if d.Message != nil {
		ctx = c.trace.Extract(ctx, d.Message)
	}
	fctx, fetch := c.trace.Start(ctx, c.trace.fetchName, umftrace.Consumer,
		trace.WithTimestamp(d.fetched))
	if fetch.IsRecording() {
		fetch.SetAttributes(c.attributes(d, "fetch", semconv.MessagingOperationTypeReceive)...)
	}
	fetch.End()
	ctx, span := c.trace.Start(fctx, c.trace.processName, umftrace.Consumer)
	if span.IsRecording() {
		span.SetAttributes(c.attributes(d, "process", semconv.MessagingOperationTypeProcess)...)
	}
	return ctx, span
}

func (c *Consumer) attributes(d *Delivery, op string, typ attribute.KeyValue) []attribute.KeyValue {
	a := []attribute.KeyValue{umftrace.SystemAttr, semconv.MessagingOperationName(op), typ,
		semconv.MessagingDestinationName(c.service), semconv.MessagingConsumerGroupName(c.service),
		umftrace.Attr("attempt").Int(d.Attempt), semconv.MessagingMessageBodySize(len(d.Raw))}
	if d.Message != nil {
		a = append(a, semconv.MessagingMessageID(d.Message.MID))
	}
	if d.Recoveries > 0 {
		a = append(a, umftrace.Attr("recoveries").Int(d.Recoveries))
	}
	return a
}

var settleNames = map[op]string{opComplete: "complete", opRelease: "release", opRetry: "retry", opDead: "dead_letter"}

// endProcess ends the process span with the handler's error and starts the span of o's settling,
// ended by the settler once Redis has applied it.
func (c *Consumer) endProcess(ctx context.Context, span trace.Span, o *outcome, err error) {
	umftrace.Fail(span, err, "handler")
	span.End()
	name := settleNames[o.op]
	_, o.span = c.trace.Start(ctx, name+" "+c.service, umftrace.Client)
	if o.span.IsRecording() {
		o.span.SetAttributes(umftrace.SystemAttr, semconv.MessagingOperationName(name),
			semconv.MessagingOperationTypeSettle, semconv.MessagingDestinationName(c.service))
	}
}

// errNotSettled marks the settle span of an outcome the Consumer closed before Redis applied: its
// message stays leased until the lease expires and is recovered, or was released by Close.
var errNotSettled = errors.New("queue: closed before the outcome was applied")

// abandonSettle ends the settle span of o, never applied: every span ends, so that it is exported.
func abandonSettle(o outcome) {
	if o.span != nil {
		umftrace.Fail(o.span, errNotSettled, "closed")
		o.span.End()
	}
}

// endSettle ends the settle span of o; applied is false when the lease was lost.
func endSettle(o outcome, applied bool) {
	if o.span == nil {
		return
	}
	if !applied {
		umftrace.Fail(o.span, ErrLeaseLost, "lease_lost")
	}
	o.span.End()
}
