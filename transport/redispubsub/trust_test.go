package redispubsub

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

// signed are the client options of a fleet that signs with secret and requires signatures.
func signed(secret string, previous ...string) []hydrakit.Option {
	return []hydrakit.Option{hydrakit.WithSigning(secret, previous...), hydrakit.WithRequiredSignatures()}
}

// A client that can PUBLISH and PSUBSCRIBE answers every request first. With signatures required
// none of its replies is accepted, and every genuine reply still completes its call.
func TestForgedRepliesRejected(t *testing.T) {
	rdb := pubsubRedis(t)
	service := redistest.Name("calc")
	server, err := NewConn(fleetOn(t, rdb, signed("s3cret")...), service, keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	caller, err := NewConn(fleetOn(t, rdb, signed("s3cret")...), "caller", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ps := rdb.PSubscribe(ctx, keyspace.New().ServiceChannel("*"))
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	var forged atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		wrong := []byte("not-the-secret")
		for m := range ps.Channel() {
			req, err := umf.Unmarshal([]byte(m.Payload))
			if err != nil || req.RMID != "" || req.From == "" {
				continue
			}
			// Half unsigned, half signed with a secret of its own.
			reply := umf.Reply(req, &umf.Message{Body: []byte(`{"V":-1}`)})
			if forged.Load()%2 == 1 {
				_ = umf.Sign(reply, wrong)
			}
			b, _ := reply.Marshal()
			if err := rdb.Publish(ctx, keyspace.New().InstanceChannel("caller", idOf(caller)), b).Err(); err == nil {
				forged.Add(1)
			}
		}
	}()

	e := publisherEndpoint(t, caller, addr(service, idOf(server), "/sum"), EncodeJSONRequest, decodeSumResponse)
	const calls = 200
	for i := range calls {
		resp, err := e(ctxTimeout(t, 5*time.Second), sumRequest{A: i, B: 1})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if want, have := i+1, resp.(sumResponse).V; want != have {
			t.Fatalf("call %d: want %d, have %d (a forged reply was accepted)", i, want, have)
		}
	}
	eventually(t, "every forged reply counted", func() bool {
		return forged.Load() >= calls && caller.Stats().Forged == forged.Load()
	})
	cancel()
	_ = ps.Close()
	wg.Wait()
	if s := caller.Stats(); s.Replies != calls {
		t.Errorf("want %d replies accepted, have %+v", calls, s)
	}
}

// A reply completes a request only when its frm names the instance the request was sent to (for a
// service address, an instance of that service). Anyone else's reply, even with the right rmid and
// arriving first, is dropped as Foreign and the request goes on waiting for its own.
func TestRepliesOnlyFromWhomYouAsked(t *testing.T) {
	rdb := pubsubRedis(t)
	service := redistest.Name("calc")
	server := newConn(t, rdb, service)
	impostor := newConn(t, rdb, service) // another instance of the same service
	stranger := newConn(t, rdb, "other")
	caller := newConn(t, rdb, "caller", withInstances(idOf(server)))

	// The server's handler lets the sender of the test's choice answer first, then answers itself:
	// the caller's one subscription reads the other reply before the genuine one.
	var answerFirst atomic.Pointer[Conn]
	var frm atomic.Pointer[string]
	server.Handle("/sum", func(ctx context.Context, c *Conn, msg *umf.Message) {
		other := answerFirst.Load()
		o := *msg
		o.To = *frm.Load()
		if err := other.Reply(ctx, &o, &umf.Message{Body: []byte(`{"V":-1}`)}); err != nil {
			t.Error(err)
		}
		serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse)(ctx, c, msg)
	})
	for _, tc := range []struct {
		name, to string
		other    *Conn
		frm      string
	}{
		{"another instance of the service, to an instance address", addr(service, idOf(server), "/sum"), impostor, addr(service, idOf(impostor), "/sum")},
		{"another service, to an instance address", addr(service, idOf(server), "/sum"), stranger, addr("other", idOf(server), "/sum")},
		{"another service, to a service address", service + ":/sum", stranger, "other:/sum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answerFirst.Store(tc.other)
			frm.Store(&tc.frm)
			before := caller.Stats().Foreign
			resp, err := publisherEndpoint(t, caller, tc.to, EncodeJSONRequest, decodeSumResponse)(ctxTimeout(t, 10*time.Second), sumRequest{A: 2, B: 3})
			if err != nil {
				t.Fatal(err)
			}
			if want, have := 5, resp.(sumResponse).V; want != have {
				t.Fatalf("want %d, have %d (the other sender's reply was accepted)", want, have)
			}
			if want, have := before+1, caller.Stats().Foreign; want != have {
				t.Errorf("want the other sender's reply dropped as Foreign (%d), have %d", want, have)
			}
		})
	}

	// For a service address any instance of the service may answer.
	server.Handle("/any", func(ctx context.Context, _ *Conn, msg *umf.Message) {
		o := *msg
		o.To = addr(service, idOf(impostor), "/any")
		if err := impostor.Reply(ctx, &o, &umf.Message{Body: []byte(`{"V":7}`)}); err != nil {
			t.Error(err)
		}
	})
	resp, err := publisherEndpoint(t, caller, service+":/any", EncodeJSONRequest, decodeSumResponse)(ctxTimeout(t, 10*time.Second), sumRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if want, have := 7, resp.(sumResponse).V; want != have {
		t.Errorf("want %d, have %d", want, have)
	}
}

// With signatures required, a message signed for another service and moved onto this one's channel
// is dropped as Forged; the same message addressed to this service is handled.
func TestSignedMessageForAnotherServiceDropped(t *testing.T) {
	rdb := pubsubRedis(t)
	service := redistest.Name("calc")
	server, err := NewConn(fleetOn(t, rdb, signed("s3cret")...), service, keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	handled := make(chan string, 2)
	server.Handle("/sum", func(_ context.Context, _ *Conn, msg *umf.Message) { handled <- msg.To })
	channel := keyspace.New().InstanceChannel(service, idOf(server))
	publish := func(to string) {
		m, err := umf.New(to, "x@elsewhere:/", 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := umf.Sign(m, []byte("s3cret")); err != nil {
			t.Fatal(err)
		}
		b, _ := m.Marshal()
		if err := rdb.Publish(context.Background(), channel, b).Err(); err != nil {
			t.Fatal(err)
		}
	}
	publish("billing:/sum")
	publish(idOf(server) + "@" + service + ":/sum")
	select {
	case to := <-handled:
		if to != idOf(server)+"@"+service+":/sum" {
			t.Fatalf("handled a message addressed to %s", to)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the message addressed to the service was not handled")
	}
	if s := server.Stats(); s.Forged != 1 || s.Handled != 1 {
		t.Errorf("want 1 forged and 1 handled, have %+v", s)
	}
}
