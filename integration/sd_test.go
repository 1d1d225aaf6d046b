package integration

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/internal/redistest"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// nodeInstance is a presence entry as Node's getServicePresence returns it.
type nodeInstance struct {
	ServiceName        string          `json:"serviceName"`
	ServiceDescription string          `json:"serviceDescription"`
	Version            string          `json:"version"`
	InstanceID         string          `json:"instanceID"`
	UpdatedOn          string          `json:"updatedOn"`
	UpdatedOnTS        int64           `json:"updatedOnTS"`
	ProcessID          int             `json:"processID"`
	IP                 string          `json:"ip"`
	Port               json.RawMessage `json:"port"`
	HostName           string          `json:"hostName"`
	Elapsed            *int            `json:"elapsed"`
}

func sdEvents(t *testing.T, in *sdredis.Instancer) chan sd.Event {
	t.Helper()
	ch := make(chan sd.Event, 64)
	in.Register(ch)
	t.Cleanup(func() { in.Deregister(ch); in.Stop() })
	return ch
}

func sdWait(t *testing.T, ch chan sd.Event, timeout time.Duration, want ...string) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := time.After(timeout)
	var last *sd.Event
	for {
		select {
		case ev := <-ch:
			last = &ev
			if ev.Err == nil && ev.Instances != nil && slices.Equal(ev.Instances, want) {
				return time.Since(start)
			}
		case <-deadline:
			t.Fatalf("no event with %v in %v; last %+v", want, timeout, last)
		}
	}
}

