package integration

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/router/wsgate"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// wsRouter composes what hydrakit-router does for WebSockets: a Conn registered as hydra-router
// (type router) and the gateway on it, served over HTTP.
type wsRouter struct {
	g   *wsgate.Gateway
	iid string
	url string
}

func startWSRouter(t *testing.T, hk *hydrakit.Client) *wsRouter {
	t.Helper()
	iid := keyspace.NewInstanceID()
	conn, err := redispubsub.NewConn(hk, keyspace.RouterService, iid)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := sdredis.NewRegistrar(hk, sdredis.Service{Name: keyspace.RouterService, ID: iid, Type: "router"}, nil, sdredis.RegistrarJanitorGrace(0))
	if err != nil {
		t.Fatal(err)
	}
	g, err := wsgate.New(hk, conn)
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		_ = g.Close()
		srv.Close()
		reg.Deregister()
		_ = conn.Close()
	})
	return &wsRouter{g: g, iid: iid, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/"}
}

type wsTestClient struct {
	t  *testing.T
	ws *websocket.Conn
	id string
}

// wsConnect opens a socket and reads its connection message.
func wsConnect(t *testing.T, url string) *wsTestClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	c := &wsTestClient{t: t, ws: ws}
	m := c.read()
	var b struct{ ID string }
	if err := m.DecodeBody(&b); err != nil || m.Type != "connection" || b.ID == "" {
		t.Fatalf("want a connection message, have %+v %s", m, m.Body)
	}
	c.id = b.ID
	return c
}

func (c *wsTestClient) send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *wsTestClient) read() *umf.Message {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, data, err := c.ws.Read(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	m, err := umf.Unmarshal(data)
	if err != nil {
		c.t.Fatalf("%v: %s", err, data)
	}
	return m
}

// A socket reaches a Go service (examples/hmr, its own process) and a Node Hydra service answering
// with sendReplyMessage over pub/sub: both replies come back to it with the frame's mid as rmid.
func TestRouterWSPubSubToHMRAndNode(t *testing.T) {
	requireNode(t)
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	hk := redistest.Fleet(t, rdb)
	_, hmrID := startHMR(t, buildHMR(t), srv.URL()+"/0", "hmr")
	p := startNodePeer(t, srv.URL()+"/0", "node-ws-echo")
	waitSubscribed(t, rdb, keyspace.New().InstanceChannel("node-ws-echo", p.InstanceID))
	if _, err := p.Op("replyMode", map[string]any{"mode": "echo"}); err != nil {
		t.Fatal(err)
	}
	r := startWSRouter(t, hk)
	c := wsConnect(t, r.url)
	c.send(map[string]any{"to": "hmr:/", "frm": "ws-client:/", "mid": "to-hmr", "bdy": map[string]int{"n": 1}})
	c.send(map[string]any{"to": hmrID + "@hmr:/", "frm": "ws-client:/", "mid": "to-hmr-instance", "bdy": map[string]int{"n": 2}})
	c.send(map[string]any{"to": "node-ws-echo:/", "frm": "ws-client:/", "mid": "to-node", "bdy": map[string]int{"n": 3}})
	want := map[string]string{"to-hmr": `{"echo":{"n":1}}`, "to-hmr-instance": `{"echo":{"n":2}}`, "to-node": `{"echo":{"n":3}}`}
	for len(want) > 0 {
		m := c.read()
		w, ok := want[m.RMID]
		if !ok {
			t.Fatalf("unexpected frame %+v %s", m, m.Body)
		}
		if string(m.Body) != w {
			t.Errorf("%s: want %s, have %s", m.RMID, w, m.Body)
		}
		if want, have := r.iid+"-"+c.id+"@hydra-router:/", m.To; want != have {
			t.Errorf("%s: to: want %q, have %q", m.RMID, want, have)
		}
		delete(want, m.RMID)
	}
}

// Two routers: a client on A reaches a client on B by fwd, through the wsdir directory; a client
// that left B gets, once it reconnects (here on A), what was sent to it meanwhile.
func TestRouterWSForwardAndReconnectAcrossRouters(t *testing.T) {
	srv := redistest.Start(t)
	hk := redistest.Fleet(t, srv.Client(t))
	a, b := startWSRouter(t, hk), startWSRouter(t, hk)
	onA, onB := wsConnect(t, a.url), wsConnect(t, b.url)

	// A learns of B's client from B's wsdir.add broadcast: silent state, polled.
	deadline := time.Now().Add(10 * time.Second)
	for len(a.g.Directory()[b.iid]) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("router A never learnt of B's client")
		}
		time.Sleep(5 * time.Millisecond)
	}
	onA.send(map[string]any{"to": "hydra-router:/", "frm": onA.id + "@client:/", "mid": "hello", "fwd": onB.id + "@client:/", "bdy": map[string]string{"from": "A"}})
	m := onB.read()
	if m.MID != "hello" || string(m.Body) != `{"from":"A"}` || m.From != onA.id+"@client:/" {
		t.Errorf("fwd A→B: have %+v %s", m, m.Body)
	}

	// B's client leaves; what A's client sends it meanwhile waits in its queue.
	awayID := onB.id
	_ = onB.ws.Close(websocket.StatusNormalClosure, "")
	deadline = time.Now().Add(10 * time.Second)
	for len(a.g.Directory()[b.iid]) != 0 || len(b.g.Clients()) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the client never left")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := range 2 {
		onA.send(map[string]any{"to": "hydra-router:/", "frm": onA.id + "@client:/", "mid": "while-away-" + string(rune('0'+i)), "fwd": awayID + "@client:/", "bdy": map[string]int{"n": i}})
	}
	// A ping answered means A has handled the fwd frames before it (one socket, in order).
	onA.send(map[string]any{"to": "hydra-router:/", "frm": "a:/", "mid": "sync", "typ": "ping", "bdy": map[string]any{}})
	if m := onA.read(); m.RMID != "sync" {
		t.Fatalf("want the pong, have %+v %s", m, m.Body)
	}

	back := wsConnect(t, a.url)
	back.send(map[string]any{"to": "hydra-router:/", "frm": "back:/", "mid": "r", "typ": "reconnect", "bdy": map[string]string{"id": awayID}})
	m = back.read()
	var conn struct{ ID string }
	_ = m.DecodeBody(&conn)
	if m.Type != "connection" || conn.ID != awayID {
		t.Fatalf("want a connection message for %s, have %+v %s", awayID, m, m.Body)
	}
	for i := range 2 {
		m := back.read()
		if want, have := "while-away-"+string(rune('0'+i)), m.MID; want != have {
			t.Errorf("queued %d: want mid %s, have %s (%s)", i, want, have, m.Body)
		}
	}
}
