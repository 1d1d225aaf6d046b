package redispubsub

import (
	"context"
	"errors"
	"sync"
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

// A service address (svc:/route) is resolved through one Instancer per service, made on first use
// and stopped by Close; the reply to a service-addressed frm goes the same way.
func TestServiceAddressesGoThroughDiscovery(t *testing.T) {
	client := redistest.Client(t)
	server := newConn(t, client, "calc")
	server.Handle("/sum", serve(t, sumEndpoint, decodeSumRequest, EncodeJSONResponse))
	requester := newConn(t, client, "caller")
	fakes := &fakeInstancers{ids: map[string][]string{"calc": {idOf(server)}, "caller": {idOf(requester)}}}
	caller, err := NewConn(fleetOn(t, client), "sender", "00000000000000000000000000000001", fakes.option())
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

	if err := caller.Send(context.Background(), &umf.Message{To: "empty:/x"}); !errors.Is(err, ErrNoInstances) {
		t.Errorf("want ErrNoInstances, have %v", err)
	}
	if err := caller.Close(); err != nil {
		t.Fatal(err)
	}
	fakes.mu.Lock()
	defer fakes.mu.Unlock()
	if want, have := map[string]int{"calc": 1, "caller": 1, "empty": 1}, fakes.made; len(want) != len(have) ||
		want["calc"] != have["calc"] || want["caller"] != have["caller"] || want["empty"] != have["empty"] {
		t.Errorf("instancers made: want %v, have %v", want, have)
	}
	if want, have := 3, fakes.stopped; want != have {
		t.Errorf("instancers stopped by Close: want %d, have %d", want, have)
	}
	if _, err := e(context.Background(), sumRequest{}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: want ErrClosed, have %v", err)
	}
}

// Without a test double the Conn follows the service with sd/redis: an instance registered there is
// reached by service address, and one that deregisters is no longer chosen.
func TestServiceAddressesWithSDRedis(t *testing.T) {
	rdb := redistest.Client(t)
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
