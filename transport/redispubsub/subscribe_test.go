package redispubsub

import (
	"context"
	"testing"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

// NewConn returns only once Redis confirmed both subscriptions, so an instance that announces its
// presence right after it can receive every message sent to it (Node Hydra announces first).
func TestNewConnReturnsSubscribed(t *testing.T) {
	client := redistest.Client(t)
	for range 20 {
		c := newConn(t, client, "subfirst")
		counts, err := client.PubSubNumSub(context.Background(),
			keyspace.New().ServiceChannel("subfirst"), keyspace.New().InstanceChannel("subfirst", idOf(c))).Result()
		if err != nil {
			t.Fatal(err)
		}
		if want, have := int64(1), counts[keyspace.New().InstanceChannel("subfirst", idOf(c))]; want != have {
			t.Fatalf("instance channel: want %d subscriber right after NewConn, have %d", want, have)
		}
		if have := counts[keyspace.New().ServiceChannel("subfirst")]; have < 1 {
			t.Fatalf("service channel: no subscriber right after NewConn")
		}
		_ = c.Close()
	}
}
