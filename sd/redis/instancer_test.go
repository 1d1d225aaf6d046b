package redis

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

func TestInstancerInitialSetAndChanges(t *testing.T) {
	_, c := redistest.Mini(t)
	register(t, redistest.Fleet(t, c), Service{Name: "svc", ID: "a1", IP: "10.0.0.1", Port: 80})
	in, err := NewInstancer(redistest.Fleet(t, c), "svc", log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	ch := watchEvents(t, in)
	select { // go-kit's contract: the current set arrives during Register
	case ev := <-ch:
		if ev.Err != nil || len(ev.Instances) != 1 || ev.Instances[0] != "10.0.0.1:80" {
			t.Fatalf("want [10.0.0.1:80], have %+v", ev)
		}
	default:
		t.Fatal("no event on Register")
	}
	b := register(t, redistest.Fleet(t, c), Service{Name: "svc", ID: "b2", IP: "::1", Port: 81})
	waitInstances(t, ch, "10.0.0.1:80", "[::1]:81")
	b.Deregister()
	waitInstances(t, ch, "10.0.0.1:80")
}

func TestInstancerInstanceIDs(t *testing.T) {
	_, c := redistest.Mini(t)
	register(t, redistest.Fleet(t, c), Service{Name: "svc", ID: "a1"}) // no address: only listed by ID
	in, err := NewInstancer(redistest.Fleet(t, c), "svc", nil, InstancerInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	waitInstances(t, watchEvents(t, in), "a1")

	plain, err := NewInstancer(redistest.Fleet(t, c), "svc", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-watchEvents(t, plain); ev.Instances == nil || len(ev.Instances) != 0 {
		t.Errorf("want an empty set, have %+v", ev)
	}
}

// A Node Hydra instance writes presence and a nodes entry, nothing else: the nodes scan finds it.
func TestInstancerFindsNodeRegisteredInstances(t *testing.T) {
	m, c := redistest.Mini(t)
	m.HSet("hydra:service:nodes", "n1", `{"serviceName":"svc","instanceID":"n1","ip":"10.0.0.9","port":"5000","updatedOn":"2026-11-25T18:00:00.000Z"}`)
	m.HSet("hydra:service:nodes", "o1", `{"serviceName":"other","instanceID":"o1","ip":"10.0.0.8","port":1}`)
	m.HSet("hydra:service:nodes", "bad", `not json`)
	check(t, m.Set("hydra:service:other:o1:presence", "o1"))
	check(t, m.Set("hydra:service:svc:n1:presence", "n1"))
	in, err := NewInstancer(redistest.Fleet(t, c), "svc", nil, InstancerResync(20*time.Millisecond), InstancerNodesScan(40*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ch := watchEvents(t, in)
	waitInstances(t, ch, "10.0.0.9:5000")

	m.Del("hydra:service:svc:n1:presence") // what expiry does
	waitInstances(t, ch)

	m.HSet("hydra:service:nodes", "n2", `{"serviceName":"svc","instanceID":"n2","ip":"10.0.0.7","port":5001}`)
	check(t, m.Set("hydra:service:svc:n2:presence", "n2"))
	waitInstances(t, ch, "10.0.0.7:5001")
}

func TestInstancersShareOneWatch(t *testing.T) {
	_, c := redistest.Mini(t)
	fc := redistest.Fleet(t, c)
	register(t, fc, Service{Name: "svc", ID: "a1", IP: "h", Port: 1})
	a, err := NewInstancer(fc, "svc", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewInstancer(fc, "svc", nil, InstancerInstanceID()) // same watch, other strings
	if err != nil {
		t.Fatal(err)
	}
	if a.w != b.w {
		t.Fatal("two watches for one client and service")
	}
	if want, have := 2, a.w.refs; want != have {
		t.Errorf("refs: want %d, have %d", want, have)
	}
	waitInstances(t, watchEvents(t, b), "a1")
	a.Stop()
	a.Stop() // twice is fine
	if want, have := 1, b.w.refs; want != have {
		t.Errorf("refs: want %d, have %d", want, have)
	}

	// Another client has watches of its own.
	other, err := NewInstancer(redistest.Fleet(t, c), "svc", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Stop()
	if other.w == b.w {
		t.Fatal("two clients share a watch")
	}
}

// Closing the client stops the watches its Instancers left running; their Stop is still fine.
func TestClientCloseStopsWatches(t *testing.T) {
	_, c := redistest.Mini(t)
	fc, err := hydrakit.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	in, err := NewInstancer(fc, "svc", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := fc.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in.w.done:
	default:
		t.Fatal("the watch still runs after its client closed")
	}
	in.Stop()
	if _, err := NewInstancer(fc, "svc", nil); err == nil {
		t.Fatal("an Instancer on a closed client")
	}
}

func TestInstancerValidates(t *testing.T) {
	_, c := redistest.Mini(t)
	for _, tc := range []struct {
		svc  string
		opts []InstancerOption
	}{
		{"", nil}, {"a b", nil}, {"svc", []InstancerOption{InstancerResync(0)}}, {"svc", []InstancerOption{InstancerNodesScan(-1)}},
	} {
		if _, err := NewInstancer(redistest.Fleet(t, c), tc.svc, nil, tc.opts...); !errors.Is(err, ErrConfig) {
			t.Errorf("%q %d options: want ErrConfig, have %v", tc.svc, len(tc.opts), err)
		}
	}
}

// Redis going away becomes an Err event, with backoff; when it returns, the set comes back.
func TestInstancerPushesErrorsAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	writer := srv.Client(t)
	register(t, redistest.Fleet(t, writer), Service{Name: "svc", ID: "a1", IP: "h", Port: 1},
		RegistrarRefreshInterval(50*time.Millisecond), RegistrarTTL(200*time.Millisecond))
	in, err := NewInstancer(redistest.Fleet(t, c), "svc", nil, InstancerResync(50*time.Millisecond), InstancerNodesScan(0))
	if err != nil {
		t.Fatal(err)
	}
	ch := watchEvents(t, in)
	waitInstances(t, ch, "h:1")
	srv.Kill(t)
	deadline := time.After(failAfter)
	for ev := (sd.Event{}); ev.Err == nil; {
		select {
		case ev = <-ch:
		case <-deadline:
			t.Fatal("no error event while Redis is down")
		}
	}
	srv.Restart(t) // all keys lost: the Registrar writes them again
	waitInstances(t, ch, "h:1")
}

func TestListInstances(t *testing.T) {
	m, c := redistest.Mini(t)
	register(t, redistest.Fleet(t, c), Service{Name: "svc", ID: "b", IP: "h", Port: 2, Version: "2"})
	m.HSet("hydra:service:nodes", "a", `{"serviceName":"svc","instanceID":"a","ip":"h","port":"1","processID":7}`)
	check(t, m.Set("hydra:service:svc:a:presence", "a"))
	m.HSet("hydra:service:nodes", "dead", `{"serviceName":"svc","instanceID":"dead"}`)
	check(t, m.Set(indexKey(keyspace.New(), "svc")+"x", "unrelated"))
	have, err := ListInstances(t.Context(), redistest.Fleet(t, c), "SVC")
	if err != nil {
		t.Fatal(err)
	}
	if len(have) != 2 || have[0].ID != "a" || have[0].Port != 1 || have[0].ProcessID != 7 || have[1].ID != "b" || have[1].Version != "2" {
		t.Errorf("have %+v", have)
	}
	if _, err := ListInstances(t.Context(), redistest.Fleet(t, c), "a:b"); !errors.Is(err, ErrConfig) {
		t.Errorf("want ErrConfig, have %v", err)
	}
}

// Instancers of one service created and stopped concurrently share watches safely, and the last Stop
// ends the watch.
func TestInstancersConcurrent(t *testing.T) {
	_, c := redistest.Mini(t)
	fc := redistest.Fleet(t, c)
	register(t, fc, Service{Name: "svc", ID: "a1", IP: "h", Port: 1})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				in, err := NewInstancer(fc, "svc", nil)
				if err != nil {
					t.Error(err)
					return
				}
				ch := make(chan sd.Event, 1)
				in.Register(ch)
				if ev := <-ch; len(ev.Instances) != 1 {
					t.Errorf("have %+v", ev)
				}
				in.Deregister(ch)
				in.Stop()
			}
		})
	}
	wg.Wait()
	reg, err := registryOf(fleet.Of(fc))
	if err != nil {
		t.Fatal(err)
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if want, have := 0, len(reg.m); want != have {
		t.Errorf("watches left: want %d, have %d", want, have)
	}
}

// An Instancer created while Redis is down starts with an Err event and finds the service once Redis
// is back.
func TestInstancerStartsWhileRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	srv.Kill(t)
	in, err := NewInstancer(redistest.Fleet(t, c), "svc", nil, InstancerResync(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ch := watchEvents(t, in)
	if ev := <-ch; ev.Err == nil {
		t.Fatalf("want an Err event, have %+v", ev)
	}
	srv.Restart(t)
	register(t, redistest.Fleet(t, srv.Client(t)), Service{Name: "svc", ID: "a1", IP: "h", Port: 1})
	waitInstances(t, ch, "h:1")
}

func TestListInstancesFailures(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := ListInstances(ctx, redistest.Fleet(t, c), "svc"); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: want context.Canceled, have %v", err)
	}
	srv.Kill(t)
	c = goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1}) // fail fast, no redials
	t.Cleanup(func() { _ = c.Close() })
	if _, err := ListInstances(t.Context(), redistest.Fleet(t, c), "svc"); err == nil {
		t.Error("want an error with Redis down")
	}
	r, err := NewRegistrar(redistest.Fleet(t, c), Service{Name: "svc"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RegisterRoutes(t.Context(), "[get]/x"); err == nil {
		t.Error("RegisterRoutes: want an error with Redis down")
	}
}
