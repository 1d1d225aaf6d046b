package redispubsub_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

type sumRequest struct{ A, B int }

func sum(_ context.Context, req interface{}) (interface{}, error) {
	r := req.(sumRequest)
	if r.A < 0 || r.B < 0 {
		return nil, errors.New("only natural numbers")
	}
	return map[string]int{"v": r.A + r.B}, nil
}

func decodeSumRequest(_ context.Context, m *umf.Message) (interface{}, error) {
	var r sumRequest
	return r, m.DecodeBody(&r)
}

func decodeSumResponse(_ context.Context, m *umf.Message) (interface{}, error) {
	var r struct{ V int }
	return r.V, m.DecodeBody(&r)
}

// A service instance serves an endpoint; a caller reaches it through a Publisher. Package balancer
// calls a service by name, over all of its instances.
func Example() {
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	client, err := hydrakit.NewClient(rdb)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	// Server side: one Conn per instance, created before the instance announces its presence.
	server, err := redispubsub.NewConn(client, "calc", "0123456789abcdef0123456789abcdef")
	if err != nil {
		panic(err)
	}
	defer server.Close()
	sub, err := redispubsub.NewSubscriber(sum, decodeSumRequest, redispubsub.EncodeJSONResponse)
	if err != nil {
		panic(err)
	}
	server.Handle("/sum", sub.ServeMessage)

	// Client side: a Publisher to one instance's route.
	caller, err := redispubsub.NewConn(client, "caller", "fedcba9876543210fedcba9876543210")
	if err != nil {
		panic(err)
	}
	defer caller.Close()
	pub, err := redispubsub.NewPublisher(caller, "0123456789abcdef0123456789abcdef@calc:/sum",
		redispubsub.EncodeJSONRequest, decodeSumResponse)
	if err != nil {
		panic(err)
	}
	v, err := pub.Endpoint()(context.Background(), sumRequest{A: 2, B: 3})
	fmt.Println(v, err)

	_, err = pub.Endpoint()(context.Background(), sumRequest{A: -1})
	var remote *redispubsub.RemoteError
	fmt.Println(errors.As(err, &remote), remote.StatusCode(), remote.Reason)

	// Output:
	// 5 <nil>
	// true 500 only natural numbers
}

// Broadcast reaches every instance of a service; Send one instance, fire-and-forget.
func ExampleConn_Broadcast() {
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	client, err := hydrakit.NewClient(rdb)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	conn, err := redispubsub.NewConn(client, "news", "00000000000000000000000000000001")
	if err != nil {
		panic(err)
	}
	got := make(chan string, 1)
	conn.HandleDefault(func(_ context.Context, _ *redispubsub.Conn, m *umf.Message) {
		if m.Type == "headline" {
			got <- string(m.Body)
		}
	})
	err = conn.Broadcast(context.Background(), &umf.Message{To: "news:/", Type: "headline", Body: []byte(`"hello"`)})
	fmt.Println(<-got, err)
	fmt.Println(conn.Close(), conn.Stats().Handled)

	// Output:
	// "hello" <nil>
	// <nil> 1
}

// With the fleet's secret (hydrakit.WithSigning) every message is signed as Node's
// signMessage('sha256', secret) signs it; with hydrakit.WithRequiredSignatures a Conn drops every
// message and reply without a valid one, and counts it in Stats().Forged.
func Example_signing() {
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	fleet, err := hydrakit.NewClient(rdb, hydrakit.WithSigning("fleet secret"), hydrakit.WithRequiredSignatures())
	if err != nil {
		panic(err)
	}
	defer fleet.Close()
	outsider, err := hydrakit.NewClient(rdb) // no secret
	if err != nil {
		panic(err)
	}
	defer outsider.Close()

	server, err := redispubsub.NewConn(fleet, "calc", "0123456789abcdef0123456789abcdef")
	if err != nil {
		panic(err)
	}
	defer server.Close()
	server.Handle("/ping", func(ctx context.Context, c *redispubsub.Conn, m *umf.Message) {
		_ = c.Reply(ctx, m, &umf.Message{Body: []byte(`"pong"`)})
	})
	member, err := redispubsub.NewConn(fleet, "caller", "fedcba9876543210fedcba9876543210")
	if err != nil {
		panic(err)
	}
	defer member.Close()
	reply, err := member.Request(context.Background(), &umf.Message{To: "0123456789abcdef0123456789abcdef@calc:/ping"})
	fmt.Println(string(reply.Body), reply.Signature != "", err)

	stranger, err := redispubsub.NewConn(outsider, "caller", "00000000000000000000000000000002")
	if err != nil {
		panic(err)
	}
	defer stranger.Close()
	err = stranger.Send(context.Background(), &umf.Message{To: "0123456789abcdef0123456789abcdef@calc:/ping", From: stranger.Address()})
	fmt.Println(err)
	// One subscription delivers in order: once a later request is answered, the stranger's was read.
	_, err = member.Request(context.Background(), &umf.Message{To: "0123456789abcdef0123456789abcdef@calc:/ping"})
	fmt.Println(err, server.Stats().Forged, server.Stats().Handled)

	// Output:
	// "pong" true <nil>
	// <nil>
	// <nil> 1 2
}

// A Conn whose handler slots are all taken (ConnConcurrency) refuses a request at once with a 503
// error reply: the caller gets ErrBusy right away, not its timeout, and can try another instance
// (package balancer does).
func ExampleErrBusy() {
	mr, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	client, err := hydrakit.NewClient(rdb)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	server, err := redispubsub.NewConn(client, "calc", "0123456789abcdef0123456789abcdef", redispubsub.ConnConcurrency(1))
	if err != nil {
		panic(err)
	}
	defer server.Close()
	busy, release := make(chan struct{}), make(chan struct{})
	server.Handle("/slow", func(context.Context, *redispubsub.Conn, *umf.Message) {
		close(busy)
		<-release
	})
	caller, err := redispubsub.NewConn(client, "caller", "fedcba9876543210fedcba9876543210")
	if err != nil {
		panic(err)
	}
	defer caller.Close()
	pub, err := redispubsub.NewPublisher(caller, "0123456789abcdef0123456789abcdef@calc:/slow",
		redispubsub.EncodeJSONRequest, func(context.Context, *umf.Message) (interface{}, error) { return nil, nil })
	if err != nil {
		panic(err)
	}
	go func() { _, _ = pub.Endpoint()(context.Background(), nil) }() // takes the only slot
	<-busy
	_, err = pub.Endpoint()(context.Background(), nil)
	fmt.Println(errors.Is(err, redispubsub.ErrBusy), err)
	close(release)

	// Output:
	// true redispubsub: remote error 503: busy: every handler slot is taken, try another instance or later
}
