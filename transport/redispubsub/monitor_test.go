package redispubsub

import (
	"bytes"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

// resubscriptions returns a channel that receives after every resubscription of c.
func resubscriptions(t *testing.T, c *Conn) <-chan struct{} {
	ch := make(chan struct{}, 8)
	t.Cleanup(c.onResubscribe(func() { ch <- struct{}{} }))
	return ch
}

func await(t *testing.T, ch <-chan struct{}, within time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(within):
		t.Fatalf("no %s within %v", what, within)
	}
}

// A managed Redis's endpoint (or a Sentinel failover) moves the client to another server while the
// old one stays up and keeps the subscription: the monitor's probe, published through the client,
// reaches nobody, and the Conn subscribes anew where the client now publishes, instead of waiting
// for the old server to drop it.
func TestResubscribesWhereTheClientPublishes(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	var target atomic.Pointer[string]
	target.Store(&a.Addr)
	rdb := goredis.NewClient(&goredis.Options{Addr: a.Addr, Dialer: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", *target.Load())
	}})
	t.Cleanup(func() { _ = rdb.Close() })
	server := newConn(t, rdb, "calc", withProbeInterval(200*time.Millisecond))
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	moved := resubscriptions(t, server)

	target.Store(&b.Addr)
	// The client's pooled connections to a die; its subscription there lives on.
	if err := a.Client(t).ClientKillByFilter(context.Background(), "TYPE", "normal").Err(); err != nil {
		t.Fatal(err)
	}
	await(t, moved, 5*time.Second, "resubscription")

	caller := newConn(t, b.Client(t), "caller")
	sum := publisherEndpoint(t, caller, addr("calc", idOf(server), "/sum"), EncodeJSONRequest, decodeSumResponse)
	if _, err := sum(ctxTimeout(t, 5*time.Second), sumRequest{A: 1, B: 2}); err != nil {
		t.Fatalf("a request on the server the client moved to: %v", err)
	}
}

// freezer makes the subscription connections it dialed so far silent (half-open, as after a network
// partition): reads block until the connection is closed.
type freezer struct {
	dialed, frozenBelow atomic.Int64
}

func (f *freezer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &freezable{Conn: c, f: f, id: f.dialed.Add(1), closed: make(chan struct{})}, nil
}

func (f *freezer) freeze() { f.frozenBelow.Store(f.dialed.Load() + 1) }

type freezable struct {
	net.Conn
	f      *freezer
	id     int64
	sub    atomic.Bool
	closed chan struct{}
	once   sync.Once
}

func (c *freezable) Write(b []byte) (int, error) {
	if bytes.Contains(bytes.ToLower(b), []byte("subscribe")) {
		c.sub.Store(true)
	}
	return c.Conn.Write(b)
}

func (c *freezable) Read(b []byte) (int, error) {
	if c.sub.Load() && c.id < c.f.frozenBelow.Load() {
		<-c.closed
		return 0, net.ErrClosed
	}
	return c.Conn.Read(b)
}

func (c *freezable) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// A subscription connection that goes silent (nothing arrives, nothing fails) is noticed by the
// monitor's probe and replaced.
func TestSilentSubscriptionIsReplaced(t *testing.T) {
	srv := redistest.Start(t)
	var f freezer
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr, Dialer: f.dial})
	t.Cleanup(func() { _ = rdb.Close() })
	server := newConn(t, rdb, "calc", withProbeInterval(200*time.Millisecond))
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	back := resubscriptions(t, server)

	f.freeze()
	await(t, back, 5*time.Second, "resubscription")
	caller := newConn(t, srv.Client(t), "caller")
	sum := publisherEndpoint(t, caller, addr("calc", idOf(server), "/sum"), EncodeJSONRequest, decodeSumResponse)
	if _, err := sum(ctxTimeout(t, 5*time.Second), sumRequest{A: 1, B: 2}); err != nil {
		t.Fatalf("a request after the silent subscription was replaced: %v", err)
	}
}

// When the slot of a service's channels moves to another master (a reshard, a failover), Redis ends
// the sharded subscriptions there (sunsubscribe): the Conn subscribes again on the slot's new master.
func TestClusterSlotMoveResubscribes(t *testing.T) {
	cluster := redistest.StartCluster(t)
	rdb := cluster.Client(t)
	client := fleetOn(t, rdb)
	server, err := NewConn(client, "calc", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	moved := resubscriptions(t, server)

	slot := redistest.Slot(server.channels[0])
	src := cluster.NodeForSlot(t, slot)
	var dst *redistest.Server
	for _, m := range cluster.Masters(t) {
		if m != src {
			dst = m
		}
	}
	ctx := ctxTimeout(t, 10*time.Second)
	srcClient, dstClient := src.Client(t), dst.Client(t)
	srcID, err := srcClient.ClusterMyID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	dstID, err := dstClient.ClusterMyID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		on   *goredis.Client
		args []any
	}{
		{dstClient, []any{"cluster", "setslot", slot, "importing", srcID}},
		{srcClient, []any{"cluster", "setslot", slot, "migrating", dstID}},
		{dstClient, []any{"cluster", "setslot", slot, "node", dstID}},
		{srcClient, []any{"cluster", "setslot", slot, "node", dstID}},
	} {
		if err := step.on.Do(ctx, step.args...).Err(); err != nil {
			t.Fatalf("%v: %v", step.args, err)
		}
	}
	await(t, moved, 10*time.Second, "resubscription after the slot moved")
	caller, err := NewConn(client, "caller", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	sum := publisherEndpoint(t, caller, addr("calc", idOf(server), "/sum"), EncodeJSONRequest, decodeSumResponse)
	if _, err := sum(ctx, sumRequest{A: 1, B: 2}); err != nil {
		t.Fatalf("a request after the slot moved: %v", err)
	}
	if have := cluster.NodeForSlot(t, slot); have != dst {
		t.Fatalf("the slot is served by %s, want %s", have.Addr, dst.Addr)
	}
}

// The monitor's probes travel on the Conn's own channel and are read, but never counted or dispatched.
// (Reconnects are not checked: a reader held up for 3/4 of this short probe interval, as on a loaded
// machine, is rightly taken for a silent subscription.)
func TestProbesAreNotMessages(t *testing.T) {
	client := pubsubRedis(t)
	server := newConn(t, client, "calc", withProbeInterval(20*time.Millisecond))
	server.HandleDefault(func(context.Context, *Conn, *umf.Message) { t.Error("a probe reached a handler") })
	eventually(t, "probes read", func() bool { return server.reads.Load() >= 5 })
	if s := server.Stats(); s.Received != 0 || s.Malformed != 0 {
		t.Errorf("probes counted: %+v", s)
	}
}
