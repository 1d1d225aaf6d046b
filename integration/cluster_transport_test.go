package integration

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/transport/redispubsub/balancer"
	"github.com/hydrakit/hydrakit/umf"
)

// clusterNames returns a service name and a caller name whose channels sit on different masters of
// the cluster, so that every request crosses shards.
func clusterNames(t *testing.T, c *redistest.Cluster, keys keyspace.Scheme) (service, caller string) {
	t.Helper()
	service = redistest.Name("ccalc")
	home := c.NodeForKey(t, keys.ServiceChannel(service))
	for range 100 {
		caller = redistest.Name("ccaller")
		if c.NodeForKey(t, keys.ServiceChannel(caller)) != home {
			return service, caller
		}
	}
	t.Fatal("no caller name on another shard in 100 tries")
	return "", ""
}

// countingSum serves /sum and counts every run of the endpoint; /news counts broadcasts per instance.
type countingSum struct {
	runs  atomic.Int64
	mu    sync.Mutex
	news  map[string]int // instance ID → broadcasts received
	heard chan string    // instance ID, once per broadcast received
	noted chan string    // the body of every message to /note
}

func (s *countingSum) serve(t *testing.T, client *hydrakit.Client, service string) string {
	t.Helper()
	conn, id := transportService(t, client, service)
	sub, err := redispubsub.NewSubscriber(
		func(_ context.Context, req interface{}) (interface{}, error) {
			s.runs.Add(1)
			r := req.(sumReq)
			return map[string]int{"sum": r.A + r.B}, nil
		},
		func(_ context.Context, m *umf.Message) (interface{}, error) {
			var r sumReq
			return r, m.DecodeBody(&r)
		},
		redispubsub.EncodeJSONResponse)
	if err != nil {
		t.Fatal(err)
	}
	conn.Handle("/sum", sub.ServeMessage)
	conn.Handle("/news", func(context.Context, *redispubsub.Conn, *umf.Message) {
		s.mu.Lock()
		s.news[id]++
		s.mu.Unlock()
		s.heard <- id
	})
	conn.Handle("/note", func(_ context.Context, _ *redispubsub.Conn, m *umf.Message) { s.noted <- string(m.Body) })
	return id
}

func decodeSum(_ context.Context, m *umf.Message) (interface{}, error) {
	var v struct{ Sum int }
	return v.Sum, m.DecodeBody(&v)
}

// hammer makes n calls of e with 32 in flight and returns the errors by message.
func hammer(e func(context.Context, interface{}) (interface{}, error), n int) (ok int, failures map[string]int) {
	var next, good atomic.Int64
	var mu sync.Mutex
	failures = map[string]int{}
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				v, err := e(ctx, sumReq{A: int(i), B: 1})
				cancel()
				if err == nil && v.(int) != int(i)+1 {
					err = fmt.Errorf("wrong sum %v for %d", v, i)
				}
				if err != nil {
					mu.Lock()
					failures[err.Error()]++
					mu.Unlock()
					continue
				}
				good.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(good.Load()), failures
}

