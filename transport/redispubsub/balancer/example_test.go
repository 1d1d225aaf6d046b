package balancer_test

import (
	"context"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/transport/redispubsub/balancer"
	"github.com/hydrakit/hydrakit/umf"
)

type sumRequest struct{ A, B int }

func sum(_ context.Context, req interface{}) (interface{}, error) {
	r := req.(sumRequest)
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

// An instance of calc serves /sum and registers with sd/redis; a caller calls the service by name.
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

	// The calc instance: its Conn first, then its presence.
	const id = "0123456789abcdef0123456789abcdef"
	server, err := redispubsub.NewConn(client, "calc", id)
	if err != nil {
		panic(err)
	}
	defer server.Close()
	sub, err := redispubsub.NewSubscriber(sum, decodeSumRequest, redispubsub.EncodeJSONResponse)
	if err != nil {
		panic(err)
	}
	server.Handle("/sum", sub.ServeMessage)
	registrar, err := sdredis.NewRegistrar(client, sdredis.Service{Name: "calc", ID: id}, log.NewNopLogger())
	if err != nil {
		panic(err)
	}
	registrar.Register()
	defer registrar.Deregister()

	// The caller: one Conn per process, one Balancer per service and route.
	caller, err := redispubsub.NewConn(client, "caller", "fedcba9876543210fedcba9876543210")
	if err != nil {
		panic(err)
	}
	defer caller.Close()
	b, err := balancer.New(caller, "calc", "/sum", redispubsub.EncodeJSONRequest, decodeSumResponse, balancer.Attempts(2))
	if err != nil {
		panic(err)
	}
	defer b.Close()
	v, err := b.Endpoint()(context.Background(), sumRequest{A: 20, B: 22})
	fmt.Println(v, err)

	// Output:
	// 42 <nil>
}
