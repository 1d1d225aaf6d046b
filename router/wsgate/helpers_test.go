package wsgate

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// testRouter is a gateway on a router Conn of its own, served by an httptest server.
type testRouter struct {
	g    *Gateway
	conn *redispubsub.Conn
	srv  *httptest.Server
	iid  string
}

func startRouter(t *testing.T, hk *hydrakit.Client, options ...GatewayOption) *testRouter {
	t.Helper()
	iid := keyspace.NewInstanceID()
	conn, err := redispubsub.NewConn(hk, keyspace.RouterService, iid)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(hk, conn, options...)
	if err != nil {
		_ = conn.Close()
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Error(err)
		}
		srv.Close()
		_ = conn.Close()
	})
	return &testRouter{g: g, conn: conn, srv: srv, iid: iid}
}

func (r *testRouter) url(query string) string {
	return "ws" + strings.TrimPrefix(r.srv.URL, "http") + "/" + query
}

// wsClient is a test's socket; it is closed when the test ends.
type wsClient struct {
	t  *testing.T
	ws *websocket.Conn
	ID string
}

func dial(t *testing.T, url string, header http.Header) (*wsClient, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, resp, err
	}
	ws.SetReadLimit(8 << 20)
	c := &wsClient{t: t, ws: ws}
	t.Cleanup(func() { _ = ws.CloseNow() })
	return c, resp, nil
}

// connect dials url and reads the connection message.
func connect(t *testing.T, url string) *wsClient {
	t.Helper()
	c, _, err := dial(t, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := c.read()
	if want, have := "connection", m.Type; want != have {
		t.Fatalf("want typ %q, have %q", want, have)
	}
	var b struct{ ID string }
	if err := m.DecodeBody(&b); err != nil || b.ID == "" {
		t.Fatalf("connection body: %s (%v)", m.Body, err)
	}
	c.ID = b.ID
	return c
}

func (c *wsClient) send(frame string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *wsClient) readRaw() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.ws.Read(ctx)
	return data, err
}

func (c *wsClient) read() *umf.Message {
	c.t.Helper()
	data, err := c.readRaw()
	if err != nil {
		c.t.Fatal(err)
	}
	m, err := umf.Unmarshal(data)
	if err != nil {
		c.t.Fatalf("%v: %s", err, data)
	}
	return m
}

// readReply reads frames until one with rmid arrives, skipping others.
func (c *wsClient) readReply(rmid string) *umf.Message {
	c.t.Helper()
	for {
		m := c.read()
		if m.RMID == rmid {
			return m
		}
	}
}

// readReplies reads n frames with rmid and returns them by rmid.
func (c *wsClient) readReplies(n int) map[string]*umf.Message {
	c.t.Helper()
	out := map[string]*umf.Message{}
	for len(out) < n {
		if m := c.read(); m.RMID != "" {
			out[m.RMID] = m
		}
	}
	return out
}

// closeStatus reads until the socket is closed and returns the close status.
func (c *wsClient) closeStatus() websocket.StatusCode {
	for {
		if _, err := c.readRaw(); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func frameJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// startEcho registers service name with an echo Conn answering {"echo": bdy}, as examples/hmr does.
func startEcho(t testing.TB, hk *hydrakit.Client, name string) string {
	t.Helper()
	reg, err := sdredis.NewRegistrar(hk, sdredis.Service{Name: name}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := redispubsub.NewConn(hk, name, reg.ID())
	if err != nil {
		t.Fatal(err)
	}
	conn.HandleDefault(func(ctx context.Context, c *redispubsub.Conn, m *umf.Message) {
		r := &umf.Message{}
		_ = r.SetBody(map[string]json.RawMessage{"echo": m.Body})
		_ = c.Reply(ctx, m, r)
	})
	reg.Register()
	t.Cleanup(func() {
		reg.Deregister()
		_ = conn.Close()
	})
	return reg.ID()
}

func realRedis(t *testing.T) *goredis.Client {
	t.Helper()
	return redistest.Client(t)
}
