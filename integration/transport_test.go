package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/transport/redispubsub/balancer"
	"github.com/hydrakit/hydrakit/umf"
)

// transportService is a Go service as users run it: the Conn subscribes first, then the Registrar
// announces presence (Node delivers and replies only to instances it sees).
func transportService(t *testing.T, client *hydrakit.Client, service string) (*redispubsub.Conn, string) {
	t.Helper()
	id := keyspace.NewInstanceID()
	conn, err := redispubsub.NewConn(client, service, id)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := sdredis.NewRegistrar(client, sdredis.Service{Name: service, ID: id}, nil, sdredis.RegistrarJanitorGrace(0))
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()
	t.Cleanup(func() {
		reg.Deregister()
		_ = conn.Close()
	})
	return conn, id
}

type sumReq struct{ A, B int }

func sumSubscriber(t *testing.T) redispubsub.Handler {
	t.Helper()
	sub, err := redispubsub.NewSubscriber(
		func(_ context.Context, req interface{}) (interface{}, error) {
			r := req.(sumReq)
			return map[string]int{"sum": r.A + r.B}, nil
		},
		func(_ context.Context, m *umf.Message) (interface{}, error) {
			var r sumReq
			return r, m.DecodeBody(&r)
		},
		redispubsub.EncodeJSONResponse)
	if err != nil {
		t.Fatal(err)
	}
	return sub.ServeMessage
}

func TestTransportNodeRequestGoSubscriber(t *testing.T) {
	srv := redistest.Start(t)
	client := redistest.Fleet(t, srv.Client(t))
	conn, id := transportService(t, client, "gocalc")
	conn.Handle("/sum", sumSubscriber(t))
	p := startNodePeer(t, srv.URL()+"/0", "node-caller")

	raw, err := p.Op("request", map[string]any{"to": id + "@gocalc:[post]/sum", "bdy": map[string]int{"A": 40, "B": 2}})
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Sent, Reply *umf.Message }
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if want, have := res.Sent.MID, res.Reply.RMID; want != have {
		t.Errorf("rmid: want %q, have %q", want, have)
	}
	if want, have := p.InstanceID+"@node-caller:/", res.Reply.To; want != have {
		t.Errorf("to: want %q, have %q", want, have)
	}
	if want, have := `{"sum":42}`, string(res.Reply.Body); want != have {
		t.Errorf("bdy: want %s, have %s", want, have)
	}
	// A service address: Node picks the (only) instance itself.
	if _, err := p.Op("request", map[string]any{"to": "gocalc:/sum", "bdy": map[string]int{"A": 1, "B": 1}}); err != nil {
		t.Fatal(err)
	}
	// A body the endpoint cannot decode: Node gets the documented error reply.
	raw, err = p.Op("request", map[string]any{"to": id + "@gocalc:/sum", "bdy": "not an object"})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	var body struct { // Node Hydra's error body, as redispubsub.ErrorEncoder documents it
		StatusCode    int    `json:"statusCode"`
		StatusMessage string `json:"statusMessage"`
		Result        struct {
			Reason string `json:"reason"`
		} `json:"result"`
	}
	if err := res.Reply.DecodeBody(&body); err != nil {
		t.Fatal(err)
	}
	if res.Reply.Type != "error" || body.StatusCode != 400 || body.StatusMessage != "Bad Request" || body.Result.Reason == "" {
		t.Errorf("want a typ error reply with statusCode 400 and a reason, have typ %q %+v", res.Reply.Type, body)
	}
}