// On a 3-master cluster, requests cross shards (the service's channels sit on another master than the
// caller's), through a Publisher and through a balancer that never retries: every request succeeds
// and runs exactly once; a broadcast reaches every instance exactly once; ErrNoResponders only when
// no instance listens.
func TestClusterTransportRequestsCrossShards(t *testing.T) {
	cluster := redistest.StartCluster(t)
	client := redistest.Fleet(t, cluster.Client(t))
	if !client.Cluster() || !client.Keyspace().IsClusterSafe() {
		t.Fatal("the fleet client does not see a cluster")
	}
	service, callerName := clusterNames(t, cluster, client.Keyspace())
	s := &countingSum{news: map[string]int{}, heard: make(chan string, 16), noted: make(chan string, 16)}
	const instances = 3
	var ids []string
	for range instances {
		ids = append(ids, s.serve(t, client, service))
	}
	caller, _ := transportService(t, client, callerName)
	for _, id := range ids {
		if cluster.NodeForKey(t, client.Keyspace().InstanceChannel(service, id)) ==
			cluster.NodeForKey(t, client.Keyspace().InstanceChannel(callerName, "x")) {
			t.Fatal("the service's instances share the caller's shard")
		}
	}

	pub, err := redispubsub.NewPublisher(caller, service+":/sum", redispubsub.EncodeJSONRequest, decodeSum,
		redispubsub.PublisherTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ok, failures := hammer(pub.Endpoint(), 1000)
	if ok != 1000 {
		t.Errorf("Publisher: want 1000 ok, have %d; failures %v", ok, failures)
	}

	b, err := balancer.New(caller, service, "/sum", redispubsub.EncodeJSONRequest, decodeSum,
		balancer.Attempts(1), balancer.Timeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ok, failures = hammer(b.Endpoint(), 1000)
	if ok != 1000 {
		t.Errorf("balancer: want 1000 ok, have %d; failures %v", ok, failures)
	}
	if want, have := int64(2000), s.runs.Load(); want != have {
		t.Errorf("handler runs: want %d, have %d", want, have)
	}

	// Broadcast: every instance hears it once. A request to each instance afterwards, on the same
	// subscription, is a fence: once its reply is back, a duplicate would have arrived.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := caller.Broadcast(ctx, &umf.Message{To: service + ":/news"}); err != nil {
		t.Fatalf("Broadcast: %v", err)
	}
	for range instances {
		select {
		case <-s.heard:
		case <-ctx.Done():
			t.Fatalf("the broadcast reached %v only", s.news)
		}
	}
	for _, id := range ids {
		e, err := redispubsub.NewPublisher(caller, id+"@"+service+":/sum", redispubsub.EncodeJSONRequest, decodeSum)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Endpoint()(ctx, sumReq{A: 1}); err != nil {
			t.Fatalf("fence request to %s: %v", id, err)
		}
	}
	s.mu.Lock()
	for _, id := range ids {
		if want, have := 1, s.news[id]; want != have {
			t.Errorf("instance %s heard the broadcast %d times, want %d", id, have, want)
		}
	}
	s.mu.Unlock()

	// Send to one instance: delivered once.
	if err := caller.Send(ctx, &umf.Message{To: ids[0] + "@" + service + ":/note", Body: []byte(`"hello"`)}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	select {
	case body := <-s.noted:
		if want, have := `"hello"`, body; want != have {
			t.Errorf("Send: want %s, have %s", want, have)
		}
	case <-ctx.Done():
		t.Fatal("the Send never arrived")
	}
	// ErrNoResponders only where no instance listens: an instance that does not exist, a service
	// without instances.
	ghost, err := redispubsub.NewPublisher(caller, keyspace.NewInstanceID()+"@"+service+":/sum",
		redispubsub.EncodeJSONRequest, decodeSum)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ghost.Endpoint()(ctx, sumReq{}); !errors.Is(err, redispubsub.ErrNoResponders) {
		t.Errorf("a request to an instance that does not exist: want ErrNoResponders, have %v", err)
	}
	if err := caller.Broadcast(ctx, &umf.Message{To: redistest.Name("nobody") + ":/news"}); !errors.Is(err, redispubsub.ErrNoResponders) {
		t.Errorf("a broadcast to a service without instances: want ErrNoResponders, have %v", err)
	}
}

// The master serving a service's channels (and keys) dies mid-traffic and its replica takes over: the
// Conns subscribe again on the new master, and a call succeeds within 2 s of the cluster showing the
// promotion. Nothing runs twice.
func TestClusterTransportSurvivesMasterFailover(t *testing.T) {
	// go-redis re-dials a node that refused too many dials from a goroutine of its own, which ends
	// within a second of the client's Close; registered first, this runs after that Close.
	t.Cleanup(func() { awaitGoroutinesGone(t, "pool.(*ConnPool).tryDial", 5*time.Second) })
	cluster := redistest.StartCluster(t, redistest.ClusterReplicas(1))
	client := redistest.Fleet(t, cluster.Client(t))
	service, callerName := clusterNames(t, cluster, client.Keyspace())
	e, runs := callerAndCalleeNamed(t, client, client, service, callerName)
	tr := startTraffic(t, e)
	tr.nextSuccess(t, time.Time{}, false, 10*time.Second)

	slot := redistest.Slot(client.Keyspace().ServiceChannel(service))
	master := cluster.NodeForSlot(t, slot)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n, err := master.Client(t).Wait(ctx, 1, 5*time.Second).Result(); err != nil || n < 1 {
		t.Fatalf("WAIT for the replica: %d, %v", n, err)
	}
	master.Kill(t)
	killed := time.Now()
	deadline := time.Now().Add(30 * time.Second)
	for ms := cluster.Masters(t); len(ms) < 3 || slices.Contains(ms, master); ms = cluster.Masters(t) {
		if time.Now().After(deadline) {
			t.Fatal("no replica took over in 30 s")
		}
		time.Sleep(20 * time.Millisecond) // polls the cluster's own state: the event is the promotion
	}
	promoted := time.Now()
	if cluster.NodeForSlot(t, slot) == master {
		t.Fatal("the dead master still serves the slot")
	}
	first := tr.nextSuccess(t, promoted, true, 30*time.Second)
	tr.nextSuccess(t, first, true, 5*time.Second)
	tr.halt()
	n, span, last := tr.failures(killed)
	t.Logf("replica promoted %v after the kill; first call started after it succeeded %v later; %d calls failed over %v (last: %v)",
		promoted.Sub(killed), first.Sub(promoted), n, span, last)
	if d := first.Sub(promoted); d > 2*time.Second {
		t.Errorf("first successful call %v after the promotion; want within 2 s", d)
	}
	checkOnce(t, tr, runs)
}

// awaitGoroutinesGone waits until no goroutine has fn in its stack.
func awaitGoroutinesGone(t *testing.T, fn string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if !strings.Contains(string(buf[:n]), fn) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("goroutines in %s still running after %v", fn, timeout)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
