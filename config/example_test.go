package config_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/config"
)

type Settings struct {
	Workers int    `json:"workers"`
	Mode    string `json:"mode"`
}

// A tour: push versions as hydra-cli cfg push does, list them in version order, load one into a
// struct, and follow the latest version as it changes.
func Example() {
	m, _ := miniredis.Run()
	defer m.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
	defer func() { _ = rdb.Close() }()
	client, _ := hydrakit.NewClient(rdb)
	defer func() { _ = client.Close() }()
	ctx := context.Background()
	store, err := config.NewStore(client)
	if err != nil {
		fmt.Println(err)
		return
	}

	_ = store.Put(ctx, "orders", "1.9.0", Settings{Workers: 4, Mode: "safe"})
	_ = store.Put(ctx, "orders", "1.10.0", Settings{Workers: 8, Mode: "fast"})
	versions, _ := store.List(ctx, "orders")
	fmt.Println("versions:", versions) // Node's listConfig would put 1.10.0 first

	var s Settings
	_ = store.Load(ctx, "orders", "1.9.0", &s)
	fmt.Printf("1.9.0: %+v\n", s)

	changes := make(chan config.Event, 1)
	w, err := store.Watch("orders", "", func(e config.Event) { changes <- e }, config.WatchInterval(10*time.Millisecond))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = w.Close() }()
	e := <-changes // the current latest, delivered before Watch returns
	fmt.Println("latest:", e.Version, string(e.Doc))

	_ = store.Put(ctx, "orders", "1.11.0", Settings{Workers: 16, Mode: "fast"})
	e = <-changes
	fmt.Println("reload:", e.Version, string(e.Doc))

	// Output:
	// versions: [1.9.0 1.10.0]
	// 1.9.0: {Workers:4 Mode:safe}
	// latest: 1.10.0 {"workers":8,"mode":"fast"}
	// reload: 1.11.0 {"workers":16,"mode":"fast"}
}
