package balancer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	goredis "github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// saturated makes an instance of calc with one handler slot, taken until the test ends, and returns
// its ID.
func saturated(t *testing.T, rdb goredis.UniversalClient, caller *redispubsub.Conn) string {
	t.Helper()
	id := keyspace.NewInstanceID()
	c, err := redispubsub.NewConn(redistest.Fleet(t, rdb), "calc", id, redispubsub.ConnConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	release, started := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(release); _ = c.Close() })
	c.Handle("/sum", func(ctx context.Context, _ *redispubsub.Conn, _ *umf.Message) {
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	go func() { _, _ = caller.Request(context.Background(), &umf.Message{To: id + "@calc:/sum"}) }()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the blocking request did not arrive")
	}
	return id
}

// A busy instance answers 503 at once: the balancer tries the next instance, and the busy one's
// breaker does not count it (it is alive). With every instance busy the call fails with ErrBusy, not
// its deadline.
func TestBalancerRetriesBusyInstancesElsewhere(t *testing.T) {
	rdb := pubsubRedis(t)
	caller := newConn(t, rdb, "caller", keyspace.NewInstanceID())
	busy := saturated(t, rdb, caller)
	_, free := serveSum(t, rdb, sumEndpoint)
	opened := make(chan string, 16)
	breaker := Breaker(func(instance string) gobreaker.Settings {
		return gobreaker.Settings{
			Name:        instance,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 },
			OnStateChange: func(name string, _, to gobreaker.State) {
				if to == gobreaker.StateOpen {
					opened <- name
				}
			},
		}
	})
	// A deadline far away: only the 503 replies can move the calls on in time.
	e := newBalancer(t, caller, withInstancer(sd.FixedInstancer{busy, free}), Attempts(2), Timeout(time.Minute), breaker).Endpoint()
	for i := range 10 {
		resp, err := e(context.Background(), sumRequest{A: i, B: 1})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if want, have := i+1, resp.(sumResponse).V; want != have {
			t.Fatalf("call %d: want %d, have %d", i, want, have)
		}
	}
	select {
	case name := <-opened:
		t.Errorf("the breaker of %s opened", name)
	default:
	}

	only := newBalancer(t, caller, withInstancer(sd.FixedInstancer{busy}), Attempts(2), Timeout(time.Minute)).Endpoint()
	_, err := only(context.Background(), sumRequest{})
	if !errors.Is(err, redispubsub.ErrBusy) {
		t.Fatalf("want ErrBusy, have %v", err)
	}
	var be *Error
	if !errors.As(err, &be) || len(be.Attempts) != 2 {
		t.Fatalf("want 2 attempts, have %#v", err)
	}
	for _, a := range be.Attempts {
		if !errors.Is(a, redispubsub.ErrBusy) {
			t.Errorf("want every attempt busy, have %v", a)
		}
	}
}

// With signatures required, an instance listed in discovery that does not hold the fleet's secret
// answers no call: its unsigned replies are dropped, its attempts run out of time, and the calls are
// retried on a genuine instance (whose breaker stays closed).
func TestBalancerIgnoresARogueInstance(t *testing.T) {
	rdb := pubsubRedis(t)
	keys := []hydrakit.Option{hydrakit.WithSigning("fleet-secret"), hydrakit.WithRequiredSignatures()}
	callerClient := redistest.Fleet(t, rdb, keys...)
	caller, err := redispubsub.NewConn(callerClient, "caller", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	genuineID, rogueID := keyspace.NewInstanceID(), keyspace.NewInstanceID()
	for _, inst := range []struct {
		id     string
		client *hydrakit.Client
		v      int
	}{
		{genuineID, redistest.Fleet(t, rdb, keys...), 0},
		{rogueID, redistest.Fleet(t, rdb), -1}, // no secret
	} {
		c, err := redispubsub.NewConn(inst.client, "calc", inst.id)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		v := inst.v
		s, err := redispubsub.NewSubscriber(func(_ context.Context, req interface{}) (interface{}, error) {
			r := req.(sumRequest)
			if v < 0 {
				return sumResponse{V: v}, nil
			}
			return sumResponse{V: r.A + r.B}, nil
		}, decodeSumRequest, redispubsub.EncodeJSONResponse)
		if err != nil {
			t.Fatal(err)
		}
		c.Handle("/sum", s.ServeMessage)
	}
	// Each attempt has 1.5 s: the rogue's run out, the genuine instance answers well within its own.
	e := newBalancer(t, caller, withInstancer(sd.FixedInstancer{rogueID, genuineID}), Attempts(2), Timeout(3*time.Second)).Endpoint()
	for i := range 3 {
		resp, err := e(context.Background(), sumRequest{A: i, B: 1})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if want, have := i+1, resp.(sumResponse).V; want != have {
			t.Fatalf("call %d: want %d, have %d (the rogue's reply was accepted)", i, want, have)
		}
	}
	if caller.Stats().Forged == 0 {
		t.Error("want the rogue's replies counted as Forged")
	}
}
