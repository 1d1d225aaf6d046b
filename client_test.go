package hydrakit_test

import (
	"errors"
	"testing"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/keyspace"
)

func TestNewClientValidates(t *testing.T) {
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	cluster := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer cluster.Close()
	for name, make := range map[string]func() (*hydrakit.Client, error){
		"nil redis": func() (*hydrakit.Client, error) { return hydrakit.NewClient(nil) },
		"zero keyspace": func() (*hydrakit.Client, error) {
			return hydrakit.NewClient(rdb, hydrakit.WithKeyspace(keyspace.Scheme{}))
		},
		"nil logger":   func() (*hydrakit.Client, error) { return hydrakit.NewClient(rdb, hydrakit.WithLogger(nil)) },
		"nil clock":    func() (*hydrakit.Client, error) { return hydrakit.NewClient(rdb, hydrakit.WithClock(nil)) },
		"empty secret": func() (*hydrakit.Client, error) { return hydrakit.NewClient(rdb, hydrakit.WithSigning("")) },
		"empty previous secret": func() (*hydrakit.Client, error) {
			return hydrakit.NewClient(rdb, hydrakit.WithSigning("s", ""))
		},
		"required without secret": func() (*hydrakit.Client, error) {
			return hydrakit.NewClient(rdb, hydrakit.WithRequiredSignatures())
		},
		"cluster, not safe": func() (*hydrakit.Client, error) {
			return hydrakit.NewClient(cluster, hydrakit.WithKeyspace(keyspace.New()))
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := make()
			if !errors.Is(err, hydrakit.ErrConfig) {
				t.Fatalf("want ErrConfig, have %v", err)
			}
			if c != nil {
				t.Fatal("want no client with an error")
			}
		})
	}
}

func TestNewClientDefaults(t *testing.T) {
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	c, err := hydrakit.NewClient(rdb)
	if err != nil {
		t.Fatal(err)
	}
	if want, have := keyspace.DefaultPrefix, c.Keyspace().Prefix(); want != have {
		t.Errorf("prefix: want %q, have %q", want, have)
	}
	if c.Cluster() || c.Keyspace().IsClusterSafe() {
		t.Error("a single Redis is not a cluster and keeps Hydra's names")
	}
	if c.Redis() != goredis.UniversalClient(rdb) {
		t.Error("Redis() is not the client given")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	cluster := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer cluster.Close()
	cc, err := hydrakit.NewClient(cluster)
	if err != nil {
		t.Fatal(err)
	}
	if !cc.Cluster() || !cc.Keyspace().IsClusterSafe() {
		t.Error("a cluster client defaults to the cluster-safe keyspace")
	}
}

func TestCloseLeavesRedisOpen(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
	defer rdb.Close()
	c, err := hydrakit.NewClient(rdb)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("the go-redis client was closed: %v", err)
	}
}
