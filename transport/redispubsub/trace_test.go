package redispubsub

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

// traced is a client that records every span (AlwaysSample) into an in-memory exporter, with W3C
// trace context and baggage in hdr.
func traced(t *testing.T) (*hydrakit.Client, *tracetest.InMemoryExporter, trace.Tracer) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	client := fleetOn(t, pubsubRedis(t), hydrakit.WithTracerProvider(tp), hydrakit.WithPropagators(
		propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})))
	return client, exp, tp.Tracer("test")
}

func tracedConn(t *testing.T, client *hydrakit.Client, service string, options ...ConnOption) *Conn {
	t.Helper()
	c, err := NewConn(client, service, keyspace.NewInstanceID(), options...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// spanNamed waits until n spans named name were exported and returns them.
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

func attrOf(s tracetest.SpanStub, key attribute.Key) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.String()
		}
	}
	return ""
}

func wantAttrs(t *testing.T, s tracetest.SpanStub, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if have := attrOf(s, attribute.Key(k)); have != v {
			t.Errorf("%s: %s: want %q, have %q", s.Name, k, v, have)
		}
	}
}

func wantChild(t *testing.T, child, parent tracetest.SpanStub) {
	t.Helper()
	if child.Parent.SpanID() != parent.SpanContext.SpanID() || child.SpanContext.TraceID() != parent.SpanContext.TraceID() {
		t.Errorf("%s is not a child of %s", child.Name, parent.Name)
	}
}

func wantFailed(t *testing.T, s tracetest.SpanStub, errorType string) {
	t.Helper()
	if s.Status.Code != codes.Error {
		t.Errorf("%s: want status Error, have %v", s.Name, s.Status)
	}
	wantAttrs(t, s, map[string]string{"error.type": errorType})
}

// A Publisher call is a client span under the caller's, the handler a server span under it (its
// context came in hdr), and the reply links the request to the span that answered.
func TestTraceRequestReply(t *testing.T) {
	client, exp, tracer := traced(t)
	server := tracedConn(t, client, "tsum")
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	caller := tracedConn(t, client, "tcaller")
	e := publisherEndpoint(t, caller, addr("tsum", idOf(server), "/sum"), EncodeJSONRequest, decodeSumResponse)
	ctx, parent := tracer.Start(context.Background(), "test")
	if _, err := e(ctx, sumRequest{A: 1, B: 2}); err != nil {
		t.Fatal(err)
	}
	parent.End()

	req := spansNamed(t, exp, "request tsum:/sum", 1)[0]
	proc := spansNamed(t, exp, "process tsum:/sum", 1)[0]
	test := spansNamed(t, exp, "test", 1)[0]
	if req.SpanKind != trace.SpanKindClient || proc.SpanKind != trace.SpanKindServer {
		t.Errorf("kinds: request %v, process %v", req.SpanKind, proc.SpanKind)
	}
	wantChild(t, req, test)
	wantChild(t, proc, req)
	wantAttrs(t, req, map[string]string{"messaging.system": "hydra", "messaging.operation.name": "request",
		"messaging.operation.type": "send", "messaging.destination.name": "tsum:/sum", "messaging.client.id": caller.Address()})
	wantAttrs(t, proc, map[string]string{"messaging.system": "hydra", "messaging.operation.type": "process",
		"messaging.destination.name": "tsum:/sum", "messaging.consumer.group.name": "tsum",
		"messaging.message.id": attrOf(req, "messaging.message.id")})
	if attrOf(req, "messaging.message.id") == "" {
		t.Error("request span without messaging.message.id")
	}
	if len(req.Links) != 1 || req.Links[0].SpanContext.SpanID() != proc.SpanContext.SpanID() {
		t.Errorf("request links: want the process span, have %+v", req.Links)
	}
	if req.Status.Code == codes.Error || proc.Status.Code == codes.Error {
		t.Errorf("status: request %v, process %v", req.Status, proc.Status)
	}
}

// A request nobody hears fails with error.type no_responders; an error reply fails both the
// request (remote_error) and the handler's span.
func TestTraceFailedRequests(t *testing.T) {
	client, exp, _ := traced(t)
	server := tracedConn(t, client, "tsum")
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	caller := tracedConn(t, client, "tcaller")

	if _, err := caller.Request(ctxTimeout(t, 10*time.Second), &umf.Message{To: addr("nobody", keyspace.NewInstanceID(), "/x")}); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("want ErrNoResponders, have %v", err)
	}
	wantFailed(t, spansNamed(t, exp, "request nobody:/x", 1)[0], "no_responders")

	e := publisherEndpoint(t, caller, addr("tsum", idOf(server), "/sum"), EncodeJSONRequest, decodeSumResponse)
	var re *RemoteError
	if _, err := e(context.Background(), sumRequest{A: -1}); !errors.As(err, &re) {
		t.Fatalf("want a *RemoteError, have %v", err)
	}
	req := spansNamed(t, exp, "request tsum:/sum", 1)[0]
	wantFailed(t, req, "remote_error")
	proc := spansNamed(t, exp, "process tsum:/sum", 1)[0]
	wantChild(t, proc, req)
	if proc.Status.Code != codes.Error {
		t.Errorf("process span of a failed endpoint: want status Error, have %v", proc.Status)
	}
}

