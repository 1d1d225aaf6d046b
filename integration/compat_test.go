package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// The TestCompat tests (this file and compat_*_test.go) back the rows of docs/compatibility.md that
// earlier rested on unit tests against hand-written strings: each runs the real hydra@1.9.3 against a
// real redis-server and compares, or reads across, what Node and hydrakit write.

// compatService is the hydra config of a Node service run by node/compat.js.
type compatService struct {
	Name        string `json:"serviceName"`
	Description string `json:"serviceDescription,omitempty"`
	Version     string `json:"serviceVersion,omitempty"`
	Type        string `json:"serviceType,omitempty"`
	IP          string `json:"serviceIP"`
	HTTP        bool   `json:"-"` // serve HTTP on the registered port, as hydra-express does
}

// startCompatService starts a real Node Hydra service with the config svc (node/compat.js) on the
// Redis at redisURL and waits until registerService has returned. It is stopped when the test ends.
func startCompatService(t *testing.T, redisURL string, svc compatService) *nodePeer {
	t.Helper()
	dir := requireNode(t)
	config, err := json.Marshal(svc)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "compat.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "COMPAT_CONFIG="+string(config), "COMPAT_REDIS_URL="+redisURL)
	if svc.HTTP {
		cmd.Env = append(cmd.Env, "COMPAT_HTTP=1")
	}
	return launchNodePeer(t, cmd)
}

// compatWait polls cond until it holds, failing the test after timeout: for states in Redis that no
// event announces (a key written, a TTL expired, a list drained).
func compatWait(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jsonFields splits a JSON object into its top-level keys, in order, and their raw values.
func jsonFields(t *testing.T, raw string) ([]string, map[string]string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", raw)
	}
	var keys []string
	vals := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		keys = append(keys, tok.(string))
		vals[tok.(string)] = string(v)
	}
	return keys, vals
}

func jsonType(v string) string {
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// compareJSON checks that the JSON objects Node and Go wrote have the same keys in the same order,
// the same JSON type for each value, and byte-identical values except for the keys in vary (instance
// IDs, timestamps, process IDs), which only need the same type.
func compareJSON(t *testing.T, what, node, goside string, vary ...string) {
	t.Helper()
	nodeKeys, nodeVals := jsonFields(t, node)
	goKeys, goVals := jsonFields(t, goside)
	if !slices.Equal(nodeKeys, goKeys) {
		t.Errorf("%s: keys differ\nnode %v\ngo   %v", what, nodeKeys, goKeys)
		return
	}
	for _, k := range nodeKeys {
		n, g := nodeVals[k], goVals[k]
		switch {
		case jsonType(n) != jsonType(g):
			t.Errorf("%s: %s is a %s in Node (%s), a %s in Go (%s)", what, k, jsonType(n), n, jsonType(g), g)
		case !slices.Contains(vary, k) && n != g:
			t.Errorf("%s: %s is %s in Node, %s in Go", what, k, n, g)
		}
	}
}

// compatKeys lists the keys that mention service, with the service name and instance ID replaced by
// <svc> and <iid>, leaving out the health snapshot and log (the Reporter's and Recorder's, compared in
// the health tests). hydrakit's own keys are returned apart.
func compatKeys(t *testing.T, c goredis.UniversalClient, service, instance string) (hydra, own []string) {
	t.Helper()
	keys, err := c.Keys(t.Context(), "*").Result() // a test Redis with a handful of keys
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.Contains(k, ":"+service+":") || strings.HasSuffix(k, ":health") || strings.HasSuffix(k, ":health:log") {
			continue
		}
		k = strings.ReplaceAll(strings.ReplaceAll(k, ":"+service+":", ":<svc>:"), ":"+instance+":", ":<iid>:")
		if strings.HasPrefix(k, "hydra:service:hydrakit:") {
			own = append(own, k)
		} else {
			hydra = append(hydra, k)
		}
	}
	slices.Sort(hydra)
	return hydra, own
}

