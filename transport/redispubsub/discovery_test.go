package redispubsub

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/umf"
)

// fakeInstancers lists fixed instances per service and records what the Conn made and stopped.
type fakeInstancers struct {
	ids map[string][]string

	mu      sync.Mutex
	made    map[string]int
	stopped int
}

type stoppable struct {
	sd.FixedInstancer
	f *fakeInstancers
}

func (s stoppable) Stop() {
	s.f.mu.Lock()
	s.f.stopped++
	s.f.mu.Unlock()
}

func (f *fakeInstancers) option() ConnOption {
	return func(c *connConfig) {
		c.newInstancer = func(service string) (sd.Instancer, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.made == nil {
				f.made = map[string]int{}
			}
			f.made[service]++
			return stoppable{sd.FixedInstancer(f.ids[service]), f}, nil
		}
	}
}

// A service address the application names (svc:/route) is resolved through one Instancer per
// service, made on first use and stopped by Close. The reply to a service-addressed frm is not: it
// goes through the bounded lookup cache, and makes no Instancer.
func TestServiceAddressesGoThroughDiscovery(t *testing.T) {
	client := pubsubRedis(t)
	server := newConn(t, client, "calc")
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	requester := newConn(t, client, "caller")
	fakes := &fakeInstancers{ids: map[string][]string{"calc": {idOf(server)}, "caller": {idOf(requester)}}}
	var reads atomic.Int32
	lookup := withLookup(func(_ context.Context, service string) ([]string, error) {
		reads.Add(1)
		return fakes.ids[service], nil
	})
	caller, err := NewConn(fleetOn(t, client), "sender", "00000000000000000000000000000001", fakes.option(), lookup)
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()

	e := publisherEndpoint(t, caller, "calc:/sum", EncodeJSONRequest, decodeSumResponse)
	for i := range 3 {
		resp, err := e(ctxTimeout(t, 5*time.Second), sumRequest{A: i, B: 1})
		if err != nil {
			t.Fatal(err)
		}
		if want, have := i+1, resp.(sumResponse).V; want != have {
			t.Errorf("want %d, have %d", want, have)
		}
	}
	// A message whose frm names only a service: the reply goes to one of its instances.
	msg := &umf.Message{To: addr("sender", "00000000000000000000000000000001", "/echo"), From: "caller:/", MID: "m-1"}
	caller.Handle("/echo", func(ctx context.Context, c *Conn, m *umf.Message) {
		if err := c.Reply(ctx, m, &umf.Message{Body: []byte(`"pong"`)}); err != nil {
			t.Error(err)
		}
	})
	if err := requester.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the reply to arrive as an orphan at the requester", func() bool { return requester.Stats().Orphans == 1 })
	if want, have := int32(1), reads.Load(); want != have {
		t.Errorf("lookups of the reply address: want %d, have %d", want, have)
	}

	if err := caller.Send(context.Background(), &umf.Message{To: "empty:/x"}); !errors.Is(err, ErrNoInstances) {
		t.Errorf("want ErrNoInstances, have %v", err)
	}
	if err := caller.Close(); err != nil {
		t.Fatal(err)
	}
	fakes.mu.Lock()
	defer fakes.mu.Unlock()
	if want, have := map[string]int{"calc": 1, "empty": 1}, fakes.made; !maps.Equal(want, have) {
		t.Errorf("instancers made: want %v, have %v", want, have)
	}
	if want, have := 2, fakes.stopped; want != have {
		t.Errorf("instancers stopped by Close: want %d, have %d", want, have)
	}
	if _, err := e(context.Background(), sumRequest{}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: want ErrClosed, have %v", err)
	}
}

