package balancer

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	goredis "github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
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
	return r, msg.DecodeBody(&r)
}

func decodeSumResponse(_ context.Context, msg *umf.Message) (interface{}, error) {
	var r sumResponse
	return r, msg.DecodeBody(&r)
}

// pubsubRedis is a Redis for the tests of the balancer's own logic, which any server that speaks
// pub/sub serves: a real one, or, under -short (make test-short), miniredis. The tests of outages take
// redistest's real one.
func pubsubRedis(t *testing.T) *goredis.Client {
	t.Helper()
	if testing.Short() {
		_, rdb := redistest.Mini(t)
		return rdb
	}
	return redistest.Client(t)
}

// newConn opens a Conn on a fleet client of its own, closed at the end of the test.
func newConn(t *testing.T, rdb goredis.UniversalClient, service, id string) *redispubsub.Conn {
	t.Helper()
	c, err := redispubsub.NewConn(redistest.Fleet(t, rdb), service, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// serveSum makes an instance of calc serving /sum with e, and returns its ID.
func serveSum(t *testing.T, rdb goredis.UniversalClient, e endpoint.Endpoint) (*redispubsub.Conn, string) {
	t.Helper()
	id := keyspace.NewInstanceID()
	c := newConn(t, rdb, "calc", id)
	s, err := redispubsub.NewSubscriber(e, decodeSumRequest, redispubsub.EncodeJSONResponse)
	if err != nil {
		t.Fatal(err)
	}
	c.Handle("/sum", s.ServeMessage)
	return c, id
}

// withInstancer replaces discovery with a fixed list, for tests only.
func withInstancer(in sd.Instancer) Option { return func(c *config) { c.instancer = in } }

func newBalancer(t *testing.T, conn *redispubsub.Conn, options ...Option) *Balancer {
	t.Helper()
	b, err := New(conn, "calc", "/sum", redispubsub.EncodeJSONRequest, decodeSumResponse, options...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// Real Redis only: on miniredis the callers' PUBLISHes share pipelines so evenly that they take turns
// in lockstep on the round robin, and a call can spend its attempts on the dead instances.
func TestBalancerSurvivesAnInstanceGoingAway(t *testing.T) {
	rdb := redistest.Client(t)
	caller := newConn(t, rdb, "caller", keyspace.NewInstanceID())
	var ids []string
	var servers []*redispubsub.Conn
	for range 3 {
		s, id := serveSum(t, rdb, sumEndpoint)
		servers = append(servers, s)
		ids = append(ids, id)
	}
	ids = append(ids, keyspace.NewInstanceID()) // listed but never there: ErrNoResponders, next
	e := newBalancer(t, caller, withInstancer(sd.FixedInstancer(ids)), Attempts(4), Timeout(5*time.Second)).Endpoint()

	var failed, done atomic.Int32
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				resp, err := e(context.Background(), sumRequest{A: g, B: i})
				if err != nil || resp.(sumResponse).V != g+i {
					failed.Add(1)
					t.Log(err)
				}
				if done.Add(1) == 100 {
					_ = servers[0].Close() // one instance dies mid-traffic
				}
			}
		}()
	}
	wg.Wait()
	if want, have := int32(0), failed.Load(); want != have {
		t.Errorf("failed requests: want %d, have %d", want, have)
	}
}

func TestBalancerDoesNotRetryRemoteErrors(t *testing.T) {
	rdb := pubsubRedis(t)
	caller := newConn(t, rdb, "caller", keyspace.NewInstanceID())
	var calls atomic.Int32
	var ids []string
	for range 2 {
		_, id := serveSum(t, rdb, func(ctx context.Context, req interface{}) (interface{}, error) {
			calls.Add(1)
			return sumEndpoint(ctx, req)
		})
		ids = append(ids, id)
	}
	b := newBalancer(t, caller, withInstancer(sd.FixedInstancer(ids)))
	_, err := b.Endpoint()(context.Background(), sumRequest{A: -1})
	var re *redispubsub.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("want a *RemoteError through errors.As, have %v", err)
	}
	var be *Error
	if !errors.As(err, &be) || len(be.Attempts) != 1 {
		t.Errorf("want an *Error with one attempt, have %#v", err)
	}
	if want, have := int32(1), calls.Load(); want != have {
		t.Errorf("endpoint calls: want %d, have %d", want, have)
	}
}