// What a Registrar writes is what Node's registerService writes for the same service: the same keys,
// a :service record and nodes entry with Node's field names, order and JSON types (byte for byte but
// for IDs, timestamps and process IDs), the same presence value and TTL. And each side reads the
// other's: Node's getServices and getServicePresence list the Go service, Go's ListInstances parses
// every field of Node's entry.
func TestCompatRegistrationAsNodeWritesIt(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	hc := redistest.Fleet(t, c)
	ctx := t.Context()
	const description, version = "compat check", "1.2.3"
	node := startCompatService(t, srv.URL()+"/0", compatService{Name: "reg-node", Description: description, Version: version, Type: "test", IP: "127.0.0.1"})
	// registerService returns before its first presence write has reached Redis.
	compatWait(t, 5*time.Second, "Node's presence", func() bool {
		return c.Exists(ctx, "hydra:service:reg-node:"+node.InstanceID+":presence").Val() == 1
	})
	nodeEntry := c.HGet(ctx, "hydra:service:nodes", node.InstanceID).Val()
	var port int // Node's randomly chosen port, which it writes as a number
	if err := json.Unmarshal([]byte(nodeEntry), &struct {
		Port *int `json:"port"`
	}{&port}); err != nil || port == 0 {
		t.Fatalf("Node's port: %v: %s", err, nodeEntry)
	}

	// Explicit IP and version: what a Registrar fills in for empty ones is another question.
	reg, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: "reg-go", IP: "127.0.0.1", Port: port, Version: version, Description: description, Type: "test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()
	t.Cleanup(reg.Deregister)

	nodeKeys, nodeOwn := compatKeys(t, c, "reg-node", node.InstanceID)
	goKeys, _ := compatKeys(t, c, "reg-go", reg.ID())
	if len(nodeKeys) < 2 || len(nodeOwn) != 0 || !slices.Equal(nodeKeys, goKeys) {
		t.Errorf("keys differ (hydrakit's own aside)\nnode %v\ngo   %v", nodeKeys, goKeys)
	}
	for _, svc := range []struct{ name, id string }{{"reg-node", node.InstanceID}, {"reg-go", reg.ID()}} {
		if want, have := svc.id, c.Get(ctx, "hydra:service:"+svc.name+":"+svc.id+":presence").Val(); want != have {
			t.Errorf("%s presence value: want %q, have %q", svc.name, want, have)
		}
		if ttl := c.PTTL(ctx, "hydra:service:"+svc.name+":"+svc.id+":presence").Val(); ttl <= 0 || ttl > 3*time.Second {
			t.Errorf("%s presence TTL %v, want (0, 3s] as Node's SETEX 3", svc.name, ttl)
		}
	}

	nodeRecord := c.Get(ctx, "hydra:service:reg-node:service").Val()
	goRecord := c.Get(ctx, "hydra:service:reg-go:service").Val()
	compareJSON(t, ":service record", nodeRecord, goRecord, "serviceName", "registeredOn")
	// Node reads the nodes entry again, now that both are written.
	nodeEntry = c.HGet(ctx, "hydra:service:nodes", node.InstanceID).Val()
	goEntry := c.HGet(ctx, "hydra:service:nodes", reg.ID()).Val()
	compareJSON(t, "nodes entry", nodeEntry, goEntry, "serviceName", "instanceID", "updatedOn", "processID")
	for _, raw := range []string{nodeRecord, goRecord, nodeEntry, goEntry} {
		var ts struct{ RegisteredOn, UpdatedOn string }
		_ = json.Unmarshal([]byte(raw), &ts)
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", ts.RegisteredOn+ts.UpdatedOn); err != nil {
			t.Errorf("timestamp is not Date.toISOString(): %s", raw)
		}
	}

	// Node reads the Go service.
	var services []struct{ ServiceName, Type, RegisteredOn string }
	if err := json.Unmarshal(node.MustCall("getServices"), &services); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(services, func(s struct{ ServiceName, Type, RegisteredOn string }) bool {
		return s.ServiceName == "reg-go" && s.Type == "test" && s.RegisteredOn != ""
	}) || len(services) != 2 {
		t.Errorf("Node's getServices: %+v", services)
	}
	var presence []nodeInstance
	if err := json.Unmarshal(node.MustCall("getServicePresence", "reg-go"), &presence); err != nil {
		t.Fatal(err)
	}
	if len(presence) != 1 || presence[0].InstanceID != reg.ID() || presence[0].Version != version || string(presence[0].Port) != strconv.Itoa(port) {
		t.Errorf("Node's getServicePresence of the Go service: %+v", presence)
	}

	// Go reads the Node service.
	list, err := sdredis.ListInstances(ctx, hc, "reg-node")
	if err != nil || len(list) != 1 {
		t.Fatalf("ListInstances: %v %+v", err, list)
	}
	host, _ := os.Hostname()
	if in := list[0]; in.ID != node.InstanceID || in.Service != "reg-node" || in.Version != version || in.Description != description ||
		in.IP != "127.0.0.1" || in.Port != port || in.HostName != host || in.ProcessID <= 0 || time.Since(in.UpdatedOn) > time.Minute {
		t.Errorf("Go's reading of Node's entry: %+v", in)
	}
}

