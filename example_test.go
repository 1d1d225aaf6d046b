package hydrakit_test

import (
	"fmt"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/keyspace"
)

// One Client per process carries the fleet's key scheme to every component made from it.
func ExampleNewClient() {
	m, _ := miniredis.Run()
	defer m.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
	defer rdb.Close() // yours: the Client never closes it

	client, err := hydrakit.NewClient(rdb, hydrakit.WithKeyspace(keyspace.New(keyspace.WithPrefix("staging"))))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	fmt.Println(client.Keyspace().Presence("greeter", "a1b2"))
	// Output: staging:greeter:a1b2:presence
}
