package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// One request, one trace: an HTTP client (otelhttp) calls a go-kit HTTP service, which calls a second
// Go service over pub/sub, which enqueues a job that a queue.Consumer completes on its second attempt.
// Every span is in the trace of the client's, each the child of the one before (docs/tracing.md draws
// the tree), and the pub/sub request links to the span that answered it.
func TestTraceAcrossHTTPPubSubAndQueue(t *testing.T) {
	srv := redistest.Start(t)
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	hc := redistest.Fleet(t, srv.Client(t), hydrakit.WithTracerProvider(tp), hydrakit.WithPropagators(prop))
	ctx := context.Background()

	// The worker: fails the first attempt, completes the second.
	var attempts atomic.Int32
	completed := make(chan int, 1)
	consumer, err := queue.NewConsumer(hc, "jobs", queue.HandlerFunc(func(ctx context.Context, d *queue.Delivery) error {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			return queue.Permanent(errors.New("no span in the handler's context"))
		}
		if attempts.Add(1) == 1 {
			return errors.New("first attempt fails")
		}
		completed <- d.Attempt
		return nil
	}), queue.ConsumerBackoff(func(int) time.Duration { return time.Millisecond }))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = consumer.Close() }()

	// The second service: enqueues a job per order, over pub/sub.
	producer, err := queue.NewProducer(hc)
	if err != nil {
		t.Fatal(err)
	}
	orders, err := redispubsub.NewConn(hc, "orders", "orders1")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = orders.Close() }()
	place := func(ctx context.Context, request any) (any, error) {
		job, err := umf.New("jobs:/ship", "orders:/", request)
		if err != nil {
			return nil, err
		}
		return map[string]string{"status": "queued"}, producer.Enqueue(ctx, job)
	}
	sub, err := redispubsub.NewSubscriber(place, decodeAny, redispubsub.EncodeJSONResponse)
	if err != nil {
		t.Fatal(err)
	}
	orders.Handle("/v1/order", sub.ServeMessage)

	// The first service: a go-kit HTTP server whose endpoint calls orders, under a go-kit endpoint
	// middleware that makes a span of its own.
	gateway, err := redispubsub.NewConn(hc, "gateway", "gateway1")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = gateway.Close() }()
	pub, err := redispubsub.NewPublisher(gateway, "orders1@orders:/v1/order", redispubsub.EncodeJSONRequest, decodeAny)
	if err != nil {
		t.Fatal(err)
	}
	tracer := tp.Tracer("test")
	e := spanMiddleware(tracer, "gateway.order")(pub.Endpoint())
	handler := httptransport.NewServer(e,
		func(_ context.Context, r *http.Request) (any, error) {
			var v any
			return v, json.NewDecoder(r.Body).Decode(&v)
		},
		httptransport.EncodeJSONResponse)
	web := httptest.NewServer(otelhttp.NewHandler(handler, "POST /order",
		otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(prop)))
	defer web.Close()

	// The HTTP client.
	httpClient := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport,
		otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(prop))}
	defer httpClient.CloseIdleConnections()
	rootCtx, root := tracer.Start(ctx, "test")
	req, _ := http.NewRequestWithContext(rootCtx, http.MethodPost, web.URL, strings.NewReader(`{"item":"book"}`))
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	_ = resp.Body.Close()
	root.End()
	if want, have := "queued", body["status"]; want != have {
		t.Fatalf("want status %q, have %q (HTTP %d)", want, have, resp.StatusCode)
	}
	select {
	case n := <-completed:
		if want, have := 2, n; want != have {
			t.Fatalf("want the job completed on attempt %d, have %d", want, have)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the job was not completed")
	}
	// The complete span ends once Redis applied it, after the handler returned: a silent state.
	spans := waitSpans(t, exporter, "complete jobs")

	tree := newSpanTree(t, spans)
	tree.sameTrace(root.SpanContext().TraceID())
	httpClientSpan := tree.child("test", "HTTP POST", trace.SpanKindClient)
	httpServer := tree.childOf(httpClientSpan, "POST", trace.SpanKindServer)
	mw := tree.childOf(httpServer, "gateway.order", trace.SpanKindInternal)
	request := tree.childOf(mw, "request orders:/v1/order", trace.SpanKindClient)
	process := tree.childOf(request, "process orders:/v1/order", trace.SpanKindServer)
	enqueue := tree.childOf(process, "enqueue jobs", trace.SpanKindProducer)
	fetches := tree.childrenOf(enqueue, "fetch jobs", trace.SpanKindConsumer, 2)
	for i, fetch := range fetches {
		attempt := i + 1
		p := tree.childOf(fetch, "process jobs", trace.SpanKindConsumer)
		if want, have := int64(attempt), tree.intAttr(p, "hydra.attempt"); want != have {
			t.Errorf("want attempt %d, have %d", want, have)
		}
		settle := map[int]string{1: "retry jobs", 2: "complete jobs"}[attempt]
		tree.childOf(p, settle, trace.SpanKindClient)
	}
	// The request links to the span that answered it, from the reply's hdr.
	if links := tree.byID[request].Links; len(links) != 1 || links[0].SpanContext.SpanID() != process {
		t.Errorf("want the request span linked to the process span %s, have links %v", process, links)
	}
}