// RegisterRoutes writes what Node's registerRoutes writes, first and on replacement: the same route
// set (with the three routes Node adds) and, for a live hydra-router, a refresh broadcast of the same
// shape. A real Node hydra-router hears Go's refresh and reads Go's routes.
func TestCompatRoutesAsNodeWritesThem(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	hc := redistest.Fleet(t, c)
	ctx := t.Context()
	const routerChannel = "hydra:service:mc:hydra-router"
	router := startNodePeer(t, srv.URL()+"/0", "hydra-router")
	// Both sides broadcast only to a router they see: wait until it is live and subscribed.
	compatWait(t, 5*time.Second, "router live and subscribed", func() bool {
		live, err := sdredis.ListInstances(ctx, hc, "hydra-router")
		return err == nil && len(live) == 1 && c.PubSubNumSub(ctx, routerChannel).Val()[routerChannel] > 0
	})
	wire := c.Subscribe(ctx, routerChannel)
	defer func() { _ = wire.Close() }()
	if _, err := wire.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	node := startCompatService(t, srv.URL()+"/0", compatService{Name: "rt-node", IP: "127.0.0.1"})
	reg, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: "rt-go", IP: "127.0.0.1", Port: 1, Version: "1.0.0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()
	t.Cleanup(reg.Deregister)

	routesOf := func(svc string) []string {
		members := c.SMembers(ctx, "hydra:service:"+svc+":service:routes").Val()
		for i, m := range members {
			members[i] = strings.ReplaceAll(m, svc, "<svc>")
		}
		slices.Sort(members)
		return members
	}
	for _, routes := range [][]string{{"[get]/v1/items", "[post]/v1/items/:id"}, {"[put]/v1/other"}} {
		node.MustCall("registerRoutes", routes)
		if err := reg.RegisterRoutes(ctx, routes...); err != nil {
			t.Fatal(err)
		}
		nodeSet, goSet := routesOf("rt-node"), routesOf("rt-go")
		if len(nodeSet) != len(routes)+3 || !slices.Equal(nodeSet, goSet) {
			t.Errorf("routes %v: Node's set %v, Go's %v", routes, nodeSet, goSet)
		}

		// The refresh broadcasts as they travel, and as the Node router receives them.
		raw := map[string]string{}
		for len(raw) < 2 {
			select {
			case m := <-wire.Channel():
				var msg struct{ Frm string }
				_ = json.Unmarshal([]byte(m.Payload), &msg)
				raw[msg.Frm] = m.Payload
			case <-time.After(5 * time.Second):
				t.Fatalf("refresh broadcasts seen: %v", raw)
			}
		}
		nodeMsg, goMsg := raw["rt-node:/"], raw["rt-go:/"]
		compareJSON(t, "refresh broadcast", nodeMsg, goMsg, "mid", "ts", "frm", "bdy")
		if strings.ReplaceAll(nodeMsg[strings.Index(nodeMsg, `"bdy"`):], "rt-node", "<svc>") !=
			strings.ReplaceAll(goMsg[strings.Index(goMsg, `"bdy"`):], "rt-go", "<svc>") {
			t.Errorf("refresh bodies differ:\nnode %s\ngo   %s", nodeMsg, goMsg)
		}
		heard := map[string]bool{}
		for len(heard) < 2 {
			var msg struct{ To, Frm string }
			_ = json.Unmarshal(router.WaitEvent("message", 5*time.Second).Msg, &msg)
			heard[msg.To+" from "+msg.Frm] = true
		}
		if !heard["hydra-router:/refresh from rt-go:/"] {
			t.Errorf("the Node router heard %v", heard)
		}
		var all map[string][]string
		if err := json.Unmarshal(router.MustCall("getAllServiceRoutes"), &all); err != nil {
			t.Fatal(err)
		}
		if have := slices.Sorted(slices.Values(all["rt-go"])); len(have) != len(goSet) {
			t.Errorf("the Node router reads Go's routes %v, Go wrote %v", have, goSet)
		}
	}
}

