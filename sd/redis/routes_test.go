package redis

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
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
