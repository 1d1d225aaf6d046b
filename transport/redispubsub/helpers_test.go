package redispubsub

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

type sumRequest struct{ A, B int }
type sumResponse struct{ V int }

func sumEndpoint(_ context.Context, req interface{}) (interface{}, error) {
	r := req.(sumRequest)
	if r.A < 0 {
		return nil, errors.New("negative")
	}
	return sumResponse{V: r.A + r.B}, nil
}

func decodeSumRequest(_ context.Context, msg *umf.Message) (interface{}, error) {
	var r sumRequest
	err := msg.DecodeBody(&r)
	return r, err
}

func decodeSumResponse(_ context.Context, msg *umf.Message) (interface{}, error) {
	var r sumResponse
	err := msg.DecodeBody(&r)
	return r, err
}

func nopDecoder(context.Context, *umf.Message) (interface{}, error) { return nil, nil }

// newConn opens a Conn, on a fleet client of its own over rdb, closed at the end of the test.
func newConn(t testing.TB, rdb goredis.UniversalClient, service string, options ...ConnOption) *Conn {
	t.Helper()
	c, err := NewConn(redistest.Fleet(t, rdb), service, keyspace.NewInstanceID(), options...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// fleetOn is a fleet client over rdb, closed at the end of the test.
func fleetOn(t testing.TB, rdb goredis.UniversalClient, options ...hydrakit.Option) *hydrakit.Client {
	t.Helper()
	return redistest.Fleet(t, rdb, options...)
}

// idOf is the Conn's instance ID.
func idOf(c *Conn) string {
	id, _, _ := strings.Cut(c.from, "@")
	return id
}

// addr is the UMF address of one instance's route.
func addr(service, instance, route string) string { return instance + "@" + service + ":" + route }

// publisherEndpoint is NewPublisher(...).Endpoint(), failing the test on a configuration error.
func publisherEndpoint(t testing.TB, conn *Conn, to string, enc EncodeRequestFunc, dec DecodeResponseFunc, options ...PublisherOption) endpoint.Endpoint {
	t.Helper()
	p, err := NewPublisher(conn, to, enc, dec, options...)
	if err != nil {
		t.Fatal(err)
	}
	return p.Endpoint()
}

// serve is NewSubscriber(...).ServeMessage, failing the test on a configuration error.
func serve(t testing.TB, e endpoint.Endpoint, dec DecodeRequestFunc, enc EncodeResponseFunc, options ...SubscriberOption) Handler {
	t.Helper()
	s, err := NewSubscriber(e, dec, enc, options...)
	if err != nil {
		t.Fatal(err)
	}
	return s.ServeMessage
}

// Options for the settings that have none, for tests only.
func withProbeInterval(d time.Duration) ConnOption { return func(c *connConfig) { c.probe = d } }
func withCloseGrace(d time.Duration) ConnOption    { return func(c *connConfig) { c.closeGrace = d } }

// withInstances makes the Conn's discovery list the given instance IDs for every service.
func withInstances(ids ...string) ConnOption {
	return func(c *connConfig) {
		c.newInstancer = func(string) (sd.Instancer, error) { return sd.FixedInstancer(ids), nil }
	}
}

// withLookup makes the Conn read the instances of the services that replies are addressed to with
// read.
func withLookup(read func(ctx context.Context, service string) ([]string, error)) ConnOption {
	return func(c *connConfig) { c.lookup = read }
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
