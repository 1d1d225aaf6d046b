package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/umf"
)

// The fidelity sweep (issue 13): what a real hydra@1.9.3 reads, writes and sends, against hydrakit.
// Node is the judge: each test runs integration/node/fidelity.js.

// fidelityWait bounds every wait for something that must happen: a bound on failure, not a timing claim.
const fidelityWait = 15 * time.Second

// After Redis restarts empty (FLUSHALL), a Go service's routes come back with the rest of its
// registration, and hydra-router is told to reload them, as Node's registerRoutes does.
func TestFidelityRoutesAfterRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	client := redistest.Fleet(t, rdb)
	router := startFidelityNode(t, srv.URL()+"/0", "hydra-router")

	// Go must see the router before it registers routes, or it has nobody to tell.
	routers, err := sdredis.NewInstancer(client, "hydra-router", nil, sdredis.InstancerInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer routers.Stop()
	waitFidelityInstance(t, routers, router.ID)
	// and the router must hear it: Node registers before its SUBSCRIBE is confirmed.
	waitSubscribed(t, rdb, keyspace.New().RouterChannel())

	reg, err := sdredis.NewRegistrar(client, sdredis.Service{Name: "fid-routes", IP: "127.0.0.1", Port: 8080}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()
	defer reg.Deregister()
	if err := reg.RegisterRoutes(t.Context(), "[get]/v1/fid/items", "[post]/v1/fid/items"); err != nil {
		t.Fatal(err)
	}
	want := []string{"[get]/fid-routes", "[get]/fid-routes/", "[get]/fid-routes/:rest", "[get]/v1/fid/items", "[post]/v1/fid/items"}
	router.waitMessage(t, isRouteRefresh("fid-routes"))
	checkNodeRoutes(t, router, "fid-routes", want)

	// Redis loses every key; the Node router has registered again at once (in the same transaction,
	// so that the order does not depend on whose timer fires first).
	entry, err := rdb.HGet(t.Context(), "hydra:service:nodes", router.ID).Result()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rdb.TxPipelined(t.Context(), func(p goredis.Pipeliner) error {
		p.FlushAll(t.Context())
		p.HSet(t.Context(), "hydra:service:nodes", router.ID, entry)
		p.Set(t.Context(), "hydra:service:hydra-router:"+router.ID+":presence", router.ID, 3*time.Second)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	router.waitMessage(t, isRouteRefresh("fid-routes"))
	checkNodeRoutes(t, router, "fid-routes", want)
}

func isRouteRefresh(service string) func(umf.Message) bool {
	return func(m umf.Message) bool {
		return m.To == "hydra-router:/refresh" && strings.Contains(string(m.Body), `"serviceName":"`+service+`"`)
	}
}

// checkNodeRoutes asks Node's getAllServiceRoutes for the routes of service.
func checkNodeRoutes(t *testing.T, n *fidelityNode, service string, want []string) {
	t.Helper()
	var all map[string][]string
	if err := json.Unmarshal(n.call(t, "getAllServiceRoutes"), &all); err != nil {
		t.Fatal(err)
	}
	if have := slices.Sorted(slices.Values(all[service])); !slices.Equal(want, have) {
		t.Fatalf("Node's getAllServiceRoutes for %s: want %v, have %v (all: %v)", service, want, have, all)
	}
}

// waitFidelityInstance waits until in lists the instance id.
func waitFidelityInstance(t *testing.T, in *sdredis.Instancer, id string) {
	t.Helper()
	ch := make(chan sd.Event, 16)
	in.Register(ch)
	defer in.Deregister(ch)
	deadline := time.After(fidelityWait)
	for {
		select {
		case ev := <-ch:
			if slices.Contains(ev.Instances, id) {
				return
			}
		case <-deadline:
			t.Fatalf("instance %s never discovered", id)
		}
	}
}

// Messages a real Node sends with a numeric-string tmo, a non-object hdr and an rmi are served, not
// dropped: umf reads them as Node does, writes them back as Node does, and verifies Node's signature.
func TestFidelityLenientUMFFromNode(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	client := redistest.Fleet(t, rdb)
	reg, err := sdredis.NewRegistrar(client, sdredis.Service{Name: "fid-umf", IP: "127.0.0.1", Port: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()
	defer reg.Deregister()
	sub := rdb.Subscribe(t.Context(), client.Keyspace().InstanceChannel("fid-umf", reg.ID()))
	defer sub.Close()
	if _, err := sub.Receive(t.Context()); err != nil {
		t.Fatal(err)
	}
	node := startFidelityNode(t, srv.URL()+"/0", "fid-sender")
	to, frm := reg.ID()+"@fid-umf:/work", node.ID+"@fid-sender:/"

	// What Node's sendMessage publishes, as it publishes it.
	node.op(t, "send", map[string]any{"msg": map[string]any{"to": to, "frm": frm, "tmo": "5", "hdr": "x", "rmi": "r", "bdy": map[string]int{"n": 1}}})
	raw := receiveFidelity(t, sub)
	if !strings.Contains(raw, `"hdr":"x"`) || !strings.Contains(raw, `"tmo":"5"`) {
		t.Fatalf("Node did not send what this test is about: %s", raw)
	}
	m, err := umf.Unmarshal([]byte(raw))
	if err != nil {
		t.Fatalf("a message Node sends and serves is refused: %v\n%s", err, raw)
	}
	if m.Timeout != 5 || m.Headers != nil || m.RMID != "" || m.From != frm || string(m.Body) != `{"n":1}` {
		t.Errorf("read as tmo %v, hdr %s, rmid %q, frm %q, bdy %s", m.Timeout, m.Headers, m.RMID, m.From, m.Body)
	}

	// Signed by Node with tmo as a string: the signature covers "timeout":"5".
	node.op(t, "send", map[string]any{"msg": map[string]any{"to": to, "frm": frm, "tmo": "5", "bdy": "signed"}, "secret": "s3cret"})
	raw = receiveFidelity(t, sub)
	if m, err = umf.Unmarshal([]byte(raw)); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	if err := umf.Verify(m, []byte("s3cret")); err != nil {
		t.Errorf("Node's signature: %v\n%s", err, raw)
	}

	// rmi does not make a reply: Node's own receiver serves such a message as a request.
	raw = `{"to":"` + node.ID + `@fid-sender:/","frm":"x@elsewhere:/","mid":"m-rmi","rmi":"r","bdy":{"q":1}}`
	if err := rdb.Publish(t.Context(), client.Keyspace().InstanceChannel("fid-sender", node.ID), raw).Err(); err != nil {
		t.Fatal(err)
	}
	got := node.waitMessage(t, func(m umf.Message) bool { return m.MID == "m-rmi" })
	if m, err = umf.Unmarshal([]byte(raw)); err != nil || m.RMID != "" || got.RMID != "" {
		t.Errorf("rmi: Node reads rmid %q, umf %q (%v)", got.RMID, m.RMID, err)
	}

	// Written back: the bytes Node writes for the same text (and signs), except that umf drops an hdr
	// that is not an object.
	for _, text := range []string{
		`{"to":"a:/","frm":"b:/","mid":"m","ts":"t","ver":"UMF/1.4.6","tmo":"5","bdy":{"n":1}}`,
		`{"to":"a:/","frm":"b:/","mid":"m","ts":"t","ver":"UMF/1.4.6","timeout":"2.5e1","tmo":3,"bdy":1}`,
		`{"to":"a:/","frm":"b:/","mid":"m","ts":"t","ver":"UMF/1.4.6","rmi":"r","bdy":[]}`,
		`{"to":"a:/","frm":"b:/","mid":"m","ts":"t","ver":"UMF/1.4.6","hdr":"x","bdy":{}}`,
	} {
		var node2 struct{ Wire, Sig string }
		if err := json.Unmarshal(node.op(t, "wire", map[string]string{"text": text, "secret": "k"}), &node2); err != nil {
			t.Fatal(err)
		}
		m, err := umf.Unmarshal([]byte(text))
		if err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Replace(node2.Wire, `"hdr":"x",`, "", 1)
		if want != string(out) {
			t.Errorf("%s:\nnode %s\numf  %s", text, want, out)
		}
		if want == node2.Wire {
			if err := umf.Sign(m, []byte("k")); err != nil || m.Signature != node2.Sig {
				t.Errorf("%s: Node signs %s, umf %s (%v)", text, node2.Sig, m.Signature, err)
			}
		}
	}
}

func receiveFidelity(t *testing.T, sub *goredis.PubSub) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), fidelityWait)
	defer cancel()
	msg, err := sub.ReceiveMessage(ctx)
	if err != nil {
		t.Fatalf("nothing from Node: %v", err)
	}
	return msg.Payload
}

// A Go service registered without an IP or a version writes what Node writes for one on the same
// host: Node's view of both (getServiceNodes) has the same ip, version and hostName.
func TestFidelityIPAndVersion(t *testing.T) {
	srv := redistest.Start(t)
	client := redistest.Fleet(t, srv.Client(t))
	for _, tc := range []struct{ name, ip string }{{"no IP", ""}, {"pattern", "127.*"}} {
		t.Run(tc.name, func(t *testing.T) {
			svc := redistest.Name("fid-host")
			var env []string
			if tc.ip != "" {
				env = append(env, "FID_IP="+tc.ip, "FID_PORT=5000") // see fidelity.js
			}
			node := startFidelityNode(t, srv.URL()+"/0", svc, env...)
			reg, err := sdredis.NewRegistrar(client, sdredis.Service{Name: svc, IP: tc.ip, Port: 1}, nil)
			if err != nil {
				t.Fatal(err)
			}
			reg.Register()
			defer reg.Deregister()
			var nodes []struct {
				InstanceID, IP, Version, HostName string
			}
			if err := json.Unmarshal(node.call(t, "getServiceNodes"), &nodes); err != nil {
				t.Fatal(err)
			}
			byID := map[string]int{}
			for i, n := range nodes {
				byID[n.InstanceID] = i
			}
			ni, nok := byID[node.ID]
			gi, gok := byID[reg.ID()]
			if !nok || !gok {
				t.Fatalf("Node lists %+v; want %s and %s", nodes, node.ID, reg.ID())
			}
			n, g := nodes[ni], nodes[gi]
			if n.IP == "" {
				t.Fatalf("Node chose no ip on this host: %+v", n)
			}
			if n.IP != g.IP || n.Version != g.Version || n.HostName != g.HostName {
				t.Errorf("Node writes ip %q version %q hostName %q; Go %q %q %q", n.IP, n.Version, n.HostName, g.IP, g.Version, g.HostName)
			}
		})
	}
}

// fidelityNode is integration/node/fidelity.js: a real Node Hydra service driven over stdin/stdout.
type fidelityNode struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ID    string

	mu      sync.Mutex
	next    int
	pending map[int]chan fidelityAnswer
	events  chan fidelityEvent
	done    chan struct{}
}

type fidelityAnswer struct {
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
}

type fidelityEvent struct {
	Event      string          `json:"event"`
	InstanceID string          `json:"instanceID"`
	Msg        json.RawMessage `json:"msg"`
	Error      string          `json:"error"`
}

// startFidelityNode starts fidelity.js as service on the Redis at redisURL and waits until it has
// registered. It skips without node and the npm packages, except in CI, where it fails.
func startFidelityNode(t *testing.T, redisURL, service string, env ...string) *fidelityNode {
	t.Helper()
	dir, _ := filepath.Abs("node")
	_, errNode := exec.LookPath("node")
	_, errMod := os.Stat(filepath.Join(dir, "node_modules", "hydra"))
	if errNode != nil || errMod != nil {
		msg := "Node Hydra unavailable: install node and run `npm ci` in integration/node (make test does)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// -e, not a script path: see fidelity.js.
	cmd := exec.Command("node", "-e", fmt.Sprintf("require(%q)", filepath.Join(dir, "fidelity.js")))
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "FID_SERVICE="+service, "FID_REDIS_URL="+redisURL)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &fidelityNode{
		cmd: cmd, stdin: stdin, pending: map[int]chan fidelityAnswer{},
		events: make(chan fidelityEvent, 256), done: make(chan struct{}),
	}
	go n.read(stdout)
	t.Cleanup(n.stop)
	deadline := time.After(fidelityWait)
	for n.ID == "" {
		select {
		case ev := <-n.events:
			if ev.Event == "fatal" {
				t.Fatalf("fidelity.js: %s", ev.Error)
			}
			n.ID = ev.InstanceID
		case <-n.done:
			t.Fatal("fidelity.js exited before it was ready")
		case <-deadline:
			t.Fatal("fidelity.js not ready")
		}
	}
	return n
}

func (n *fidelityNode) read(stdout io.Reader) {
	defer close(n.done)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for sc.Scan() {
		var probe struct {
			ID *int `json:"id"`
		}
		if json.Unmarshal(sc.Bytes(), &probe) != nil {
			continue
		}
		if probe.ID == nil {
			var ev fidelityEvent
			_ = json.Unmarshal(sc.Bytes(), &ev)
			select {
			case n.events <- ev:
			default: // a test that ignores events must not block the reader
			}
			continue
		}
		var a fidelityAnswer
		_ = json.Unmarshal(sc.Bytes(), &a)
		n.mu.Lock()
		ch := n.pending[*probe.ID]
		delete(n.pending, *probe.ID)
		n.mu.Unlock()
		if ch != nil {
			ch <- a
		}
	}
}

// op runs an op of fidelity.js and returns its result, failing the test on an error.
func (n *fidelityNode) op(t *testing.T, op string, args any) json.RawMessage {
	t.Helper()
	n.mu.Lock()
	n.next++
	id := n.next
	ch := make(chan fidelityAnswer, 1)
	n.pending[id] = ch
	n.mu.Unlock()
	line, err := json.Marshal(map[string]any{"id": id, "op": op, "args": args})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.stdin.Write(append(line, '\n')); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-ch:
		if a.Error != "" {
			t.Fatalf("fidelity.js %s: %s", op, a.Error)
		}
		return a.Result
	case <-n.done:
		t.Fatalf("fidelity.js exited during %s", op)
	case <-time.After(fidelityWait):
		t.Fatalf("fidelity.js %s: no answer", op)
	}
	return nil
}

// call invokes hydra.method(...args).
func (n *fidelityNode) call(t *testing.T, method string, args ...any) json.RawMessage {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	return n.op(t, "call", map[string]any{"method": method, "args": args})
}

// waitMessage returns the first message Node received (as its 'message' event gives it) that match
// accepts.
func (n *fidelityNode) waitMessage(t *testing.T, match func(umf.Message) bool) umf.Message {
	t.Helper()
	deadline := time.After(fidelityWait)
	for {
		select {
		case ev := <-n.events:
			if ev.Event != "message" {
				continue
			}
			var m umf.Message
			if err := json.Unmarshal(ev.Msg, &m); err != nil {
				t.Fatalf("Node emitted %s: %v", ev.Msg, err)
			}
			if match(m) {
				return m
			}
		case <-n.done:
			t.Fatal("fidelity.js exited")
		case <-deadline:
			t.Fatal("Node received no such message")
		}
	}
}

func (n *fidelityNode) stop() {
	_ = n.stdin.Close() // fidelity.js shuts hydra down and exits when stdin closes
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	_ = n.cmd.Wait()
}
