package redispubsub

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/metricstest"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/metrics"
	"github.com/hydrakit/hydrakit/umf"
)

// The kind constants index metrics.ErrorKinds.
func TestErrorKindsIndex(t *testing.T) {
	if want, have := errorKinds, len(metrics.ErrorKinds); want != have {
		t.Fatalf("want %d kinds, have %d", want, have)
	}
	for i, want := range map[int]string{kindTimeout: "timeout", kindNoResponders: "no_responders", kindRemote: "remote",
		kindDecode: "decode", kindOther: "other", kindBadAddress: "bad_address"} {
		if have := metrics.ErrorKinds[i]; want != have {
			t.Errorf("index %d: want %s, have %s", i, want, have)
		}
	}
}

// Every transport metric moves on its event: requests and replies, the duration of each, errors by
// kind, handled and dropped messages on the server, publish batches.
func TestTransportMetrics(t *testing.T) {
	rdb := pubsubRedis(t)
	reg, option := metricstest.New(t)
	client := fleetOn(t, rdb, option)
	serverID := keyspace.NewInstanceID()
	server, err := NewConn(client, "calc", serverID)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	caller, err := NewConn(client, "caller", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	sub, err := NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse)
	if err != nil {
		t.Fatal(err)
	}
	server.Handle("/sum", sub.ServeMessage)
	pub, err := NewPublisher(caller, serverID+"@calc:/sum", EncodeJSONRequest, decodeSumResponse)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const n = 5
	for i := range n {
		if _, err := pub.Endpoint()(ctx, sumRequest{A: i, B: 1}); err != nil {
			t.Fatal(err)
		}
	}
	// A route nobody handles: a 404 error reply (remote) and a dropped message on the server.
	if reply, err := caller.Request(ctx, &umf.Message{To: serverID + "@calc:/nope", Body: []byte(`1`)}); err != nil || reply.Type != typeError {
		t.Fatalf("want an error reply, have %v %v", reply, err)
	}
	// Nobody listens: no_responders.
	if _, err := caller.Request(ctx, &umf.Message{To: keyspace.NewInstanceID() + "@ghost:/", Body: []byte(`1`)}); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("want ErrNoResponders, have %v", err)
	}

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hydrakit_transport_requests_total", []string{"service", "calc"}, n + 1},
		{"hydrakit_transport_replies_total", []string{"service", "calc"}, n + 1},
		{"hydrakit_transport_request_duration_seconds", []string{"service", "calc"}, n + 1},
		{"hydrakit_transport_requests_in_flight", []string{"service", "calc"}, 0},
		{"hydrakit_transport_request_errors_total", []string{"service", "calc", "kind", "remote"}, 1},
		{"hydrakit_transport_requests_total", []string{"service", "ghost"}, 1},
		{"hydrakit_transport_request_errors_total", []string{"service", "ghost", "kind", "no_responders"}, 1},
		{"hydrakit_transport_messages_handled_total", []string{"service", "calc"}, n},
		{"hydrakit_transport_messages_dropped_total", []string{"service", "calc", "reason", "unhandled"}, 1},
	} {
		if have := reg.Value(c.name, c.labels...); c.want != have {
			t.Errorf("%s%v: want %v, have %v", c.name, c.labels, c.want, have)
		}
	}
	// Publishes: the caller's n+2 requests, the server's n replies and one 404 (sent by the refuser on
	// its own goroutine), and any subscription probes of the monitor (one a second).
	if have := reg.Value("hydrakit_transport_publish_batch_size", "service", "caller"); have < n+2 {
		t.Errorf("caller batches: want at least %d, have %v", n+2, have)
	}
	if !redistest.Poll(func() bool { return reg.Value("hydrakit_transport_publish_batch_size", "service", "calc") >= n+1 }) {
		t.Fatalf("server batches: want %d, have %v", n+1, reg.Value("hydrakit_transport_publish_batch_size", "service", "calc"))
	}
}

// Past maxMetricServices target services, requests share the label "other".
func TestRequestMetricsBounded(t *testing.T) {
	m := &connMetrics{set: &metrics.Discard().Transport, requests: map[string]*requestMetrics{}}
	for range maxMetricServices + 10 {
		m.request(keyspace.NewInstanceID())
	}
	if want, have := maxMetricServices+1, len(m.requests); want != have {
		t.Fatalf("want %d label sets, have %d", want, have)
	}
	if m.requests["other"] == nil {
		t.Fatal("no other")
	}
}
