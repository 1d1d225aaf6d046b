package redispubsub

import (
	"context"
	"errors"
	"sync"

	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/internal/umftrace"
	"github.com/hydrakit/hydrakit/umf"
)

// scope is the instrumentation scope of the transport's spans.
const scope = "github.com/hydrakit/hydrakit/transport/redispubsub"

// connTrace makes a Conn's spans (docs/tracing.md): request, send and broadcast on the sending
// side, process on the receiving side. Span names hold a service and a route, never an instance or a
// mid; a route from the network only names a span when a handler is registered for it.
type connTrace struct {
	*umftrace.Tracer
	processName string // "process <svc>": messages no registered route matches
	live        *liveSpans
}

func newConnTrace(st *fleet.State, service string) connTrace {
	return connTrace{Tracer: umftrace.New(st, scope), processName: "process " + service,
		live: &liveSpans{spans: map[trace.Span]struct{}{}}}
}

// liveSpans are the recording process spans whose handlers run: those still running when Close
// gives up on them are ended by Close, so that they are exported. Unsampled spans are not kept (they
// export nothing), so the set costs a sampled message a map entry and an unsampled one nothing; it
// holds at most one span per handler slot (ConnConcurrency).
type liveSpans struct {
	mu     sync.Mutex
	spans  map[trace.Span]struct{}
	closed bool
}

func (l *liveSpans) add(span trace.Span) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		umftrace.Fail(span, ErrClosed, "closed")
		span.End()
		return
	}
	l.spans[span] = struct{}{}
}

func (l *liveSpans) remove(span trace.Span) {
	l.mu.Lock()
	delete(l.spans, span)
	l.mu.Unlock()
}

// endAll ends the spans of the handlers still running, failed with ErrClosed; their handlers' own
// End, when they return, does nothing.
func (l *liveSpans) endAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for span := range l.spans {
		umftrace.Fail(span, ErrClosed, "closed")
		span.End()
		delete(l.spans, span)
	}
}

// startSend starts the span of a message this Conn sends: op is request (kind client: it waits for
// the reply), send or broadcast (kind producer); name is op and the destination, svc:/route.
// Attributes are set only on a recording span: an unsampled call pays for the span context alone.
func (c *Conn) startSend(ctx context.Context, name, op string, kind umftrace.Kind, msg *umf.Message) (context.Context, trace.Span) {
	ctx, span := c.tr.Start(ctx, name, kind)
	if span.IsRecording() {
		span.SetAttributes(umftrace.SystemAttr,
			semconv.MessagingOperationName(op), semconv.MessagingOperationTypeSend,
			semconv.MessagingDestinationName(umftrace.Destination(msg.To)),
			semconv.MessagingClientID(c.from))
	}
	return ctx, span
}

// endSend ends a sending span, marked failed with err's kind.
func endSend(span trace.Span, msg *umf.Message, err error) {
	if span.IsRecording() {
		if msg.MID != "" {
			span.SetAttributes(semconv.MessagingMessageID(msg.MID))
		}
		if err != nil {
			umftrace.Fail(span, err, errorType(err))
		}
	}
	span.End()
}

// linkReply links a request's span to the span that answered it, whose context the reply's hdr
// carries: the way back from the caller's trace to a server that began a trace of its own (one that
// did not take the request's context, or a Node service that replies with the request's hdr).
func (c *Conn) linkReply(ctx context.Context, span trace.Span, reply *umf.Message) {
	if !span.IsRecording() || len(reply.Headers) == 0 {
		return
	}
	if sc := trace.SpanContextFromContext(c.tr.Extract(context.Background(), reply)); sc.IsValid() && !sc.Equal(span.SpanContext()) {
		span.AddLink(trace.Link{SpanContext: sc})
	}
}

// requestName is the name of the span of a request to the address to.
func requestName(to string) string { return "request " + umftrace.Destination(to) }

// startProcess starts the span of handling msg: a child of the trace context its hdr carries, of
// kind server when the sender waits for a reply (frm or via), consumer otherwise.
func (c *Conn) startProcess(msg *umf.Message) (context.Context, trace.Span) {
	ctx := c.tr.Extract(c.ctx, msg)
	kind := umftrace.Consumer
	if wantsReply(msg) {
		kind = umftrace.Server
	}
	ctx, span := c.tr.Start(ctx, c.tr.processName, kind)
	if span.IsRecording() {
		route := routeOf(msg.To)
		c.hmu.RLock()
		_, registered := c.routes[route]
		c.hmu.RUnlock()
		dest := c.service + ":" + route
		if registered {
			span.SetName("process " + dest)
		}
		span.SetAttributes(umftrace.SystemAttr,
			semconv.MessagingOperationName("process"), semconv.MessagingOperationTypeProcess,
			semconv.MessagingDestinationName(dest), semconv.MessagingMessageID(msg.MID),
			semconv.MessagingConsumerGroupName(c.service), semconv.MessagingClientID(c.from),
			semconv.MessagingMessageBodySize(len(msg.Body)))
		if msg.Type != "" {
			span.SetAttributes(umftrace.Attr("type").String(msg.Type))
		}
		c.tr.live.add(span)
	}
	return ctx, span
}

// endProcess ends a handling span, deferred by serve: a panicking handler marks it failed, and the
// panic goes on to serve.
func (c *Conn) endProcess(span trace.Span) {
	if span.IsRecording() {
		c.tr.live.remove(span)
	}
	if r := recover(); r != nil {
		umftrace.Fail(span, errors.New("handler panicked"), "panic")
		span.End()
		panic(r)
	}
	span.End()
}

// failSpan marks the span of ctx (a Subscriber's process span) failed with err.
func failSpan(ctx context.Context, err error) {
	if span := trace.SpanFromContext(ctx); err != nil && span.IsRecording() {
		umftrace.Fail(span, err, errorType(err))
	}
}

// withTraceContext returns resp, or a copy of it with the trace context of ctx in hdr: what a reply
// carries back (a Node requester ignores it). Only a sampled context goes back: a reply starts nothing,
// so its context serves only the requester's link to the span that answered, which an unsampled
// requester does not record; an unsampled reply thus costs no copy.
func (c *Conn) withTraceContext(ctx context.Context, resp *umf.Message) *umf.Message {
	if !trace.SpanContextFromContext(ctx).IsSampled() {
		return resp
	}
	r := *resp
	c.tr.Inject(ctx, &r)
	return &r
}

// errorType is the error.type of a span: one of a few kinds, never the error's text.
func errorType(err error) string {
	var re *RemoteError
	var de decodeError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, ErrBusy):
		return "busy"
	case errors.As(err, &re):
		return "remote_error"
	case errors.Is(err, ErrNoResponders):
		return "no_responders"
	case errors.Is(err, ErrNoInstances):
		return "no_instances"
	case errors.Is(err, ErrConnectionLost):
		return "connection_lost"
	case errors.Is(err, ErrTooManyPending):
		return "too_many_pending"
	case errors.Is(err, ErrClosed):
		return "closed"
	case errors.As(err, &de):
		return "decode"
	}
	return "_OTHER"
}
