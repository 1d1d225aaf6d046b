package redispubsub

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/umf"
)

// A handler that calls a service through its own Conn gets its reply: reading goes on while
// handlers run.
func TestHandlerCanRequestThroughItsOwnConn(t *testing.T) {
	client := pubsubRedis(t)
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
	client := pubsubRedis(t)
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

// A request ends with its own deadline, whatever the requests around it wait for: the short one ends
// with DeadlineExceeded while two sent before it, with deadlines a minute away, go on waiting, and
// each of those ends when its own context does. Nothing is left pending.
func TestRequestDeadlinesAreEachTheirOwn(t *testing.T) {
	client := pubsubRedis(t)
	server := newConn(t, client, "silent")
	server.HandleDefault(Handler(func(context.Context, *Conn, *umf.Message) {})) // never replies
	caller := newConn(t, client, "caller")
	to := addr("silent", idOf(server), "/")

	long := publisherEndpoint(t, caller, to, EncodeJSONRequest, decodeSumResponse, PublisherTimeout(time.Minute))
	var cancels []context.CancelFunc
	var ends []chan error
	for range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		end := make(chan error, 1)
		go func() { _, err := long(ctx, sumRequest{}); end <- err }()
		cancels, ends = append(cancels, cancel), append(ends, end)
	}
	eventually(t, "both long requests pending", func() bool { return caller.Stats().Pending == 2 })
	short := publisherEndpoint(t, caller, to, EncodeJSONRequest, decodeSumResponse, PublisherTimeout(50*time.Millisecond))
	if _, err := short(context.Background(), sumRequest{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the short request: want DeadlineExceeded, have %v", err)
	}
	for i, end := range ends {
		select {
		case err := <-end:
			t.Fatalf("long request %d ended with the short one's deadline: %v", i, err)
		default:
		}
	}
	if want, have := 2, caller.Stats().Pending; want != have {
		t.Errorf("pending after the short one: want %d, have %d", want, have)
	}
	for i := range ends {
		cancels[i]()
		if err := receive(t, ends[i], "the cancelled request to end"); !errors.Is(err, context.Canceled) {
			t.Errorf("long request %d: want Canceled, have %v", i, err)
		}
		for j := i + 1; j < len(ends); j++ {
			select {
			case err := <-ends[j]:
				t.Fatalf("long request %d ended with %d's cancel: %v", j, i, err)
			default:
			}
		}
	}
	if want, have := 0, caller.Stats().Pending; want != have {
		t.Errorf("pending: want %d, have %d", want, have)
	}
}

// Request without a deadline on ctx is bounded by DefaultTimeout; with one, by that deadline.
func TestConnRequestHonoursContextDeadline(t *testing.T) {
	client := pubsubRedis(t)
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
