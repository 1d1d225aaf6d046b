package redis

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

func TestRegisterRoutes(t *testing.T) {
	m, c := redistest.Mini(t)
	r := register(t, redistest.Fleet(t, c), Service{Name: "svc"})
	sub := c.Subscribe(t.Context(), "hydra:service:mc:hydra-router")
	t.Cleanup(func() { _ = sub.Close() })
	if _, err := sub.Receive(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, _ = m.SAdd("hydra:service:svc:service:routes", "[get]/stale")

	if err := r.RegisterRoutes(t.Context(), "[get]/v1/svc/x", "[post]/v1/svc/y"); err != nil {
		t.Fatal(err)
	}
	members, _ := m.Members("hydra:service:svc:service:routes")
	want := []string{"[get]/svc", "[get]/svc/", "[get]/svc/:rest", "[get]/v1/svc/x", "[post]/v1/svc/y"}
	if have := slices.Sorted(slices.Values(members)); !slices.Equal(want, have) {
		t.Errorf("routes: want %v, have %v", want, have)
	}
	if msg, err := sub.ReceiveTimeout(t.Context(), 100*time.Millisecond); err == nil {
		t.Fatalf("refresh broadcast without a router: %v", msg)
	}

	// With a live hydra-router, routers are told to reload.
	m.HSet("hydra:service:nodes", "r1", `{"serviceName":"hydra-router","instanceID":"r1","ip":"h","port":80}`)
	check(t, m.Set("hydra:service:hydra-router:r1:presence", "r1"))
	if err := r.RegisterRoutes(t.Context()); err != nil {
		t.Fatal(err)
	}
	members, _ = m.Members("hydra:service:svc:service:routes")
	if want, have := 3, len(members); want != have {
		t.Errorf("routes: want %d, have %v", want, members)
	}
	raw, err := sub.ReceiveMessage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	msg, err := umf.Unmarshal([]byte(raw.Payload))
	if err != nil {
		t.Fatal(err)
	}
	if want, have := "hydra-router:/refresh svc:/ {\"action\":\"refresh\",\"serviceName\":\"svc\"}",
		fmt.Sprintf("%s %s %s", msg.To, msg.From, msg.Body); want != have {
		t.Errorf("want %s, have %s", want, have)
	}
	if msg.MID == "" || msg.Timestamp == "" || msg.Version != umf.Version {
		t.Errorf("incomplete UMF: %s", raw.Payload)
	}
}

// Routes are part of a registration: after Redis lost every key, the Registrar writes them again with
// the rest, and tells the routers, as Node's registerRoutes does.
func TestRoutesReregisteredAfterDataLoss(t *testing.T) {
	m, c := redistest.Mini(t)
	r := register(t, redistest.Fleet(t, c), Service{Name: "svc", ID: "abc"},
		RegistrarRefreshInterval(20*time.Millisecond), RegistrarTTL(100*time.Millisecond), RegistrarJanitorGrace(0))
	if err := r.RegisterRoutes(t.Context(), "[get]/v1/svc/x"); err != nil {
		t.Fatal(err)
	}
	sub := c.Subscribe(t.Context(), "hydra:service:mc:hydra-router", eventsChannel(keyspace.New(), "svc"))
	t.Cleanup(func() { _ = sub.Close() })
	for range 2 {
		if _, err := sub.Receive(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	// Redis restarts empty but for a router that re-registered at once: one transaction, so that the
	// Registrar cannot come in between.
	if _, err := c.TxPipelined(t.Context(), func(p goredis.Pipeliner) error {
		p.FlushAll(t.Context())
		p.HSet(t.Context(), "hydra:service:nodes", "r1", `{"serviceName":"hydra-router","instanceID":"r1","ip":"h","port":80}`)
		p.Set(t.Context(), "hydra:service:hydra-router:r1:presence", "r1", 0)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var refreshed, joined bool
	for !refreshed || !joined {
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch msg.Channel {
		case "hydra:service:mc:hydra-router":
			refreshed = strings.Contains(msg.Payload, `"to":"hydra-router:/refresh"`)
		default:
			if !strings.Contains(msg.Payload, `"join"`) {
				continue
			}
			joined = true
			members, _ := m.Members("hydra:service:svc:service:routes")
			want := []string{"[get]/svc", "[get]/svc/", "[get]/svc/:rest", "[get]/v1/svc/x"}
			if have := slices.Sorted(slices.Values(members)); !slices.Equal(want, have) {
				t.Fatalf("routes after re-registration: want %v, have %v", want, have)
			}
		}
	}
}
