package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/router"
	"github.com/hydrakit/hydrakit/umf"
)

// wsRouter is a real hydrakit-router (router.New) served over HTTP, and the WebSocket URL of it.
type wsRouter struct {
	r    *router.Router
	iid  string
	http string // http://host:port
	url  string // ws://host:port/
}

func startWSRouter(t *testing.T, hk *hydrakit.Client, options ...router.RouterOption) *wsRouter {
	t.Helper()
	r, front := startRouter(t, hk, options...)
	return &wsRouter{r: r, iid: r.ID(), http: front, url: "ws" + strings.TrimPrefix(front, "http") + "/"}
}

// wsdir reads the router's /v1/router/list/wsdir: {router: {client: 1}}.
func (r *wsRouter) wsdir(t *testing.T) map[string]map[string]int {
	t.Helper()
	resp, err := http.Get(r.http + "/v1/router/list/wsdir")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Result map[string]map[string]int `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	return env.Result
}

// waitWSDir waits until cond holds for the router's wsdir (silent state: directory broadcasts have
// no event a test sees; polled with a deadline).
func (r *wsRouter) waitWSDir(t *testing.T, what string, cond func(map[string]map[string]int) bool) {
	t.Helper()
	var dir map[string]map[string]int
	if !redistest.Poll(func() bool { dir = r.wsdir(t); return cond(dir) }) {
		t.Fatalf("%s: not seen; wsdir %v", what, dir)
	}
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

// A socket on a real router reaches a Go service (examples/hmr, its own process) and a Node Hydra
// service answering with sendReplyMessage over pub/sub: both replies come back to it with the
// frame's mid as rmid. Frames addressed svc:[method]/path reach a hydra-express 1.9.5 service over
// HTTP through the router's balancer, body and all, and the router API answers over the socket.
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
	startHXPeer(t, srv.URL()+"/0", "wshx")
	r := startWSRouter(t, hk)
	c := wsConnect(t, r.url)
	c.send(map[string]any{"to": "hmr:/", "frm": "ws-client:/", "mid": "to-hmr", "bdy": map[string]int{"n": 1}})
	c.send(map[string]any{"to": hmrID + "@hmr:/", "frm": "ws-client:/", "mid": "to-hmr-instance", "bdy": map[string]int{"n": 2}})
	c.send(map[string]any{"to": "node-ws-echo:/", "frm": "ws-client:/", "mid": "to-node", "bdy": map[string]int{"n": 3}})
	c.send(map[string]any{"to": "wshx:[get]/v1/wshx/echo?x=1", "frm": "ws-client:/", "mid": "to-hx-get", "bdy": map[string]any{}})
	c.send(map[string]any{"to": "wshx:[post]/v1/wshx/echo", "frm": "ws-client:/", "mid": "to-hx-post", "bdy": map[string]any{"a": []int{1, 2}}})
	c.send(map[string]any{"to": "hydra-router:[get]/v1/router/version", "frm": "ws-client:/", "mid": "api-version", "bdy": map[string]any{}})
	via := r.iid + "-" + c.id + "@hydra-router:/"
	want := map[string]struct{ to, body string }{
		"to-hmr":          {via, `{"echo":{"n":1}}`},
		"to-hmr-instance": {via, `{"echo":{"n":2}}`},
		"to-node":         {via, `{"echo":{"n":3}}`},
		"to-hx-get":       {"ws-client:/", ""}, // checked below
		"to-hx-post":      {"ws-client:/", ""},
		"api-version":     {c.id + "@client:/", ""},
	}
	for len(want) > 0 {
		m := c.read()
		w, ok := want[m.RMID]
		if !ok {
			t.Fatalf("unexpected frame %+v %s", m, m.Body)
		}
		delete(want, m.RMID)
		if m.To != w.to {
			t.Errorf("%s: to: want %q, have %q", m.RMID, w.to, m.To)
		}
		switch m.RMID {
		case "to-hx-get", "to-hx-post":
			var have received
			if err := json.Unmarshal(m.Body, &have); err != nil {
				t.Errorf("%s: %v %s", m.RMID, err, m.Body)
				continue
			}
			want := received{Kind: "node-express", Method: "GET", URL: "/v1/wshx/echo?x=1", SHA256: sha(nil), Tracer: have.Tracer}
			if m.RMID == "to-hx-post" {
				body := []byte(`{"a":[1,2]}`)
				want = received{Kind: "node-express", Method: "POST", URL: "/v1/wshx/echo", CType: "application/json",
					Len: len(body), SHA256: sha(body), Tracer: have.Tracer}
			}
			frm := map[string]string{"to-hx-get": "wshx:[get]/v1/wshx/echo?x=1", "to-hx-post": "wshx:[post]/v1/wshx/echo"}[m.RMID]
			if have != want || have.Tracer == "" || m.From != frm {
				t.Errorf("%s: frm %q; the service received\nhave %+v\nwant %+v", m.RMID, m.From, have, want)
			}
		case "api-version":
			var v struct{ Version string }
			if err := json.Unmarshal(m.Body, &v); err != nil || v.Version == "" || m.From != r.iid+"@hydra-router:/" {
				t.Errorf("router API over WebSocket: %+v %s", m, m.Body)
			}
		default:
			if string(m.Body) != w.body {
				t.Errorf("%s: want %s, have %s", m.RMID, w.body, m.Body)
			}
		}
	}
}

// With a routerToken, the router API is refused to a socket opened without ?token= (hydra-router
// skips this check over WebSocket) and over HTTP, and answered to a socket opened with it —
// list/wsdir included, which hydra-router cannot reach over WebSocket.
func TestRouterWSTokenGuardsAPI(t *testing.T) {
	srv := redistest.Start(t)
	hk := redistest.Fleet(t, srv.Client(t))
	token := uuid.NewString()
	r := startWSRouter(t, hk, router.RouterToken(token))
	for path, code := range map[string]int{"/v1/router/version": 404, "/v1/router/version?token=" + token: 200} {
		resp, err := http.Get(r.http + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != code {
			t.Errorf("GET %s: want %d, have %d", path, code, resp.StatusCode)
		}
	}
	version := map[string]any{"to": "hydra-router:[get]/v1/router/version", "frm": "ws-client:/", "mid": "v", "bdy": map[string]any{}}

	without := wsConnect(t, r.url)
	without.send(version)
	if m := without.read(); m.RMID != "v" || string(m.Body) != `{"reason":"HR: router token required"}` {
		t.Errorf("API frame on a socket without the token: %+v %s", m, m.Body)
	}
	without.send(map[string]any{"to": "hydra-router:[get]/v1/router/list/wsdir", "frm": "ws-client:/", "mid": "d", "bdy": map[string]any{}})
	if m := without.read(); m.RMID != "d" || string(m.Body) != `{"reason":"HR: router token required"}` {
		t.Errorf("list/wsdir frame on a socket without the token: %+v %s", m, m.Body)
	}

	with := wsConnect(t, r.url+"?token="+token)
	with.send(version)
	var v struct{ Version string }
	if m := with.read(); m.RMID != "v" || json.Unmarshal(m.Body, &v) != nil || v.Version == "" {
		t.Errorf("API frame on a socket with the token: %+v %s", m, m.Body)
	}
	with.send(map[string]any{"to": "hydra-router:[get]/v1/router/list/wsdir", "frm": "ws-client:/", "mid": "d", "bdy": map[string]any{}})
	m := with.read()
	var dir map[string]map[string]int
	if err := json.Unmarshal(m.Body, &dir); err != nil || m.RMID != "d" || dir[r.iid][with.id] != 1 || dir[r.iid][without.id] != 1 {
		t.Errorf("list/wsdir over WebSocket: %v %+v %s", err, m, m.Body)
	}
}

// Two routers: a client on A reaches a client on B by fwd, through the wsdir directory; a client
// that left B gets, once it reconnects (here on A), what was sent to it meanwhile.
func TestRouterWSForwardAndReconnectAcrossRouters(t *testing.T) {
	srv := redistest.Start(t)
	hk := redistest.Fleet(t, srv.Client(t))
	a, b := startWSRouter(t, hk), startWSRouter(t, hk)
	onA, onB := wsConnect(t, a.url), wsConnect(t, b.url)

	// A learns of B's client from B's wsdir.add broadcast; A's list/wsdir shows it.
	a.waitWSDir(t, "router A lists B's client", func(d map[string]map[string]int) bool { return d[b.iid][onB.id] == 1 })
	onA.send(map[string]any{"to": "hydra-router:/", "frm": onA.id + "@client:/", "mid": "hello", "fwd": onB.id + "@client:/", "bdy": map[string]string{"from": "A"}})
	m := onB.read()
	if m.MID != "hello" || string(m.Body) != `{"from":"A"}` || m.From != onA.id+"@client:/" {
		t.Errorf("fwd A→B: have %+v %s", m, m.Body)
	}

	// B's client leaves; what A's client sends it meanwhile waits in its queue.
	awayID := onB.id
	_ = onB.ws.Close(websocket.StatusNormalClosure, "")
	gone := func(d map[string]map[string]int) bool { _, ok := d[b.iid][awayID]; return !ok }
	a.waitWSDir(t, "A sees B's client leave", gone)
	b.waitWSDir(t, "B's client left", gone)
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
