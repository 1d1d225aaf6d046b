package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log/level"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/health"
	"github.com/hydrakit/hydrakit/internal/cli"
	"github.com/hydrakit/hydrakit/internal/redistest"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

var updateCLI = flag.Bool("update-cli", false, "rewrite the golden files in testdata/cli")

const cliGoID = "90000000000000000000000000000001"

// cliFleet is a real Redis holding a Node Hydra service, a Go service and a queue with work in each
// list, and what the golden files' normaliser replaces.
type cliFleet struct {
	url  string
	rdb  *goredis.Client
	node *nodePeer
	env  cli.Env
	repl []string // pairs: value, placeholder
}

func startCLIFleet(t *testing.T) *cliFleet {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	hc := redistest.Fleet(t, rdb)
	ctx := t.Context()
	f := &cliFleet{url: srv.URL() + "/0", rdb: rdb, env: cli.Env{ConfigDir: t.TempDir(), Getenv: func(string) string { return "" }}}

	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header()["Date"] = nil
		if r.URL.Path != "/v1/hello" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"statusCode":404,"statusMessage":"Not Found","result":{"reason":"no route"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{"hello":"world"}}`))
	}))
	t.Cleanup(web.Close)
	_, goPort, _ := net.SplitHostPort(web.Listener.Addr().String())
	port, _ := strconv.Atoi(goPort)
	reg, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: "go-svc", ID: cliGoID, IP: "127.0.0.1", Port: port,
		Version: "1.0.0", Description: "go side", Type: "test", HostName: "go-host"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.RegisterRoutes(ctx, "[get]/v1/hello"); err != nil {
		t.Fatal(err)
	}
	reg.Register()
	t.Cleanup(reg.Deregister)
	conn, err := redispubsub.NewConn(hc, "go-svc", cliGoID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	conn.HandleDefault(func(ctx context.Context, c *redispubsub.Conn, msg *umf.Message) {
		resp := &umf.Message{}
		_ = resp.SetBody(map[string]json.RawMessage{"pong": msg.Body})
		_ = c.Reply(ctx, msg, resp)
	})
	rep, err := health.NewReporter(hc, "go-svc", cliGoID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rep.Close() })
	if _, err := rep.Report(ctx); err != nil {
		t.Fatal(err)
	}
	rec, err := health.NewRecorder(hc, "go-svc", cliGoID)
	if err != nil {
		t.Fatal(err)
	}
	_ = level.Error(rec).Log("msg", "hello from go")
	_ = rec.Close()

	f.node = startNodePeer(t, f.url, "node-svc")
	if _, err := f.node.Op("replyMode", map[string]string{"mode": "echo"}); err != nil {
		t.Fatal(err)
	}
	f.node.MustCall("sendToHealthLog", "info", "hello from node")
	waitSubscribed(t, rdb, hc.Keyspace().InstanceChannel("node-svc", f.node.InstanceID))

	// A queue with work in each list, at fixed times.
	q := func(id string, extra string) string {
		return `{"to":"go-svc:/work","frm":"tester:/","mid":"` + id + `","ts":"2030-01-01T00:00:00.000Z","ver":"UMF/1.4.6","bdy":{"job":"` + id + `"` + extra + `}}`
	}
	keys := hc.Keyspace()
	rdb.LPush(ctx, keys.QueueReceived("go-svc"), q("job-1", ""), q("job-2", ""), q("job-3", ""))
	rdb.LMove(ctx, keys.QueueReceived("go-svc"), keys.QueueInProgress("go-svc"), "RIGHT", "LEFT")
	rdb.RPush(ctx, keys.QueueIncomplete("go-svc"), q("job-0", `,"reason":"boom"`))

	// Silent state: wait until every key the goldens read is there.
	for _, k := range []string{keys.Health("node-svc", f.node.InstanceID), keys.Presence("go-svc", cliGoID),
		keys.HealthLog("go-svc", cliGoID), keys.HealthLog("node-svc", f.node.InstanceID)} {
		redistest.Eventually(t, "the fleet to come up: "+k, func() bool { return rdb.Exists(ctx, k).Val() == 1 })
	}
	nodeInst, err := sdredis.ListInstances(ctx, hc, "node-svc")
	if err != nil || len(nodeInst) != 1 {
		t.Fatalf("node instance: %v %v", nodeInst, err)
	}
	host, _ := os.Hostname()
	f.repl = []string{
		f.node.InstanceID, "<node-iid>",
		strconv.Itoa(nodeInst[0].Port), "<node-port>",
		goPort, "<go-port>",
		strconv.Itoa(f.node.cmd.Process.Pid), "<node-pid>",
		strconv.Itoa(os.Getpid()), "<go-pid>",
		strings.TrimPrefix(srv.URL(), "redis://127.0.0.1:"), "<redis-port>",
		host, "<host>",
	}
	return f
}

// run runs the CLI in-process on the fleet's Redis.
func (f *cliFleet) run(t *testing.T, env cli.Env, stdin string, args ...string) (string, string, int) {
	t.Helper()
	env.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	code := env.Run(t.Context(), append([]string{"--redis", f.url}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

var (
	reTS      = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
	reMID     = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	reIID     = regexp.MustCompile(`\b[0-9a-f]{32}\b`)
	reElapsed = regexp.MustCompile(`"elapsed": \d+|\b\d+s\b`)
	reMB      = regexp.MustCompile(`\b\d+\.\dMB\b`)
	reSpaces  = regexp.MustCompile(`(\S) {2,}`)
)

func (f *cliFleet) normalise(s string) string {
	for i := 0; i < len(f.repl); i += 2 {
		s = regexp.MustCompile(`\b`+regexp.QuoteMeta(f.repl[i])+`\b`).ReplaceAllString(s, f.repl[i+1])
	}
	s = strings.ReplaceAll(s, cliGoID, "<go-iid>")
	s = reTS.ReplaceAllString(s, "<ts>")
	s = reMID.ReplaceAllString(s, "<mid>")
	s = reIID.ReplaceAllString(s, "<iid>")
	s = reElapsed.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, `"elapsed"`) {
			return `"elapsed": <n>`
		}
		return "<n>s"
	})
	s = reMB.ReplaceAllString(s, "<n>MB")
	return reSpaces.ReplaceAllString(s, "$1  ")
}

// golden compares a command's normalised output and exit code with testdata/cli/<name>.txt.
func (f *cliFleet) golden(t *testing.T, name string, env cli.Env, stdin string, wantCode int, args ...string) string {
	t.Helper()
	out, errOut, code := f.run(t, env, stdin, args...)
	if code != wantCode {
		t.Errorf("%s: hydrakit %s: exit %d, want %d; stderr: %s", name, strings.Join(args, " "), code, wantCode, errOut)
	}
	have := fmt.Sprintf("$ hydrakit %s\nexit %d\n%s", strings.Join(args, " "), code, f.normalise(out))
	if errOut != "" {
		have += "stderr:\n" + f.normalise(errOut)
	}
	path := filepath.Join("testdata", "cli", name+".txt")
	if *updateCLI {
		if err := os.WriteFile(path, []byte(have), 0o644); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./integration -run TestCLI -update-cli writes it)", err)
	}
	if string(want) != have {
		t.Errorf("%s: output differs from %s\n--- want\n%s\n--- have\n%s", name, path, want, have)
	}
	return out
}

// The hydra-cli commands and hydrakit's own, table and --json, against a real Redis holding a Node
// Hydra 1.9.3 service, a Go service and a queue with work in each list.
func TestCLIGolden(t *testing.T) {
	f := startCLIFleet(t)
	env := f.env
	fixed := env
	fixed.Now = func() time.Time { return time.Date(2030, 1, 1, 0, 1, 0, 0, time.UTC) }

	for _, c := range []struct {
		name string
		args []string
	}{
		{"nodes", []string{"nodes"}},
		{"nodes-json", []string{"nodes", "--json"}},
		{"nodes-svc", []string{"nodes", "node-svc"}},
		{"services", []string{"services"}},
		{"services-json", []string{"services", "--json"}},
		{"services-svc-json", []string{"services", "go-svc", "--json"}},
		{"routes", []string{"routes"}},
		{"routes-json", []string{"routes", "--json"}},
		{"health", []string{"health"}},
		{"healthlog-go", []string{"healthlog", "go-svc"}},
		{"healthlog-node-json", []string{"healthlog", "node-svc", "--json"}},
		{"rest", []string{"rest", "go-svc:[get]/v1/hello"}},
		{"call-go", []string{"call", "go-svc:/ping", `{"n":1}`}},
		{"call-go-json", []string{"call", "--json", "go-svc:/ping", `{"n":2}`}},
		{"call-node-register", []string{"call", "--register", "node-svc:/ping", `{"n":3}`}},
		{"shell", []string{"shell"}},
	} {
		f.golden(t, c.name, env, "", cli.ExitOK, c.args...)
	}
	// health --json: the snapshots' values change every second; their field names are the contract.
	out, _, code := f.run(t, env, "", "health", "--json")
	var hs []struct {
		ServiceName, InstanceID string
		Present                 bool
		Health                  map[string]any
	}
	if err := json.Unmarshal([]byte(out), &hs); err != nil || code != 0 {
		t.Fatalf("health --json: %v %d\n%s", err, code, out)
	}
	var shape strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&shape, "%s %s present=%v health=%v\n", h.ServiceName, h.InstanceID, h.Present, slices.Sorted(maps.Keys(h.Health)))
	}
	f.compare(t, "health-json", "health --json (field names)", f.normalise(shape.String()))

	// Queue commands at a fixed clock, so that ages are stable.
	for _, c := range []struct {
		name string
		code int
		args []string
	}{
		{"queue-stats", 0, []string{"queue", "stats", "go-svc"}},
		{"queue-stats-json", 0, []string{"queue", "stats", "go-svc", "--json"}},
		{"queue-peek", 0, []string{"queue", "peek", "go-svc"}},
		{"queue-peek-inprogress-json", 0, []string{"queue", "peek", "go-svc", "--list", "inprogress", "--json"}},
		{"queue-dead", 0, []string{"queue", "dead", "go-svc"}},
		{"queue-dead-json", 0, []string{"queue", "dead", "go-svc", "--json"}},
		{"queue-purge-refused", 2, []string{"queue", "purge", "go-svc"}},
		{"queue-requeue", 0, []string{"queue", "requeue", "go-svc"}},
		{"queue-stats-after-requeue", 0, []string{"queue", "stats", "go-svc"}},
		{"queue-requeue-missing", cli.ExitNotFound, []string{"queue", "requeue", "go-svc", "--position", "0"}},
		{"message-create", 0, []string{"message", "create"}},
	} {
		f.golden(t, c.name, fixed, "", c.code, c.args...)
	}
	f.rdb.RPush(t.Context(), "hydra:service:go-svc:mqincomplete", "not even json")
	f.golden(t, "queue-dead-garbage-json", fixed, "", 0, "queue", "dead", "go-svc", "--json")
	f.golden(t, "queue-purge", fixed, "", 0, "queue", "purge", "go-svc", "--yes", "--json")

	// cfg: what the CLI pushes, Node's getConfig reads.
	ctx := t.Context()
	doc := `{"workers": 4, "mode": "safe", "name": "é<&>"}`
	f.golden(t, "cfg-push", env, doc, 0, "cfg", "push", "node-svc:1.2.0", "-")
	f.golden(t, "cfg-push-json", env, `{"workers": 8}`, 0, "cfg", "push", "node-svc:1.10.0", "-", "--json")
	var seen map[string]any
	if err := json.Unmarshal(f.node.MustCall("getConfig", "node-svc:1.2.0"), &seen); err != nil {
		t.Fatal(err)
	}
	if want, have := "map[mode:safe name:é<&> workers:4]", fmt.Sprint(seen); want != have {
		t.Errorf("Node's getConfig of the CLI's push: want %s, have %s", want, have)
	}
	// Byte for byte what Node's putConfig (hydra-cli's cfg push) writes for the same document.
	f.node.MustCall("putConfig", "node-svc:node-bytes", json.RawMessage(doc))
	configs := "hydra:service:node-svc:configs"
	if want, have := f.rdb.HGet(ctx, configs, "node-bytes").Val(), f.rdb.HGet(ctx, configs, "1.2.0").Val(); want != have {
		t.Errorf("cfg push stored other bytes than Node's putConfig: want %s, have %s", want, have)
	}
	f.rdb.HDel(ctx, configs, "node-bytes")
	f.golden(t, "cfg-list", env, "", 0, "cfg", "list", "node-svc")
	f.golden(t, "cfg-list-json", env, "", 0, "cfg", "list", "node-svc", "--json")
	f.golden(t, "cfg-pull", env, "", 0, "cfg", "pull", "node-svc:1.2.0")
	f.golden(t, "cfg-remove", env, "", 0, "cfg", "remove", "node-svc:1.10.0")
	f.golden(t, "cfg-pull-missing", env, "", cli.ExitNotFound, "cfg", "pull", "node-svc:1.10.0")
	f.golden(t, "cfg-push-invalid", env, `[1,2]`, cli.ExitFailed, "cfg", "push", "node-svc:2.0.0", "-")

	// message send reaches the Node instance; message queue is consumed by Node's getQueuedMessage.
	msg := `{"to":"node-svc:/hello","frm":"ops:/","mid":"11111111-2222-4333-8444-555555555555","bdy":{"hi":"node"}}`
	f.golden(t, "message-send", env, msg, 0, "message", "send", "-")
	for ev := f.node.WaitEvent("message", 10*time.Second); !strings.Contains(string(ev.Msg), `"hi":"node"`); {
		ev = f.node.WaitEvent("message", 10*time.Second) // the calls above arrived first
	}
	queued := `{"to":"node-svc:/job","frm":"ops:/","mid":"66666666-2222-4333-8444-555555555555","bdy":{"job":"from-cli"}}`
	f.golden(t, "message-queue", env, queued, 0, "message", "queue", "-")
	taken, err := f.node.Op("queueTakeAndMark", map[string]any{"completed": true})
	if err != nil || !strings.Contains(string(taken), `"job":"from-cli"`) {
		t.Errorf("Node consumer took %s (%v)", taken, err)
	}
	f.golden(t, "message-send-nobody", env, strings.Replace(msg, "node-svc", "nobody", 1), cli.ExitNotFound, "message", "send", "-")

	// Pruning: an old entry without presence, and an old entry whose instance is still present.
	old := func(id, svc string) string {
		return `{"serviceName":"` + svc + `","serviceDescription":"x","version":"0","instanceID":"` + id +
			`","updatedOn":"` + time.Now().Add(-2*time.Minute).UTC().Format("2006-01-02T15:04:05.000Z") + `","processID":1,"ip":"10.0.0.1","port":"80","hostName":"old"}`
	}
	dead, stuck := "d0000000000000000000000000000000", "50000000000000000000000000000000"
	f.rdb.HSet(ctx, "hydra:service:nodes", dead, old(dead, "gone-svc"), stuck, old(stuck, "stuck-svc"))
	f.rdb.Set(ctx, "hydra:service:stuck-svc:"+stuck+":presence", stuck, time.Minute)
	f.repl = append(f.repl, dead, "<dead-iid>", stuck, "<stuck-iid>")
	f.golden(t, "nodes-lost", env, "", 0, "nodes")
	f.golden(t, "janitor-dry-run", env, "", 0, "janitor", "--dry-run")
	f.golden(t, "janitor-grace-too-short", env, "", cli.ExitUsage, "janitor", "--grace", "1s")
	f.golden(t, "janitor", env, "", 0, "janitor", "--json")
	f.golden(t, "refresh-node-list", env, "", 0, "refresh", "node", "list")
	f.golden(t, "nodes-after-prune-json", env, "", 0, "nodes", "--json")

	// Not found, one per command family.
	f.golden(t, "nodes-missing", env, "", cli.ExitNotFound, "nodes", "nobody")
	f.golden(t, "healthlog-missing", env, "", cli.ExitNotFound, "healthlog", "nobody")
	f.golden(t, "rest-missing", env, "", cli.ExitNotFound, "rest", "nobody:[get]/x")
	f.golden(t, "rest-404", env, "", cli.ExitFailed, "rest", "go-svc:[get]/v1/nope")
	f.golden(t, "rest-no-method", env, "", cli.ExitUsage, "rest", "go-svc:/v1/hello")
	f.golden(t, "call-missing", env, "", cli.ExitNotFound, "call", "nobody:/x", "{}")

	// redis info: the server's own text; --json groups it by section.
	out, _, code = f.run(t, env, "", "redis", "info", "--json")
	var info map[string]map[string]string
	if err := json.Unmarshal([]byte(out), &info); err != nil || code != 0 || info["server"]["redis_version"] == "" {
		t.Errorf("redis info --json: %v %d %.200s", err, code, out)
	}
	out, _, code = f.run(t, env, "", "redis", "info", "server")
	if code != 0 || !strings.Contains(out, "redis_version:") {
		t.Errorf("redis info server: %d %.200s", code, out)
	}
}

func (f *cliFleet) compare(t *testing.T, name, what, have string) {
	t.Helper()
	path := filepath.Join("testdata", "cli", name+".txt")
	have = what + "\n" + have
	if *updateCLI {
		if err := os.WriteFile(path, []byte(have), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != have {
		t.Errorf("%s differs from %s\n--- want\n%s\n--- have\n%s", what, path, want, have)
	}
}

// syncBuffer is a bytes.Buffer for a writer and a reader on different goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
