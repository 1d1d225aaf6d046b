package redispubsub

import (
	"context"
	"errors"
	"strings"
	"sync"
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

// pubsubRedis is a Redis for the tests of the Conn's own logic, which any server that speaks pub/sub
// serves: a real one, or, under -short (make test-short), miniredis. The tests of what depends on a
// real server (restarts, CLIENT KILL, subscription confirmations, clusters) take redistest's.
func pubsubRedis(t testing.TB) *goredis.Client {
	t.Helper()
	if testing.Short() {
		_, rdb := redistest.Mini(t)
		return rdb
	}
	return redistest.Client(t)
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

// eventually polls cond, for states that nothing announces, until it holds or 30 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receive waits for a value on ch, failing the test if none comes within 10 s.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// waitGroup waits for wg, failing the test if that takes a minute: something is stuck.
func waitGroup(t testing.TB, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