// Without a test double the Conn follows the service with sd/redis: an instance registered there is
// reached by service address, and one that deregisters is no longer chosen.
func TestServiceAddressesWithSDRedis(t *testing.T) {
	rdb := pubsubRedis(t)
	client := fleetOn(t, rdb)
	service := redistest.Name("calc")
	id := keyspace.NewInstanceID()
	server, err := NewConn(client, service, id)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	reg, err := sdredis.NewRegistrar(client, sdredis.Service{Name: service, ID: id}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()

	caller, err := NewConn(client, "caller", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	e := publisherEndpoint(t, caller, service+":/sum", EncodeJSONRequest, decodeSumResponse)
	resp, err := e(ctxTimeout(t, 5*time.Second), sumRequest{A: 40, B: 2})
	if err != nil {
		t.Fatal(err)
	}
	if want, have := 42, resp.(sumResponse).V; want != have {
		t.Errorf("want %d, have %d", want, have)
	}
	reg.Deregister() // announced: discovery hears of it in milliseconds
	eventually(t, "the instance to leave discovery", func() bool {
		_, err := e(ctxTimeout(t, 5*time.Second), sumRequest{})
		return errors.Is(err, ErrNoInstances)
	})
}

// A service whose first lookup hangs holds up neither the callers of other services nor a caller
// whose context ends: the Instancer is made outside the discovery's lock, and waiting for it honours
// the caller's context.
func TestFollowDoesNotBlockOnAFirstLookup(t *testing.T) {
	hang, made := make(chan struct{}), make(chan string, 4)
	d := &discovery{
		newInstancer: func(service string) (sd.Instancer, error) {
			made <- service
			if service == "slow" {
				<-hang
			}
			return sd.FixedInstancer{"i-" + service}, nil
		},
		max: MaxFollowed, services: map[string]*followed{},
	}
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { _, err := d.instances(ctx, "slow"); res <- err }()
	if want, have := "slow", <-made; want != have {
		t.Fatalf("want %s made first, have %s", want, have)
	}
	ids, err := d.instances(ctxTimeout(t, 10*time.Second), "fast")
	if err != nil || len(ids) != 1 || ids[0] != "i-fast" {
		t.Fatalf("another service while the first hangs: want [i-fast], have %v %v", ids, err)
	}
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Errorf("want context.Canceled, have %v", err)
	}
	close(hang)
	if ids, err := d.instances(ctxTimeout(t, 10*time.Second), "slow"); err != nil || len(ids) != 1 {
		t.Errorf("once made: want [i-slow], have %v %v", ids, err)
	}
	d.close()
}

// Past MaxFollowed services, service addresses are resolved through the lookup cache: nothing more
// is followed, and nothing is refused.
func TestFollowedServicesCapped(t *testing.T) {
	var made atomic.Int32
	var reads atomic.Int32
	d := &discovery{
		newInstancer: func(service string) (sd.Instancer, error) {
			made.Add(1)
			return sd.FixedInstancer{"followed"}, nil
		},
		max: 2, services: map[string]*followed{},
		fallback: newLookups(func(context.Context, string) ([]string, error) {
			reads.Add(1)
			return []string{"read"}, nil
		}, time.Now),
	}
	defer d.close()
	for i, want := range []string{"followed", "followed", "read", "read", "followed"} {
		service := fmt.Sprint("svc-", i%4)
		ids, err := d.instances(ctxTimeout(t, 10*time.Second), service)
		if err != nil || len(ids) != 1 || ids[0] != want {
			t.Errorf("%s: want [%s], have %v %v", service, want, ids, err)
		}
	}
	if made.Load() != 2 || reads.Load() != 2 {
		t.Errorf("want 2 followed and 2 read, have %d and %d", made.Load(), reads.Load())
	}
}

// The lookup cache reads a service once per TTL however many ask at once, keeps at most its size
// (least recently used out first), and does not keep failures.
func TestLookupsSharedExpiringAndBounded(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	reads := map[string]int{}
	gate := make(chan struct{})
	l := newLookups(func(_ context.Context, service string) ([]string, error) {
		<-gate
		mu.Lock()
		defer mu.Unlock()
		reads[service]++
		if service == "broken" {
			return nil, errors.New("boom")
		}
		return []string{service + "-1"}, nil
	}, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	l.max = 3
	readsOf := func(service string) int { mu.Lock(); defer mu.Unlock(); return reads[service] }

	// Ten at once, one read.
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ids, err := l.instances(context.Background(), "a"); err != nil || ids[0] != "a-1" {
				t.Errorf("want [a-1], have %v %v", ids, err)
			}
		}()
	}
	eventually(t, "the read started", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.lru.Len() == 1
	})
	close(gate)
	wg.Wait()
	if want, have := 1, readsOf("a"); want != have {
		t.Errorf("concurrent lookups: want %d read, have %d", want, have)
	}
	// Within the TTL from the cache; after it, read again.
	_, _ = l.instances(context.Background(), "a")
	mu.Lock()
	now = now.Add(LookupTTL)
	mu.Unlock()
	_, _ = l.instances(context.Background(), "a")
	if want, have := 2, readsOf("a"); want != have {
		t.Errorf("after the TTL: want %d reads, have %d", want, have)
	}
	// Failures are not kept.
	for range 2 {
		if _, err := l.instances(context.Background(), "broken"); err == nil {
			t.Error("want the read's error")
		}
	}
	if want, have := 2, readsOf("broken"); want != have {
		t.Errorf("failed reads: want %d, have %d", want, have)
	}
	// The least recently used goes when a fourth service comes.
	for _, s := range []string{"b", "c", "a", "d", "a", "b"} {
		_, _ = l.instances(context.Background(), s)
	}
	if want, have := 2, readsOf("b"); want != have {
		t.Errorf("b: want %d reads (evicted by d, read again), have %d", want, have)
	}
	if want, have := 2, readsOf("a"); want != have {
		t.Errorf("a: want %d reads (kept, recently used), have %d", want, have)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if want, have := 3, l.lru.Len(); want != have || len(l.byKey) != have {
		t.Errorf("want %d kept, have %d (%d keys)", want, have, len(l.byKey))
	}
}