// What a failed call returns: an *Error whose Err is the last attempt's error, the context's, or
// ErrClosed, each reachable with errors.Is.
func TestBalancerErrors(t *testing.T) {
	rdb := pubsubRedis(t)
	caller := newConn(t, rdb, "caller", keyspace.NewInstanceID())

	none := newBalancer(t, caller, withInstancer(sd.FixedInstancer{}), Attempts(2))
	_, err := none.Endpoint()(context.Background(), sumRequest{})
	var be *Error
	if !errors.Is(err, lb.ErrNoEndpoints) || !errors.As(err, &be) {
		t.Errorf("no instances: want an *Error wrapping lb.ErrNoEndpoints, have %v", err)
	} else if want, have := 8, len(be.Attempts); want != have { // instant failures: 4× Attempts
		t.Errorf("attempts: want %d, have %d", want, have)
	}

	// A gone instance fails at once: retried up to 4× Attempts. Its breaker stays closed: the
	// instance is not there, round robin moves on, and discovery drops it.
	gone := newBalancer(t, caller, withInstancer(sd.FixedInstancer{keyspace.NewInstanceID()}), Attempts(1),
		Breaker(func(instance string) gobreaker.Settings {
			return gobreaker.Settings{Name: instance, ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 }}
		}))
	_, err = gone.Endpoint()(context.Background(), sumRequest{})
	if !errors.Is(err, redispubsub.ErrNoResponders) || !errors.As(err, &be) {
		t.Errorf("a gone instance: want an *Error wrapping ErrNoResponders, have %v", err)
	} else if len(be.Attempts) != 4 {
		t.Errorf("a gone instance: want 4 attempts, have %v", be.Attempts)
	}

	silentID := keyspace.NewInstanceID()
	silent := newConn(t, rdb, "calc", silentID)
	silent.HandleDefault(func(context.Context, *redispubsub.Conn, *umf.Message) {}) // never replies
	slow := newBalancer(t, caller, withInstancer(sd.FixedInstancer{silentID}), Attempts(2), Timeout(200*time.Millisecond))
	_, err = slow.Endpoint()(context.Background(), sumRequest{})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &be) {
		t.Errorf("no answer: want an *Error wrapping DeadlineExceeded, have %v", err)
	}
	// An instance that listens but does not answer is what a breaker is for: it opens, and the
	// next call fails at once.
	hung := newBalancer(t, caller, withInstancer(sd.FixedInstancer{silentID}), Attempts(1),
		PublisherOptions(redispubsub.PublisherTimeout(100*time.Millisecond)), // ends before the call's Timeout
		Breaker(func(instance string) gobreaker.Settings {
			return gobreaker.Settings{Name: instance, ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 2 }}
		}))
	for range 2 {
		if _, err := hung.Endpoint()(context.Background(), sumRequest{}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a hung instance: want DeadlineExceeded, have %v", err)
		}
	}
	if _, err := hung.Endpoint()(context.Background(), sumRequest{}); !errors.Is(err, gobreaker.ErrOpenState) {
		t.Errorf("a hung instance after 2 timeouts: want ErrOpenState, have %v", err)
	}

	if err := none.Close(); err != nil {
		t.Fatal(err)
	}
	if err := none.Close(); err != nil {
		t.Errorf("a second Close: want nil, have %v", err)
	}
	if _, err := none.Endpoint()(context.Background(), sumRequest{}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: want ErrClosed, have %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	rdb := pubsubRedis(t)
	caller := newConn(t, rdb, "caller", keyspace.NewInstanceID())
	enc, dec := redispubsub.EncodeJSONRequest, redispubsub.DecodeResponseFunc(decodeSumResponse)
	fixed := withInstancer(sd.FixedInstancer{})
	for _, tc := range []struct {
		name    string
		conn    *redispubsub.Conn
		service string
		route   string
		enc     redispubsub.EncodeRequestFunc
		dec     redispubsub.DecodeResponseFunc
		opts    []Option
		also    error
	}{
		{"nil conn", nil, "calc", "/sum", enc, dec, nil, nil},
		{"bad service", caller, "a b", "/sum", enc, dec, nil, keyspace.ErrInvalidName},
		{"bad route", caller, "calc", "[get/sum", enc, dec, nil, redispubsub.ErrBadAddress},
		{"nil encoder", caller, "calc", "/sum", nil, dec, nil, redispubsub.ErrConfig},
		{"nil decoder", caller, "calc", "/sum", enc, nil, nil, redispubsub.ErrConfig},
		{"zero attempts", caller, "calc", "/sum", enc, dec, []Option{Attempts(0)}, nil},
		{"zero timeout", caller, "calc", "/sum", enc, dec, []Option{Timeout(0)}, nil},
		{"nil breaker", caller, "calc", "/sum", enc, dec, []Option{Breaker(nil)}, nil},
		{"nil option", caller, "calc", "/sum", enc, dec, []Option{nil}, nil},
		{"bad publisher option", caller, "calc", "/sum", enc, dec,
			[]Option{PublisherOptions(redispubsub.PublisherTimeout(-time.Second))}, redispubsub.ErrConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(tc.conn, tc.service, tc.route, tc.enc, tc.dec, append(tc.opts, fixed)...)
			if err == nil {
				_ = b.Close()
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("want ErrConfig, have %v", err)
			}
			if tc.also != nil && !errors.Is(err, tc.also) {
				t.Errorf("want %v too, have %v", tc.also, err)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	last := errors.New("b")
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{&Error{Err: ErrClosed}, "balancer: closed"},
		{&Error{Err: last, Attempts: []error{last}}, "b"},
		{&Error{Err: last, Attempts: []error{errors.New("a"), last}}, "b (after 2 attempts: a; b)"},
	} {
		if have := tc.err.Error(); tc.want != have {
			t.Errorf("want %q, have %q", tc.want, have)
		}
	}
}

// A call made at once after New finds the instances discovery already lists: go-kit's Endpointer
// takes its first event on a goroutine of its own, and New waits for it.
func TestFirstCallAfterNew(t *testing.T) {
	rdb := pubsubRedis(t)
	caller := newConn(t, rdb, "caller", keyspace.NewInstanceID())
	_, id := serveSum(t, rdb, sumEndpoint)
	for i := range 20 {
		b := newBalancer(t, caller, withInstancer(sd.FixedInstancer([]string{id})), Attempts(1))
		if _, err := b.Endpoint()(context.Background(), sumRequest{A: i}); err != nil {
			t.Fatalf("call %d right after New: %v", i, err)
		}
		_ = b.Close()
	}
}
