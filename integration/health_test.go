package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log/level"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/health"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// nodeHealthAll is one element of Node's getServiceHealthAll answer.
type nodeHealthAll struct {
	Health   []map[string]json.RawMessage `json:"health"`
	Log      []health.Entry               `json:"log"`
	Presence []nodeInstance               `json:"presence"`
}

// Node's getServiceHealthAll lists a Go instance (registered by sd/redis) with its health snapshot,
// its flight-recorder entries and its presence, with every field Node writes and in Node's types.
func TestHealthNodeSeesGoInstance(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	hc := redistest.Fleet(t, client)
	const svc = "go-health"
	reg, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: svc, IP: "127.0.0.1", Port: 8080, Version: "1.2.3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()
	defer reg.Deregister()

	checks := health.NewChecker()
	_ = checks.Register("redis", health.RedisCheck(hc))
	reporter, err := health.NewReporter(hc, svc, reg.ID(), health.ReporterChecker(checks))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reporter.Close() }()
	recorder, err := health.NewRecorder(hc, svc, reg.ID())
	if err != nil {
		t.Fatal(err)
	}
	_ = level.Error(recorder).Log("msg", "payment failed", "err", "card declined")
	_ = level.Info(recorder).Log("msg", "not recorded")
	_ = recorder.Close()
	logKey := keyspace.New().HealthLog(svc, reg.ID())
	if n := client.LLen(context.Background(), logKey).Val(); n != 1 {
		t.Fatalf("log entries: %d", n)
	}

	p := startNodePeer(t, srv.URL()+"/0", "node-observer")
	var all []nodeHealthAll
	if err := json.Unmarshal(p.MustCall("getServiceHealthAll"), &all); err != nil {
		t.Fatal(err)
	}
	var ours *nodeHealthAll
	for i := range all {
		if len(all[i].Health) == 1 && strings.Contains(string(all[i].Health[0]["serviceName"]), svc) {
			ours = &all[i]
		}
	}
	if ours == nil {
		t.Fatalf("Node's getServiceHealthAll does not list %s: %+v", svc, all)
	}

	h := ours.Health[0]
	str := func(k string) string {
		var s string
		if err := json.Unmarshal(h[k], &s); err != nil {
			t.Errorf("%s must be a string: %s", k, h[k])
		}
		return s
	}
	num := func(k string) float64 {
		var f float64
		if err := json.Unmarshal(h[k], &f); err != nil {
			t.Errorf("%s must be a number: %s", k, h[k])
		}
		return f
	}
	hostName, _ := os.Hostname()
	for k, want := range map[string]string{
		"serviceName": svc, "instanceID": reg.ID(), "hostName": hostName, "nodeVersion": runtime.Version(),
		"platform": runtime.GOOS, "status": "ok",
	} {
		if have := str(k); want != have {
			t.Errorf("%s: want %q, have %q", k, want, have)
		}
	}
	for _, k := range []string{"updatedOn", "sampledOn"} {
		ts, err := time.Parse("2006-01-02T15:04:05.000Z", str(k))
		if err != nil || time.Since(ts) > time.Minute {
			t.Errorf("%s: %v %v", k, ts, err)
		}
	}
	if str("architecture") == "" {
		t.Error("architecture missing")
	}
	if want, have := float64(os.Getpid()), num("processID"); want != have {
		t.Errorf("processID: want %v, have %v", want, have)
	}
	if num("uptimeSeconds") <= 0 || num("goroutines") < 1 {
		t.Errorf("uptimeSeconds %v, goroutines %v", num("uptimeSeconds"), num("goroutines"))
	}
	var mem map[string]float64
	if err := json.Unmarshal(h["memory"], &mem); err != nil {
		t.Fatalf("memory: %v", err)
	}
	for _, k := range []string{"rss", "heapTotal", "heapUsed", "external"} {
		if mem[k] <= 0 {
			t.Errorf("memory.%s: %v", k, mem[k])
		}
	}

	if want, have := 1, len(ours.Log); want != have {
		t.Fatalf("log: want %d entry, have %+v", want, ours.Log)
	}
	if e := ours.Log[0]; e.Type != "error" || e.Msg != `payment failed err="card declined"` ||
		e.ServiceName != svc || e.ProcessID != os.Getpid() || e.TS == "" {
		t.Errorf("log entry: %+v", e)
	}
	if !slices.ContainsFunc(ours.Presence, func(in nodeInstance) bool { return in.InstanceID == reg.ID() }) {
		t.Errorf("presence: %+v", ours.Presence)
	}
}

