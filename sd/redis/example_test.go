package redis_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// A service registers itself, a client follows it with an Instancer, and sees it leave.
func Example() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	client, err := hydrakit.NewClient(rdb)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	logger := log.NewNopLogger()

	registrar, err := sdredis.NewRegistrar(client, sdredis.Service{Name: "stringsvc", IP: "10.0.0.5", Port: 8080, Version: "1.0.0"}, logger)
	if err != nil {
		panic(err)
	}
	registrar.Register()

	instancer, err := sdredis.NewInstancer(client, "stringsvc", logger)
	if err != nil {
		panic(err)
	}
	defer instancer.Stop()
	events := make(chan sd.Event, 1)
	instancer.Register(events)
	defer instancer.Deregister(events)
	fmt.Println("live:", (<-events).Instances)

	registrar.Deregister() // announced: the Instancer hears of it in milliseconds
	select {
	case ev := <-events:
		fmt.Println("live:", ev.Instances)
	case <-time.After(10 * time.Second):
		fmt.Println("no event")
	}
	// Output:
	// live: [10.0.0.5:8080]
	// live: []
}

// ListInstances reads a service's live instances once, for tools and dashboards.
func ExampleListInstances() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	client, err := hydrakit.NewClient(rdb)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	registrar, _ := sdredis.NewRegistrar(client, sdredis.Service{Name: "stringsvc", ID: "0123abcd", IP: "10.0.0.5", Port: 8080}, nil)
	registrar.Register()
	defer registrar.Deregister()

	instances, err := sdredis.ListInstances(context.Background(), client, "stringsvc")
	if err != nil {
		panic(err)
	}
	for _, in := range instances {
		fmt.Println(in.ID, in.Service, in.Addr())
	}
	// Output:
	// 0123abcd stringsvc 10.0.0.5:8080
}
