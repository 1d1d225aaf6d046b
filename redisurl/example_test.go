package redisurl_test

import (
	"context"
	"fmt"

	"github.com/alicebob/miniredis/v2"

	"github.com/hydrakit/hydrakit/redisurl"
)

// One helper for every shape: what a -redis flag holds becomes a go-redis UniversalClient.
func Example() {
	m, err := miniredis.Run()
	if err != nil {
		panic(err)
	}
	defer m.Close()

	// One server: a redis:// URL, as go-redis reads it.
	rdb, err := redisurl.NewClient("redis://" + m.Addr() + "/0")
	if err != nil {
		panic(err)
	}
	defer func() { _ = rdb.Close() }()
	ctx := context.Background()
	rdb.Set(ctx, "greeting", "hello", 0)
	fmt.Println(rdb.Get(ctx, "greeting").Val())

	// A cluster from its seeds, and a primary from its sentinels. NewClient does not connect, so
	// these build without servers behind them.
	for _, addr := range []string{
		"10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379",
		"redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster",
	} {
		c, err := redisurl.NewClient(addr)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%T\n", c)
		_ = c.Close()
	}

	// TLS with a private CA and a client certificate; errors wrap ErrConfig and keep passwords out.
	_, err = redisurl.NewClient("rediss://svc:hunter2@redis.internal:6380",
		redisurl.CAFile("/etc/hydrakit/ca.pem"), redisurl.ClientCert("/etc/hydrakit/svc.pem", "/etc/hydrakit/svc-key.pem"))
	fmt.Println(err)
	_, err = redisurl.NewClient("redis://svc:hunter2@redis.internal:6380", redisurl.CAFile("/etc/hydrakit/ca.pem"))
	fmt.Println(err)
	_, err = redisurl.NewClient("redis.internal:6380")
	fmt.Println(err)

	// Output:
	// hello
	// *redis.ClusterClient
	// *redis.Client
	// redisurl: invalid configuration: CA file: open /etc/hydrakit/ca.pem: no such file or directory
	// redisurl: invalid configuration: TLS files need a TLS address (rediss://, rediss+cluster:// or rediss+sentinel://)
	// redisurl: invalid configuration: "redis.internal:6380" has no scheme: write redis://redis.internal:6380 for one server or redis+cluster://redis.internal:6380 for a cluster with one seed
}