// A service whose Redis goes away keeps serving: logging through the flight recorder does not block,
// the readiness probe reports the Redis check failing, and everything recovers when Redis returns.
func TestHealthRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	defer func() { _ = client.Close() }()
	hc := redistest.Fleet(t, client)
	ctx := context.Background()
	svc, iid := "outage-svc", keyspace.NewInstanceID()

	checks := health.NewChecker()
	_ = checks.Register("redis", health.RedisCheck(hc), health.CheckTimeout(300*time.Millisecond))
	reporter, err := health.NewReporter(hc, svc, iid, health.ReporterInterval(100*time.Millisecond), health.ReporterChecker(checks))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reporter.Close() }()
	recorder, err := health.NewRecorder(hc, svc, iid)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = recorder.Close() }()
	probe := httptest.NewServer(health.ReadinessHandler(checks))
	defer probe.Close()
	ready := func() int {
		resp, err := http.Get(probe.URL)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if want, have := http.StatusOK, ready(); want != have {
		t.Fatalf("ready before: want %d, have %d", want, have)
	}

	srv.Kill(t)
	// A check's result serves probes for a second (health.Checker), so the probe turns within it.
	healthWaitUntil(t, 10*time.Second, func() bool { return ready() == http.StatusServiceUnavailable })
	// Log must not wait on Redis: 2,000 calls (more than the recorder's buffer of 1,024, so some are
	// dropped, and counted) finish while Redis is still down. Blocked ones would each wait out the
	// 2 s write timeout, past the generous limit below.
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		for range 2000 {
			_ = level.Error(recorder).Log("msg", "while down")
		}
	}()
	select {
	case <-logged:
	case <-time.After(30 * time.Second):
		t.Fatal("Log blocked while Redis was down")
	}

	srv.Restart(t) // keys are gone: the reporter must write the snapshot again
	healthWaitUntil(t, 10*time.Second, func() bool { return ready() == http.StatusOK })
	healthKey := keyspace.New().Health(svc, iid)
	healthWaitUntil(t, 10*time.Second, func() bool { return client.Exists(ctx, healthKey).Val() == 1 })
	_ = level.Error(recorder).Log("msg", "recovered")
	logKey := keyspace.New().HealthLog(svc, iid)
	healthWaitUntil(t, 10*time.Second, func() bool {
		return strings.Contains(client.LIndex(ctx, logKey, 0).Val(), `"msg":"recovered"`)
	})
	if recorder.Stats().Dropped == 0 {
		t.Error("entries lost during the outage must be counted")
	}
	// Every entry is accounted for: written, or counted as dropped (the notice of the drops goes to the
	// log before the drained buffer, which Hydra's 64-entry trim then pushes out; health's own tests
	// check the notice).
	healthWaitUntil(t, 10*time.Second, func() bool {
		st := recorder.Stats()
		return st.Written+st.Dropped >= 2001
	})
}

func healthWaitUntil(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Our snapshot and log entry have exactly Node's field names and types: Node's own getHealth() and
// sendToHealthLog() output decode into health.Snapshot and health.Entry, and every key Node writes is
// a key we write.
func TestHealthFieldsMatchNode(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	hc := redistest.Fleet(t, client)
	ctx := context.Background()
	p := startNodePeer(t, srv.URL()+"/0", "node-fields")

	raw := p.MustCall("getHealth")
	var nodeSnap health.Snapshot
	if err := json.Unmarshal(raw, &nodeSnap); err != nil {
		t.Fatalf("Node's snapshot does not decode into health.Snapshot: %v: %s", err, raw)
	}
	if nodeSnap.InstanceID != p.InstanceID || nodeSnap.Memory.HeapUsed == 0 || nodeSnap.ProcessID == 0 {
		t.Errorf("decoded Node snapshot: %+v", nodeSnap)
	}
	reporter, err := health.NewReporter(hc, "go-fields", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = reporter.Close() }()
	snap, err := reporter.Report(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := json.Marshal(snap)
	var nodeKeys, ourKeys map[string]json.RawMessage
	_ = json.Unmarshal(raw, &nodeKeys)
	_ = json.Unmarshal(ours, &ourKeys)
	for k := range nodeKeys {
		if _, ok := ourKeys[k]; !ok {
			t.Errorf("Node writes %q, we do not", k)
		}
	}
	var nodeMem, ourMem map[string]float64
	_ = json.Unmarshal(nodeKeys["memory"], &nodeMem)
	_ = json.Unmarshal(ourKeys["memory"], &ourMem)
	for k := range ourMem {
		if _, ok := nodeMem[k]; !ok {
			t.Errorf("memory.%s is not one of Node's: %v", k, nodeMem)
		}
	}

	p.MustCall("sendToHealthLog", "error", "node says <hi>")
	logKey := keyspace.New().HealthLog("node-fields", p.InstanceID)
	healthWaitUntil(t, 5*time.Second, func() bool { return client.LLen(ctx, logKey).Val() > 0 })
	var nodeEntry health.Entry
	nodeRaw := client.LIndex(ctx, logKey, 0).Val()
	if err := json.Unmarshal([]byte(nodeRaw), &nodeEntry); err != nil {
		t.Fatal(err)
	}
	if nodeEntry.Type != "error" || nodeEntry.Msg != "node says <hi>" || nodeEntry.ServiceName != "node-fields" {
		t.Errorf("Node's entry: %+v", nodeEntry)
	}
	// Our bytes are Node's bytes (key order, no HTML escaping), timestamps and process IDs aside.
	recorder, err := health.NewRecorder(hc, "node-fields", p.InstanceID)
	if err != nil {
		t.Fatal(err)
	}
	_ = recorder.Log("level", "error", "msg", "node says <hi>")
	_ = recorder.Close()
	goRaw := client.LIndex(ctx, logKey, 0).Val()
	var goEntry health.Entry
	if err := json.Unmarshal([]byte(goRaw), &goEntry); err != nil {
		t.Fatal(err)
	}
	goRaw = strings.Replace(goRaw, goEntry.TS, nodeEntry.TS, 1)
	goRaw = strings.Replace(goRaw, fmt.Sprintf(`"processID":%d`, goEntry.ProcessID), fmt.Sprintf(`"processID":%d`, nodeEntry.ProcessID), 1)
	if goRaw != nodeRaw {
		t.Errorf("entry bytes:\nnode %s\ngo   %s", nodeRaw, goRaw)
	}
}