// The janitor acts on a fleet with Node instances in it: a SIGKILLed Node instance's nodes entry (Node
// never removes one) is removed once its presence is gone, a live Node instance's entry stays although
// the janitor's clock says it is long past the grace, and a Node peer goes on finding the Go service
// (getServicePresence) and listing the fleet (getServiceNodes) while the janitor runs. The grace
// period itself is hydrakit's policy, tested in sd/redis (TestJanitorRemovesOnlyLongDeadEntries).
func TestCompatJanitorKeepsNodeFleetWorking(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx := t.Context()
	live := startNodePeer(t, srv.URL()+"/0", "jan-live")
	dead := startNodePeer(t, srv.URL()+"/0", "jan-dead")
	presence := func(svc, id string) bool { return c.Exists(ctx, "hydra:service:"+svc+":"+id+":presence").Val() == 1 }
	compatWait(t, 5*time.Second, "Node presence written", func() bool {
		return presence("jan-live", live.InstanceID) && presence("jan-dead", dead.InstanceID)
	})
	dead.Kill()
	compatWait(t, 5*time.Second, "killed Node instance's presence expired", func() bool { return !presence("jan-dead", dead.InstanceID) })
	if c.HExists(ctx, "hydra:service:nodes", dead.InstanceID).Val() != true {
		t.Fatal("the dead Node instance's entry is gone before the janitor ran")
	}

	// The janitor's clock runs an hour ahead: every entry is past the grace, and only presence decides.
	ahead := redistest.Fleet(t, c, hydrakit.WithClock(func() time.Time { return time.Now().Add(time.Hour) }))
	reg, err := sdredis.NewRegistrar(ahead, sdredis.Service{Name: "jan-go", IP: "127.0.0.1", Port: 8080, Version: "1.0.0"}, nil,
		sdredis.RegistrarJanitorGrace(sdredis.MinJanitorGrace))
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()
	t.Cleanup(reg.Deregister)

	calls := 0
	compatWait(t, 3*sdredis.MinJanitorGrace, "janitor removed the dead Node instance's entry", func() bool {
		var found []nodeInstance
		if err := json.Unmarshal(live.MustCall("getServicePresence", "jan-go"), &found); err != nil || len(found) != 1 || found[0].InstanceID != reg.ID() {
			t.Fatalf("Node's getServicePresence of the Go service while the janitor runs: %v %+v", err, found)
		}
		calls++
		return !c.HExists(ctx, "hydra:service:nodes", dead.InstanceID).Val()
	})
	var nodes []nodeInstance
	if err := json.Unmarshal(live.MustCall("getServiceNodes"), &nodes); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, n := range nodes {
		ids[n.InstanceID] = true
	}
	if !ids[live.InstanceID] || !ids[reg.ID()] || ids[dead.InstanceID] || len(ids) != 2 {
		t.Errorf("Node's getServiceNodes after the janitor: %+v", nodes)
	}
	var self []nodeInstance
	if err := json.Unmarshal(live.MustCall("getServicePresence", "jan-live"), &self); err != nil || len(self) != 1 {
		t.Errorf("the live Node instance no longer finds itself: %v %+v", err, self)
	}
	t.Logf("Node looked the Go service up %d times while the janitor ran", calls)
}

// A go-kit HTTP client, balanced over the Go Instancer, calls a Node HTTP service (a Node http server
// on the port hydra registered, as hydra-express serves) at its registered ip:port.
func TestCompatGoKitClientCallsNodeHTTPService(t *testing.T) {
	srv := redistest.Start(t)
	hc := redistest.Fleet(t, srv.Client(t))
	node := startCompatService(t, srv.URL()+"/0", compatService{Name: "node-api", IP: "127.0.0.1", HTTP: true})
	instancer, err := sdredis.NewInstancer(hc, "node-api", log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer instancer.Stop()
	type reply struct {
		StatusCode int `json:"statusCode"`
		Result     struct {
			InstanceID, Method, Path string
			Body                     struct{ Name string }
		} `json:"result"`
	}
	factory := func(instance string) (endpoint.Endpoint, io.Closer, error) {
		u, err := url.Parse("http://" + instance + "/v1/greet")
		if err != nil {
			return nil, nil, err
		}
		return httptransport.NewClient(http.MethodPost, u, httptransport.EncodeJSONRequest,
			func(_ context.Context, r *http.Response) (interface{}, error) {
				var v reply
				return v, json.NewDecoder(r.Body).Decode(&v)
			}).Endpoint(), nil, nil
	}
	endpointer := sd.NewEndpointer(instancer, factory, log.NewNopLogger())
	defer endpointer.Close()
	// A new Node instance is found at the Instancer's next nodes scan (≤ 3 s).
	compatWait(t, 10*time.Second, "Endpointer has the Node instance", func() bool {
		eps, err := endpointer.Endpoints()
		return err == nil && len(eps) == 1
	})
	resp, err := lb.NewRoundRobin(endpointer).Endpoint()
	if err != nil {
		t.Fatal(err)
	}
	got, err := resp(t.Context(), map[string]string{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	r := got.(reply)
	if r.StatusCode != 200 || r.Result.InstanceID != node.InstanceID || r.Result.Method != http.MethodPost ||
		r.Result.Path != "/v1/greet" || r.Result.Body.Name != "Ada" {
		t.Errorf("Node answered %+v", r)
	}
}