// spanMiddleware is a go-kit endpoint middleware that wraps the endpoint in a span, as a go-kit
// tracing middleware does: the transport's spans must be its children and it theirs.
func spanMiddleware(tracer trace.Tracer, name string) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			ctx, span := tracer.Start(ctx, name)
			defer span.End()
			return next(ctx, request)
		}
	}
}

func decodeAny(_ context.Context, m *umf.Message) (any, error) {
	var v any
	return v, m.DecodeBody(&v)
}

// waitSpans polls the exporter (spans end after the events a test can wait on) until a span named
// name has ended, and returns all spans.
func waitSpans(t *testing.T, exporter *tracetest.InMemoryExporter, name string) tracetest.SpanStubs {
	t.Helper()
	var spans tracetest.SpanStubs
	if !redistest.Poll(func() bool {
		spans = exporter.GetSpans()
		return slices.ContainsFunc(spans, func(s tracetest.SpanStub) bool { return s.Name == name })
	}) {
		t.Fatalf("no span %q; have %s", name, spanNames(spans))
	}
	return spans
}

func spanNames(spans tracetest.SpanStubs) string {
	var names []string
	for _, s := range spans {
		names = append(names, fmt.Sprintf("%s(%s<-%s)", s.Name, s.SpanContext.SpanID(), s.Parent.SpanID()))
	}
	return strings.Join(names, " ")
}

// spanTree indexes ended spans to check who is whose parent.
type spanTree struct {
	t     *testing.T
	spans tracetest.SpanStubs
	byID  map[trace.SpanID]tracetest.SpanStub
}

func newSpanTree(t *testing.T, spans tracetest.SpanStubs) *spanTree {
	tree := &spanTree{t: t, spans: spans, byID: map[trace.SpanID]tracetest.SpanStub{}}
	for _, s := range spans {
		tree.byID[s.SpanContext.SpanID()] = s
	}
	return tree
}

func (tr *spanTree) sameTrace(id trace.TraceID) {
	for _, s := range tr.spans {
		if s.SpanContext.TraceID() != id {
			tr.t.Errorf("span %q is in trace %s, not %s", s.Name, s.SpanContext.TraceID(), id)
		}
	}
}

// child returns the span named name (of kind kind) whose parent is named parent.
func (tr *spanTree) child(parent, name string, kind trace.SpanKind) trace.SpanID {
	tr.t.Helper()
	for _, s := range tr.spans {
		if s.Name == parent {
			return tr.childOf(s.SpanContext.SpanID(), name, kind)
		}
	}
	tr.t.Fatalf("no span %q in %s", parent, spanNames(tr.spans))
	return trace.SpanID{}
}

func (tr *spanTree) childOf(parent trace.SpanID, name string, kind trace.SpanKind) trace.SpanID {
	tr.t.Helper()
	return tr.childrenOf(parent, name, kind, 1)[0]
}

// childrenOf returns the n children of parent named name, of kind kind, in the order they started.
func (tr *spanTree) childrenOf(parent trace.SpanID, name string, kind trace.SpanKind, n int) []trace.SpanID {
	tr.t.Helper()
	var ids []trace.SpanID
	var last time.Time
	for _, s := range tr.spans {
		if s.Parent.SpanID() != parent || s.Name != name {
			continue
		}
		if s.SpanKind != kind {
			tr.t.Errorf("span %q: want kind %v, have %v", name, kind, s.SpanKind)
		}
		if s.StartTime.Before(last) {
			tr.t.Errorf("spans %q out of start order", name)
		}
		last = s.StartTime
		ids = append(ids, s.SpanContext.SpanID())
	}
	if len(ids) != n {
		tr.t.Fatalf("want %d span(s) %q under %q, have %d; spans: %s", n, name, tr.byID[parent].Name, len(ids), spanNames(tr.spans))
	}
	return ids
}

func (tr *spanTree) intAttr(id trace.SpanID, key string) int64 {
	for _, a := range tr.byID[id].Attributes {
		if string(a.Key) == key {
			return a.Value.AsInt64()
		}
	}
	return -1
}
