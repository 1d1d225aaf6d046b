package integration

import (
	"context"
	"testing"
	"time"

	"github.com/go-kit/log"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// A Node Hydra service knows nothing of hdr: with tracing and signing on in Go, Node still verifies
// Go's signed requests and replies (the trace context is in hdr before the signature is made), Go
// still verifies Node's, and both ways are answered.
func TestTraceNodeInterop(t *testing.T) {
	const secret = "fleet-secret"
	srv := redistest.Start(t)
	node := startSigningPeer(t, srv.URL()+"/0", "node-traced", secret)
	waitSubscribed(t, srv.Client(t), keyspace.New().InstanceChannel("node-traced", node.InstanceID))
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	client := redistest.Fleet(t, srv.Client(t), hydrakit.WithSigning(secret), hydrakit.WithRequiredSignatures(),
		hydrakit.WithTracerProvider(tp),
		hydrakit.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})))

	id := keyspace.NewInstanceID()
	conn, err := redispubsub.NewConn(client, "go-traced", id)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	echo, err := redispubsub.NewSubscriber(
		func(_ context.Context, req interface{}) (interface{}, error) { return map[string]any{"go": req}, nil },
		func(_ context.Context, m *umf.Message) (interface{}, error) { return m.Body, nil },
		redispubsub.EncodeJSONResponse)
	if err != nil {
		t.Fatal(err)
	}
	conn.Handle("/echo", echo.ServeMessage)
	reg, err := sdredis.NewRegistrar(client, sdredis.Service{Name: "go-traced", ID: id}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()
	defer reg.Deregister()

	// Go → Node, in a trace: Node verifies the request, whose hdr carries traceparent, and answers.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ctx, root := tp.Tracer("test").Start(ctx, "test")
	reply, err := conn.Request(ctx, &umf.Message{To: node.InstanceID + "@node-traced:/check", Body: []byte(`{"n":1}`)})
	root.End()
	if err != nil {
		t.Fatalf("Go → Node: %v (stats %+v)", err, conn.Stats())
	}
	if want, have := `{"verified":true,"echo":{"n":1}}`, string(reply.Body); want != have {
		t.Errorf("Go → Node: want %s, have %s", want, have)
	}
	ev := waitSigning(t, node, "request")
	if !ev.Verified {
		t.Errorf("Node did not verify Go's traced request: %+v", ev)
	}
	tp1, ok := ev.Msg.Header("traceparent")
	if !ok {
		t.Fatalf("the request Node received has no traceparent: hdr %s", ev.Msg.Headers)
	}
	spans := waitSpans(t, exporter, "request node-traced:/check")
	request := newSpanTree(t, spans).child("test", "request node-traced:/check", trace.SpanKindClient)
	if want := "00-" + root.SpanContext().TraceID().String() + "-" + request.String() + "-01"; tp1 != want {
		t.Errorf("want traceparent %s, have %s", want, tp1)
	}

	// Node → Go: Go serves it in a span of its own and answers with traceparent in the signed reply,
	// which Node verifies.
	if _, err := node.Op("send", map[string]any{"to": "go-traced:/echo", "bdy": map[string]int{"n": 2}, "sign": "good"}); err != nil {
		t.Fatal(err)
	}
	ev = waitSigning(t, node, "reply")
	if !ev.Verified || string(ev.Msg.Body) != `{"go":{"n":2}}` {
		t.Errorf("Node → Go: want a verified reply {\"go\":{\"n\":2}}, have %+v (%s)", ev, ev.Msg.Body)
	}
	if _, ok := ev.Msg.Header("traceparent"); !ok {
		t.Errorf("Go's reply carries no traceparent: hdr %s", ev.Msg.Headers)
	}
	spans = waitSpans(t, exporter, "process go-traced:/echo")
	for _, s := range spans {
		if s.Name == "process go-traced:/echo" && (s.Parent.IsValid() || s.SpanKind != trace.SpanKindServer) {
			t.Errorf("want a root server span for Node's request, have parent %v kind %v", s.Parent, s.SpanKind)
		}
	}
}
