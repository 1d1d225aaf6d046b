package keyspace_test

import (
	"fmt"

	"github.com/hydrakit/hydrakit/keyspace"
)

func Example() {
	svc, err := keyspace.ValidateService("Orders")
	if err != nil {
		panic(err)
	}
	hydra := keyspace.New()
	fmt.Println(hydra.Presence(svc, "0123abcd"))
	fmt.Println(hydra.InstanceChannel(svc, "0123abcd"))

	// A fleet of hydrakit services only, on Redis Cluster: every key of one service in one slot.
	cluster := keyspace.New(keyspace.ClusterSafe())
	fmt.Println(cluster.QueueReceived(svc))
	// Output:
	// hydra:service:orders:0123abcd:presence
	// hydra:service:mc:orders:0123abcd
	// hydra:service:{orders}:mqrecieved
}