// A Node Hydra service is discovered by the Go Instancer at the address it registered, and killing it
// (SIGKILL) removes it within TTL + 1 s.
func TestSDNodeServiceDiscoveredByGoInstancer(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	hc := redistest.Fleet(t, c)
	p := startNodePeer(t, srv.URL()+"/0", "sd-node-svc")
	// Node may report itself registered before its first presence write lands: ask until it is there.
	var presence []nodeInstance
	for deadline := time.Now().Add(5 * time.Second); len(presence) != 1; time.Sleep(20 * time.Millisecond) {
		if err := json.Unmarshal(p.MustCall("getServicePresence", "sd-node-svc"), &presence); err != nil || time.Now().After(deadline) {
			t.Fatalf("node presence: %v %+v", err, presence)
		}
	}
	port, err := strconv.Atoi(string(presence[0].Port))
	if err != nil {
		t.Fatalf("port %s: %v", presence[0].Port, err)
	}
	in, err := sdredis.NewInstancer(hc, "sd-node-svc", log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	ch := sdEvents(t, in)
	sdWait(t, ch, time.Second, fmt.Sprintf("127.0.0.1:%d", port))

	byID, err := sdredis.NewInstancer(hc, "sd-node-svc", nil, sdredis.InstancerInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	sdWait(t, sdEvents(t, byID), time.Second, p.InstanceID)

	list, err := sdredis.ListInstances(t.Context(), hc, "sd-node-svc")
	if err != nil || len(list) != 1 {
		t.Fatalf("ListInstances: %v %+v", err, list)
	}
	if in := list[0]; in.ID != p.InstanceID || in.Description != "hydrakit interop peer" || in.ProcessID == 0 || in.HostName == "" || in.UpdatedOn.IsZero() {
		t.Errorf("parsed Node entry: %+v", in)
	}

	p.Kill()
	took := sdWait(t, ch, sdredis.DefaultTTL+time.Second+500*time.Millisecond)
	t.Logf("Node instance removed %v after SIGKILL", took)
}

// A Go-registered instance is returned by Node's getServicePresence with every field Node reads, and
// listed by getServiceNodes.
func TestSDGoInstanceSeenByNode(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	hc := redistest.Fleet(t, c)
	r, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: "Sd-Go-Svc", IP: "127.0.0.1", Port: 8181, Version: "1.2.3", Description: "go side", Type: "test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Register()
	t.Cleanup(r.Deregister)
	p := startNodePeer(t, srv.URL()+"/0", "sd-observer")

	var presence []nodeInstance
	if err := json.Unmarshal(p.MustCall("getServicePresence", "sd-go-svc"), &presence); err != nil || len(presence) != 1 {
		t.Fatalf("getServicePresence: %v %+v", err, presence)
	}
	got := presence[0]
	if got.InstanceID != r.ID() || got.ServiceName != "sd-go-svc" || got.IP != "127.0.0.1" || string(got.Port) != "8181" ||
		got.Version != "1.2.3" || got.ServiceDescription != "go side" || got.ProcessID == 0 || got.HostName == "" {
		t.Errorf("getServicePresence entry: %+v", got)
	}
	if age := time.Since(time.UnixMilli(got.UpdatedOnTS)); got.UpdatedOnTS == 0 || age < -time.Second || age > 5*time.Second {
		t.Errorf("updatedOnTS %d parsed by Node is off: %v", got.UpdatedOnTS, age)
	}

	var nodes []nodeInstance
	if err := json.Unmarshal(p.MustCall("getServiceNodes"), &nodes); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range nodes {
		if n.InstanceID == r.ID() {
			found = n.Elapsed != nil && *n.Elapsed >= 0 && *n.Elapsed <= 2
		}
	}
	if !found {
		t.Errorf("getServiceNodes lacks the Go instance (or its elapsed is off): %+v", nodes)
	}
	var svc struct {
		ServiceName, Type, RegisteredOn string
	}
	if err := json.Unmarshal(p.MustCall("findService", "sd-go-svc"), &svc); err != nil || svc.ServiceName != "sd-go-svc" || svc.Type != "test" {
		t.Errorf("findService: %v %+v", err, svc)
	}
}

// RegisterRoutes replaces the routes Node reads and tells a live hydra-router (a Node peer of that
// name) to refresh.
func TestSDRegisterRoutesNotifiesNodeRouter(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	hc := redistest.Fleet(t, c)
	router := startNodePeer(t, srv.URL()+"/0", "hydra-router")
	// Node reports registerService done before its subscription and first presence write have reached
	// Redis: wait for both, or the refresh is (correctly) not sent or not heard.
	deadline := time.Now().Add(5 * time.Second)
	for {
		subs := c.PubSubNumSub(t.Context(), "hydra:service:mc:hydra-router").Val()["hydra:service:mc:hydra-router"]
		live, err := sdredis.ListInstances(t.Context(), hc, "hydra-router")
		if err == nil && len(live) == 1 && subs > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("router peer not live and subscribed: %v %v %d", live, err, subs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: "sd-routes", IP: "127.0.0.1", Port: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Register()
	t.Cleanup(r.Deregister)
	if err := r.RegisterRoutes(t.Context(), "[get]/v1/sd/hello"); err != nil {
		t.Fatal(err)
	}
	ev := router.WaitEvent("message", 5*time.Second)
	var msg struct {
		To, Frm string
		Bdy     struct{ Action, ServiceName string }
	}
	if err := json.Unmarshal(ev.Msg, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.To != "hydra-router:/refresh" || msg.Frm != "sd-routes:/" || msg.Bdy.Action != "refresh" || msg.Bdy.ServiceName != "sd-routes" {
		t.Errorf("refresh message: %s", ev.Msg)
	}
	var routes map[string][]string
	if err := json.Unmarshal(router.MustCall("getAllServiceRoutes"), &routes); err != nil {
		t.Fatal(err)
	}
	want := []string{"[get]/sd-routes", "[get]/sd-routes/", "[get]/sd-routes/:rest", "[get]/v1/sd/hello"}
	if have := slices.Sorted(slices.Values(routes["sd-routes"])); !slices.Equal(want, have) {
		t.Errorf("Node reads routes %v, want %v", have, want)
	}
}