// A waiter whose reader gave up (its context ended) reads itself instead of failing with another
// caller's context error.
func TestLookupsWaiterReadsWhenTheReaderGivesUp(t *testing.T) {
	first, release := make(chan struct{}), make(chan struct{})
	var n atomic.Int32
	l := newLookups(func(ctx context.Context, service string) ([]string, error) {
		if n.Add(1) == 1 {
			close(first)
			<-ctx.Done()
			<-release
			return nil, ctx.Err()
		}
		return []string{"x"}, nil
	}, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _, _ = l.instances(ctx, "s") }()
	<-first
	res := make(chan []string, 1)
	go func() {
		ids, err := l.instances(context.Background(), "s")
		if err != nil {
			t.Error(err)
		}
		res <- ids
	}()
	cancel()
	close(release)
	if ids := <-res; len(ids) != 1 || ids[0] != "x" {
		t.Errorf("want [x], have %v", ids)
	}
}

// A reply to a service address finds a registered instance of the service with a plain read (and
// none of a service nobody registered).
func TestReplyToAServiceAddressReadsItsInstances(t *testing.T) {
	rdb := pubsubRedis(t)
	client := fleetOn(t, rdb)
	asker := redistest.Name("asker")
	id := keyspace.NewInstanceID()
	requester, err := NewConn(client, asker, id)
	if err != nil {
		t.Fatal(err)
	}
	defer requester.Close()
	reg, err := sdredis.NewRegistrar(client, sdredis.Service{Name: asker, ID: id}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()
	defer reg.Deregister()
	server := newConn(t, rdb, "echo")
	replied := make(chan error, 2)
	server.Handle("/echo", func(ctx context.Context, c *Conn, m *umf.Message) {
		replied <- c.Reply(ctx, m, &umf.Message{Body: []byte(`"pong"`)})
	})
	for _, frm := range []string{asker + ":/", "nobody-runs-this:/"} {
		if err := requester.Send(context.Background(), &umf.Message{To: addr("echo", idOf(server), "/echo"), From: frm}); err != nil {
			t.Fatal(err)
		}
		err := <-replied
		if frm == asker+":/" && err != nil {
			t.Errorf("reply to %s: %v", frm, err)
		}
		if frm != asker+":/" && !errors.Is(err, ErrNoInstances) {
			t.Errorf("reply to %s: want ErrNoInstances, have %v", frm, err)
		}
	}
	eventually(t, "the reply at the registered instance", func() bool { return requester.Stats().Orphans == 1 })
}
