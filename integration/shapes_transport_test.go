package integration

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/transport/redispubsub/balancer"
	"github.com/hydrakit/hydrakit/umf"
)

// shapeCheckTransport runs the pub/sub transport on a shape: two instances of a service serve an
// endpoint; a caller on another service reaches them by name through the balancer (one attempt, so
// nothing may run twice) and by instance address through a Publisher, and a broadcast reaches each
// instance exactly once.
func shapeCheckTransport(t *testing.T, env *shapeEnv, round string) {
	ctx := t.Context()
	svc := shapeService("transport", round)
	var handled atomic.Int64
	broadcasts := make(chan string, 8)
	var ids []string
	for range 2 {
		reg, err := sdredis.NewRegistrar(env.fleet, sdredis.Service{Name: svc}, nil, sdredis.RegistrarJanitorGrace(0))
		if err != nil {
			t.Fatal(err)
		}
		conn, err := redispubsub.NewConn(env.fleet, svc, reg.ID())
		if err != nil {
			t.Fatal(err)
		}
		sub, err := redispubsub.NewSubscriber(func(_ context.Context, req any) (any, error) {
			handled.Add(1)
			return req, nil
		}, func(_ context.Context, m *umf.Message) (any, error) {
			var v map[string]int
			return v, m.DecodeBody(&v)
		}, redispubsub.EncodeJSONResponse)
		if err != nil {
			t.Fatal(err)
		}
		id := reg.ID()
		conn.Handle("/echo", sub.ServeMessage)
		conn.HandleDefault(func(_ context.Context, _ *redispubsub.Conn, m *umf.Message) { broadcasts <- id })
		reg.Register()
		t.Cleanup(func() { reg.Deregister(); _ = conn.Close() })
		ids = append(ids, id)
	}

	caller, err := redispubsub.NewConn(env.fleet, shapeService("transport-caller", round), keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	dec := func(_ context.Context, m *umf.Message) (any, error) {
		var v map[string]int
		return v, m.DecodeBody(&v)
	}
	b, err := balancer.New(caller, svc, "/echo", redispubsub.EncodeJSONRequest, dec, balancer.Attempts(1))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// Both instances are found before the calls: the balancer's first lookup may predate the second.
	shapeEventually(t, 10*time.Second, "both instances discovered", func() string {
		live, err := sdredis.ListInstances(ctx, env.fleet, svc)
		if err != nil || len(live) != 2 {
			return "instances not listed yet"
		}
		return ""
	})
	const calls = 50
	for i := range calls {
		resp, err := b.Endpoint()(ctx, map[string]int{"n": i})
		if err != nil {
			t.Fatalf("call %d through the balancer: %v", i, err)
		}
		if resp.(map[string]int)["n"] != i {
			t.Fatalf("call %d: reply %v", i, resp)
		}
	}
	pub, err := redispubsub.NewPublisher(caller, ids[1]+"@"+svc+":/echo", redispubsub.EncodeJSONRequest, dec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Endpoint()(ctx, map[string]int{"n": -1}); err != nil {
		t.Fatalf("Publisher to one instance: %v", err)
	}
	if want, have := int64(calls+1), handled.Load(); want != have {
		t.Errorf("handler runs: want %d (one per call), have %d", want, have)
	}

	if err := caller.Broadcast(ctx, &umf.Message{To: svc + ":/news", From: caller.Address(), Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for range 2 {
		select {
		case id := <-broadcasts:
			got[id]++
		case <-time.After(5 * time.Second):
			t.Fatalf("broadcast reached %v of %v", got, ids)
		}
	}
	if got[ids[0]] != 1 || got[ids[1]] != 1 {
		t.Errorf("broadcast: want each instance once, have %v", got)
	}
}
