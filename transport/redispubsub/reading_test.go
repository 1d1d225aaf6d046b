package redispubsub

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/umf"
)

// A handler that calls a service through its own Conn gets its reply: reading goes on while
// handlers run.
func TestHandlerCanRequestThroughItsOwnConn(t *testing.T) {
	client := redistest.Client(t)
	conn := newConn(t, client, "chain")
	conn.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	inner := publisherEndpoint(t, conn, addr("chain", idOf(conn), "/sum"), EncodeJSONRequest, decodeSumResponse)
	conn.Handle("/double-sum", serve(t, func(ctx context.Context, req interface{}) (interface{}, error) {
		resp, err := inner(ctx, req)
		if err != nil {
			return nil, err
		}
		return sumResponse{V: 2 * resp.(sumResponse).V}, nil
	}, decodeSumRequest, EncodeJSONResponse))

	caller := newConn(t, client, "caller")
	outer := publisherEndpoint(t, caller, addr("chain", idOf(conn), "/double-sum"), EncodeJSONRequest, decodeSumResponse)
	for i := range 20 {
		resp, err := outer(ctxTimeout(t, 5*time.Second), sumRequest{A: i, B: 1})
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if want, have := 2*(i+1), resp.(sumResponse).V; want != have {
			t.Fatalf("want %d, have %d", want, have)
		}
	}
}

// A handler that blocks does not hold up the messages behind it.
func TestBlockedHandlerDoesNotHoldUpReading(t *testing.T) {
	client := redistest.Client(t)
	server := newConn(t, client, "calc")
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	release := make(chan struct{})
	defer close(release)
	server.Handle("/block", func(ctx context.Context, _ *Conn, _ *umf.Message) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	caller := newConn(t, client, "caller")
	if err := caller.Send(context.Background(), &umf.Message{To: addr("calc", idOf(server), "/block")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the blocking handler to start", func() bool { return server.Stats().Handled == 1 })
	sum := publisherEndpoint(t, caller, addr("calc", idOf(server), "/sum"), EncodeJSONRequest, decodeSumResponse)
	resp, err := sum(ctxTimeout(t, 5*time.Second), sumRequest{A: 40, B: 2})
	if err != nil {
		t.Fatalf("a message behind a blocked handler: %v", err)
	}
	if want, have := 42, resp.(sumResponse).V; want != have {
		t.Errorf("want %d, have %d", want, have)
	}
}

// Requests with different timeouts, sent in another order, each end with DeadlineExceeded, the
// shortest first, and leave nothing pending.
func TestRequestDeadlinesExpireInOrder(t *testing.T) {
	client := redistest.Client(t)
	server := newConn(t, client, "silent")
	server.HandleDefault(Handler(func(context.Context, *Conn, *umf.Message) {})) // never replies
	caller := newConn(t, client, "caller")
	to := addr("silent", idOf(server), "/")

	timeouts := []time.Duration{600 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}
	done := make(chan time.Duration, len(timeouts))
	for _, d := range timeouts {
		e := publisherEndpoint(t, caller, to, EncodeJSONRequest, decodeSumResponse, PublisherTimeout(d))
		go func() {
			if _, err := e(context.Background(), sumRequest{}); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("timeout %v: want DeadlineExceeded, have %v", d, err)
			}
			done <- d
		}()
	}
	for _, want := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 600 * time.Millisecond} {
		select {
		case have := <-done:
			if want != have {
				t.Errorf("want the %v request to end next, have %v", want, have)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a request outlived its deadline")
		}
	}
	if want, have := 0, caller.Stats().Pending; want != have {
		t.Errorf("pending: want %d, have %d", want, have)
	}
}

// Request without a deadline on ctx is bounded by DefaultTimeout; with one, by that deadline.
func TestConnRequestHonoursContextDeadline(t *testing.T) {
	client := redistest.Client(t)
	server := newConn(t, client, "silent")
	server.HandleDefault(Handler(func(context.Context, *Conn, *umf.Message) {}))
	caller := newConn(t, client, "caller")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := caller.Request(ctx, &umf.Message{To: addr("silent", idOf(server), "/")})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want DeadlineExceeded, have %v", err)
	}
}