// A broadcast is one producer span, and every instance that handles it a consumer span under it.
func TestTraceBroadcast(t *testing.T) {
	client, exp, _ := traced(t)
	handled := make(chan struct{}, 2)
	for range 2 {
		c := tracedConn(t, client, "tfan")
		c.Handle("/news", func(context.Context, *Conn, *umf.Message) { handled <- struct{}{} })
	}
	sender := tracedConn(t, client, "tsender")
	if err := sender.Broadcast(context.Background(), &umf.Message{To: "tfan:/news", Body: []byte(`1`)}); err != nil {
		t.Fatal(err)
	}
	receive(t, handled, "the first instance")
	receive(t, handled, "the second instance")
	b := spansNamed(t, exp, "broadcast tfan:/news", 1)[0]
	if b.SpanKind != trace.SpanKindProducer {
		t.Errorf("broadcast kind: %v", b.SpanKind)
	}
	wantAttrs(t, b, map[string]string{"messaging.operation.name": "broadcast", "messaging.destination.name": "tfan:/news"})
	for _, p := range spansNamed(t, exp, "process tfan:/news", 2) {
		if p.SpanKind != trace.SpanKindConsumer {
			t.Errorf("process kind of a broadcast: %v", p.SpanKind)
		}
		wantChild(t, p, b)
	}
}

// A handler still running when Close gives up on it: its span ends anyway, failed, so that it is
// exported; the handler's own End when it returns changes nothing.
func TestTraceProcessSpanEndsOnClose(t *testing.T) {
	client, exp, _ := traced(t)
	started, release := make(chan struct{}), make(chan struct{})
	returned := make(chan struct{})
	server, err := NewConn(client, "tslow", keyspace.NewInstanceID(), withCloseGrace(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	server.Handle("/slow", func(context.Context, *Conn, *umf.Message) {
		defer close(returned)
		close(started)
		<-release
	})
	sender := tracedConn(t, client, "tsender")
	if err := sender.Send(context.Background(), &umf.Message{To: server.Address() + "slow"}); err != nil {
		t.Fatal(err)
	}
	receive(t, started, "the handler")
	if err := server.Close(); err == nil {
		t.Fatal("Close: want an error for the handler still running")
	}
	p := spansNamed(t, exp, "process tslow:/slow", 1)[0]
	wantFailed(t, p, "closed")
	close(release)
	receive(t, returned, "the handler to return")
	if n := len(spansNamed(t, exp, "process tslow:/slow", 1)); n != 1 {
		t.Errorf("the span was exported %d times", n)
	}
}

// An unsampled reply carries no trace context, and a request hdr that held nothing else is not
// copied back into it; other hdr fields are, as Node's sendReplyMessage copies them.
func TestUnsampledReplyLeavesOutTheRequestContext(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	client := fleetOn(t, pubsubRedis(t), hydrakit.WithTracerProvider(tp), hydrakit.WithPropagators(
		propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})))
	server := tracedConn(t, client, "techo")
	got := make(chan *umf.Message, 2)
	server.Handle("/echo", func(ctx context.Context, c *Conn, msg *umf.Message) {
		got <- msg
		if err := c.Reply(ctx, msg, &umf.Message{Body: []byte(`"ok"`)}); err != nil {
			t.Error(err)
		}
	})
	caller := tracedConn(t, client, "tcaller")
	to := addr("techo", idOf(server), "/echo")

	reply, err := caller.Request(context.Background(), &umf.Message{To: to})
	if err != nil {
		t.Fatal(err)
	}
	if req := <-got; !strings.Contains(string(req.Headers), `"traceparent"`) {
		t.Fatalf("the request carried no traceparent: hdr %s", req.Headers)
	}
	if reply.Headers != nil {
		t.Errorf("unsampled reply: want no hdr, have %s", reply.Headers)
	}

	withField := &umf.Message{To: to}
	if err := withField.SetHeader("x-tenant", "acme"); err != nil {
		t.Fatal(err)
	}
	if reply, err = caller.Request(context.Background(), withField); err != nil {
		t.Fatal(err)
	}
	if v, ok := reply.Header("x-tenant"); !ok || v != "acme" {
		t.Errorf("reply hdr %s: the request's own field was not copied back", reply.Headers)
	}
}
