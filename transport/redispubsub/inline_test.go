package redispubsub

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/umf"
)

// everyReadIdle makes every read count as one that waited, so that a Conn with nothing else running
// handles inline however the scheduler timed the read.
func everyReadIdle(c *Conn) { c.idleRead = 0 }

// A handler running inline on the reading goroutine that calls a service through its own Conn would
// wait for a reply nobody reads. With the watchdog out of the way (an hour), only the hand-off in
// request can make the nested call return.
func TestInlineHandlerCanRequestThroughItsOwnConn(t *testing.T) {
	client := redistest.Client(t)
	conn := newConn(t, client, "chain", ConnHandOffAfter(time.Hour), everyReadIdle)
	conn.Handle("/sum", NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	inner := NewPublisher(conn, InstanceAddress("chain", conn.InstanceID(), "/sum"), EncodeJSONRequest, decodeSumResponse).Endpoint()
	conn.Handle("/double-sum", NewSubscriber(func(ctx context.Context, req interface{}) (interface{}, error) {
		resp, err := inner(ctx, req)
		if err != nil {
			return nil, err
		}
		return sumResponse{V: 2 * resp.(sumResponse).V}, nil
	}, decodeSumRequest, EncodeJSONResponse))

	caller := newConn(t, client, "caller")
	outer := NewPublisher(caller, InstanceAddress("chain", conn.InstanceID(), "/double-sum"), EncodeJSONRequest, decodeSumResponse).Endpoint()
	for i := range 20 {
		resp, err := outer(ctxTimeout(t, 5*time.Second), sumRequest{A: i, B: 1})
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if want, have := 2*(i+1), resp.(sumResponse).V; want != have {
			t.Fatalf("want %d, have %d", want, have)
		}
	}
	if have := conn.Stats().HandOffs; have == 0 {
		t.Error("want the nested requests to take reading over from the inline handler, have no hand-off")
	}
}

// A handler that blocks must not hold up the messages behind it: on an idle Conn it runs inline, and
// the watchdog hands reading on after ConnHandOffAfter.
func TestBlockedInlineHandlerDoesNotHoldUpReading(t *testing.T) {
	for _, tc := range []struct {
		name         string
		handOffAfter time.Duration
		wantHandOffs bool
	}{
		{"watchdog", 20 * time.Millisecond, true},
		{"always hand off", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := redistest.Client(t)
			server := newConn(t, client, "calc", ConnHandOffAfter(tc.handOffAfter), everyReadIdle)
			server.Handle("/sum", NewSubscriber(sumEndpoint, decodeSumRequest, EncodeJSONResponse))
			release := make(chan struct{})
			defer close(release)
			server.Handle("/block", HandlerFunc(func(ctx context.Context, _ *Conn, _ *umf.Message) {
				select {
				case <-release:
				case <-ctx.Done():
				}
			}))
			caller := newConn(t, client, "caller")
			if err := caller.Send(context.Background(), &umf.Message{To: InstanceAddress("calc", server.InstanceID(), "/block")}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the blocking handler to start", func() bool { return server.Stats().Handled == 1 })

			sum := NewPublisher(caller, InstanceAddress("calc", server.InstanceID(), "/sum"), EncodeJSONRequest, decodeSumResponse).Endpoint()
			resp, err := sum(ctxTimeout(t, 5*time.Second), sumRequest{A: 40, B: 2})
			if err != nil {
				t.Fatalf("a message behind a blocked handler: %v", err)
			}
			if want, have := 42, resp.(sumResponse).V; want != have {
				t.Errorf("want %d, have %d", want, have)
			}
			if have := server.Stats().HandOffs > 0; have != tc.wantHandOffs {
				t.Errorf("hand-offs: want %v, have %d", tc.wantHandOffs, server.Stats().HandOffs)
			}
		})
	}
}

// The Conn enforces request deadlines with one timer: requests with different timeouts, sent in
// another order, each end with DeadlineExceeded, the shortest first, and leave nothing pending.
func TestRequestDeadlinesExpireInOrder(t *testing.T) {
	client := redistest.Client(t)
	server := newConn(t, client, "silent")
	server.HandleDefault(HandlerFunc(func(context.Context, *Conn, *umf.Message) {})) // never replies
	caller := newConn(t, client, "caller")
	to := InstanceAddress("silent", server.InstanceID(), "/")

	timeouts := []time.Duration{600 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}
	done := make(chan time.Duration, len(timeouts))
	for _, d := range timeouts {
		e := NewPublisher(caller, to, EncodeJSONRequest, decodeSumResponse, PublisherTimeout(d)).Endpoint()
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
	server.HandleDefault(HandlerFunc(func(context.Context, *Conn, *umf.Message) {}))
	caller := newConn(t, client, "caller")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := caller.Request(ctx, &umf.Message{To: InstanceAddress("silent", server.InstanceID(), "/")})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want DeadlineExceeded, have %v", err)
	}
}
