package router_test

import (
	"net/http"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/router"
)

// A router in a program of its own: it registers as hydra-router and routes to whatever the fleet
// registered.
func ExampleNew() {
	client, err := hydrakit.NewClient(goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"}))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	r, err := router.New(client, router.RouterAdvertise("10.0.0.5", 5353))
	if err != nil {
		panic(err)
	}
	defer r.Close()
	http.ListenAndServe(":5353", r)
}