func TestTransportGoPublisherNodeResponder(t *testing.T) {
	srv := redistest.Start(t)
	client := redistest.Fleet(t, srv.Client(t))
	conn, _ := transportService(t, client, "gocaller")
	p := startNodePeer(t, srv.URL()+"/0", "node-echo")
	p.MustCall("getInstanceID") // the peer is up
	waitSubscribed(t, srv.Client(t), keyspace.New().InstanceChannel("node-echo", p.InstanceID))
	if _, err := p.Op("replyMode", map[string]any{"mode": "echo"}); err != nil {
		t.Fatal(err)
	}
	pub, err := redispubsub.NewPublisher(conn, p.InstanceID+"@node-echo:/v1/echo",
		redispubsub.EncodeJSONRequest,
		func(_ context.Context, m *umf.Message) (interface{}, error) {
			var v struct{ Echo map[string]string }
			return v, m.DecodeBody(&v)
		}, redispubsub.PublisherTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := pub.Endpoint()(context.Background(), map[string]string{"hello": "node"})
	if err != nil {
		t.Fatal(err)
	}
	if want, have := "node", resp.(struct{ Echo map[string]string }).Echo["hello"]; want != have {
		t.Errorf("want %q, have %q", want, have)
	}
}

func TestTransportBroadcastsBothWays(t *testing.T) {
	srv := redistest.Start(t)
	client := redistest.Fleet(t, srv.Client(t))
	conn, _ := transportService(t, client, "gofleet")
	got := make(chan *umf.Message, 4)
	conn.HandleDefault(func(_ context.Context, _ *redispubsub.Conn, m *umf.Message) { got <- m })
	p := startNodePeer(t, srv.URL()+"/0", "nodefleet")

	// Node → Go, on the Go service channel.
	if raw, err := p.Op("broadcast", map[string]any{"to": "gofleet:/news", "bdy": map[string]string{"from": "node"}}); err != nil || string(raw) != "null" {
		t.Fatalf("broadcast: %s %v", raw, err)
	}
	select {
	case m := <-got:
		if want, have := `{"from":"node"}`, string(m.Body); want != have {
			t.Errorf("want %s, have %s", want, have)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Go did not receive Node's broadcast")
	}
	// Go → Node, on the Node service channel.
	if err := conn.Broadcast(context.Background(), &umf.Message{To: "nodefleet:/news", From: conn.Address(), Body: []byte(`{"from":"go"}`)}); err != nil {
		t.Fatal(err)
	}
	ev := p.WaitEvent("message", 5*time.Second)
	m, err := umf.Unmarshal(ev.Msg)
	if err != nil {
		t.Fatal(err)
	}
	if want, have := `{"from":"go"}`, string(m.Body); want != have {
		t.Errorf("want %s, have %s", want, have)
	}
}

// buildHMR builds examples/hmr once per test into a temp dir.
func buildHMR(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hmr")
	out, err := exec.Command("go", "build", "-o", bin, "../examples/hmr").CombinedOutput()
	if err != nil {
		t.Fatalf("go build hmr: %v\n%s", err, out)
	}
	return bin
}

// startHMR starts an hmr responder and returns its process and instance ID.
func startHMR(t *testing.T, bin, redisURL, name string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "-redis", redisURL, "-name", name)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("hmr: %v", err)
	}
	return cmd, strings.TrimSpace(strings.TrimPrefix(line, "ready "))
}

