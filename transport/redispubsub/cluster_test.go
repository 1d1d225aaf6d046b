package redispubsub

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

// On a cluster the Conn subscribes with SSUBSCRIBE on the master serving its service's hash tag, so
// SPUBLISH's count is true from any node: requests cross shards, a broadcast is counted, and
// ErrNoResponders means that nobody listens.
func TestClusterUsesShardedPubSub(t *testing.T) {
	cluster := redistest.StartCluster(t)
	rdb := cluster.Client(t)
	client := fleetOn(t, rdb)
	keys := client.Keyspace()
	// Two services on different masters.
	other := ""
	for i := 0; other == ""; i++ {
		name := "caller" + strconv.Itoa(i)
		if cluster.NodeForKey(t, keys.ServiceChannel(name)) != cluster.NodeForKey(t, keys.ServiceChannel("calc")) {
			other = name
		}
	}
	server, err := NewConn(client, "calc", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	caller, err := NewConn(client, other, keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()

	ctx := ctxTimeout(t, 10*time.Second)
	home := cluster.NodeForKey(t, keys.ServiceChannel("calc")).Client(t)
	shard, err := home.PubSubShardNumSub(ctx, server.channels[:]...).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range server.channels {
		if want, have := int64(1), shard[ch]; want != have {
			t.Errorf("%s: want %d sharded subscriber on its master, have %d", ch, want, have)
		}
	}
	if plain, err := home.PubSubNumSub(ctx, server.channels[:]...).Result(); err != nil || plain[server.channels[1]] != 0 {
		t.Errorf("want no plain subscriber, have %v (%v)", plain, err)
	}

	sum := publisherEndpoint(t, caller, addr("calc", idOf(server), "/sum"), EncodeJSONRequest, decodeSumResponse)
	for i := range 50 {
		resp, err := sum(ctx, sumRequest{A: i, B: 1})
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if want, have := i+1, resp.(sumResponse).V; want != have {
			t.Fatalf("want %d, have %d", want, have)
		}
	}
	if err := caller.Broadcast(ctx, &umf.Message{To: "calc:/news"}); err != nil {
		t.Errorf("a broadcast to a service with an instance: %v", err)
	}
	ghost := publisherEndpoint(t, caller, addr("calc", keyspace.NewInstanceID(), "/sum"), EncodeJSONRequest, decodeSumResponse)
	if _, err := ghost(ctx, sumRequest{}); !errors.Is(err, ErrNoResponders) {
		t.Errorf("an instance nobody runs: want ErrNoResponders, have %v", err)
	}
	if err := caller.Broadcast(ctx, &umf.Message{To: "nobody:/news"}); !errors.Is(err, ErrNoResponders) {
		t.Errorf("a service nobody runs: want ErrNoResponders, have %v", err)
	}
}
