package redistest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/redistest"
)

func TestCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t)
	ctx := context.Background()
	rdb := c.Client(t)

	masters := c.Masters(t)
	if want, have := 3, len(masters); want != have {
		t.Fatalf("want %d masters, have %d", want, have)
	}
	if want, have := strings.Join(c.Addrs(), ","), c.Seeds(); want != have {
		t.Errorf("want seeds %q, have %q", want, have)
	}
	if want, have := "redis+cluster://"+c.Seeds(), c.URL(); want != have {
		t.Errorf("want URL %q, have %q", want, have)
	}

	const n = 300
	for i := range n {
		if err := rdb.Set(ctx, fmt.Sprintf("key:%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	total := int64(0)
	for _, m := range masters {
		size := m.Client(t).DBSize(ctx).Val()
		if size == 0 {
			t.Errorf("master %s holds no keys: keys are not spread", m.Addr)
		}
		total += size
	}
	if want, have := int64(n), total; want != have {
		t.Errorf("want %d keys over the masters, have %d", want, have)
	}

	for _, key := range []string{"key:1", "key:299", "{svc}:a", "x{svc}:b", "{}:empty-tag", "{", "a{b"} {
		want := rdb.ClusterKeySlot(ctx, key).Val()
		if have := int64(redistest.Slot(key)); want != have {
			t.Errorf("Slot(%q): want %d (CLUSTER KEYSLOT), have %d", key, want, have)
		}
	}
	owner := c.NodeForKey(t, "key:7")
	if want, have := int64(1), owner.Client(t).Exists(ctx, "key:7").Val(); want != have {
		t.Errorf("NodeForKey: key:7 not on %s", owner.Addr)
	}
}

func TestClusterShardedPubSub(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t)
	ctx := context.Background()
	rdb := c.Client(t)

	const channel = "{svc}:in"
	sub := rdb.SSubscribe(ctx, channel)
	defer func() { _ = sub.Close() }()
	if _, err := sub.Receive(ctx); err != nil { // the subscription confirmation
		t.Fatal(err)
	}
	owner := c.NodeForKey(t, channel)
	subs := owner.Client(t).PubSubShardNumSub(ctx, channel).Val()
	if want, have := int64(1), subs[channel]; want != have {
		t.Errorf("want %d subscriber on the shard %s, have %d", want, owner.Addr, have)
	}

	if want, have := int64(1), rdb.SPublish(ctx, channel, "hello").Val(); want != have {
		t.Errorf("want SPUBLISH to count %d receiver, have %d", want, have)
	}
	select {
	case m := <-sub.Channel():
		if m.Channel != channel || m.Payload != "hello" {
			t.Errorf("want hello on %s, have %q on %s", channel, m.Payload, m.Channel)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message on the sharded channel")
	}
}

func TestClusterMutualTLSWithACLUser(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, redistest.MutualTLS(),
		redistest.ACLUser("svc", "pw", "~{svc}:*", "&{svc}:*", "-@all", "+@connection", "+cluster|slots",
			"+cluster|shards", "+@read", "+@write", "+@pubsub"))
	if want := "rediss+cluster://"; !strings.HasPrefix(c.URL(), want) {
		t.Errorf("want URL %s..., have %q", want, c.URL())
	}
	ctx := context.Background()
	rdb := c.ClientAs(t, "svc")
	for i := range 30 {
		if err := rdb.Set(ctx, fmt.Sprintf("{svc}:%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.Set(ctx, "other", 1, 0).Err(); err == nil {
		t.Error("want a key outside the user's pattern refused")
	}

	noCert := c.TLSConfig()
	noCert.Certificates = nil
	refused := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.Addrs(), TLSConfig: noCert, MaxRetries: -1, DialerRetries: 1})
	defer func() { _ = refused.Close() }()
	if err := refused.Ping(ctx).Err(); err == nil {
		t.Error("want a client without a certificate refused")
	}
}

func TestClusterReplicas(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, redistest.ClusterReplicas(1))
	if want, have := 6, len(c.Nodes()); want != have {
		t.Fatalf("want %d nodes, have %d", want, have)
	}
	masters := c.Masters(t)
	if want, have := 3, len(masters); want != have {
		t.Fatalf("want %d masters, have %d", want, have)
	}
	ctx := context.Background()
	rdb := c.Client(t)
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	owner := c.NodeForKey(t, "k")
	if want, have := int64(1), owner.Client(t).Wait(ctx, 1, time.Second).Val(); want != have {
		t.Errorf("want the write on %d replica of %s, have %d", want, owner.Addr, have)
	}
}