func TestTransportBalancedClientSurvivesKilledResponder(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills child processes")
	}
	srv := redistest.Start(t)
	client := redistest.Fleet(t, srv.Client(t))
	bin := buildHMR(t)
	var procs []*exec.Cmd
	var ids []string
	for range 3 {
		cmd, id := startHMR(t, bin, srv.URL()+"/0", "hmr")
		procs, ids = append(procs, cmd), append(ids, id)
	}
	conn, _ := transportService(t, client, "hmr-caller")
	b, err := balancer.New(conn, "hmr", "/", redispubsub.EncodeJSONRequest,
		func(_ context.Context, m *umf.Message) (interface{}, error) {
			var v struct{ Echo int }
			return v.Echo, m.DecodeBody(&v)
		}, balancer.Timeout(5*time.Second),
		balancer.PublisherOptions(redispubsub.PublisherTimeout(500*time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e := b.Endpoint()

	// The phases are set by events: enough calls served before the kill; the dead instance gone from
	// an Instancer of the same client (whose watch the balancer's discovery shares) after it.
	watch, err := sdredis.NewInstancer(client, "hmr", nil, sdredis.InstancerInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	events := sdEvents(t, watch)
	const workers = 8
	var phase atomic.Int32 // 0: before the kill, 1: dead instance still listed, 2: gone from discovery
	var failed [3]atomic.Int32
	var served [3]atomic.Int32
	stop := make(chan struct{})
	progress := make(chan struct{}, 1) // a call was served
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ph := phase.Load()
				v, err := e(context.Background(), w*1_000_000+i)
				if err != nil || v.(int) != w*1_000_000+i {
					failed[ph].Add(1)
					t.Logf("phase %d: %v", ph, err)
					continue
				}
				served[ph].Add(1)
				select {
				case progress <- struct{}{}:
				default:
				}
			}
		}()
	}
	servedAtLeast := func(ph int, n int32) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for served[ph].Load() < n {
			select {
			case <-progress:
			case <-timeout:
				t.Fatalf("phase %d: only %d calls served", ph, served[ph].Load())
			}
		}
	}
	servedAtLeast(0, 100)
	if err := procs[0].Process.Kill(); err != nil { // SIGKILL: no deregistration
		t.Fatal(err)
	}
	phase.Store(1)
	alive := slices.Clone(ids[1:])
	slices.Sort(alive)
	sdWait(t, events, 15*time.Second, alive...)
	phase.Store(2)
	servedAtLeast(2, 300)
	close(stop)
	wg.Wait()
	t.Logf("served %d/%d/%d, failed %d/%d/%d (before kill / dead but listed / gone)",
		served[0].Load(), served[1].Load(), served[2].Load(), failed[0].Load(), failed[1].Load(), failed[2].Load())
	if n := failed[0].Load(); n != 0 {
		t.Errorf("%d requests failed before the kill", n)
	}
	if n := failed[1].Load(); n > workers {
		t.Errorf("%d requests failed while the dead instance was listed; at most the %d in flight may", n, workers)
	}
	if n := failed[2].Load(); n != 0 {
		t.Errorf("%d requests failed after the dead instance left discovery", n)
	}
	if served[2].Load() == 0 {
		t.Error("no request served after the kill")
	}
}

func TestTransportRedisRestartResubscribes(t *testing.T) {
	srv := redistest.Start(t)
	client := redistest.Fleet(t, srv.Client(t))
	serverID := keyspace.NewInstanceID()
	server, err := redispubsub.NewConn(client, "gocalc", serverID)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.Handle("/sum", sumSubscriber(t))
	caller, err := redispubsub.NewConn(client, "caller", keyspace.NewInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	pub, err := redispubsub.NewPublisher(caller, serverID+"@gocalc:/sum",
		redispubsub.EncodeJSONRequest, func(context.Context, *umf.Message) (interface{}, error) { return nil, nil },
		redispubsub.PublisherTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	e := pub.Endpoint()
	srv.Restart(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := e(context.Background(), sumReq{A: 1})
		if err == nil {
			break
		}
		if !errors.Is(err, redispubsub.ErrConnectionLost) && !errors.Is(err, redispubsub.ErrNoResponders) &&
			!errors.Is(err, context.DeadlineExceeded) && !isNetErr(err) {
			t.Fatalf("unexpected error while Redis restarts: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no successful request 15 s after the restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if server.Stats().Reconnects < 1 || caller.Stats().Reconnects < 1 {
		t.Errorf("want a resubscription on both Conns, have %d and %d", server.Stats().Reconnects, caller.Stats().Reconnects)
	}
}

func isNetErr(err error) bool {
	var op interface{ Timeout() bool }
	return errors.As(err, &op) || errors.Is(err, os.ErrDeadlineExceeded) || strings.Contains(err.Error(), "connect")
}
