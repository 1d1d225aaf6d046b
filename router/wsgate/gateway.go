package wsgate

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/internal/ratelog"
	"github.com/hydrakit/hydrakit/internal/trust"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// ErrConfig is returned by New for an invalid argument or option.
var ErrConfig = errors.New("wsgate: invalid configuration")

// HTTPResponse is what an HTTPCaller got back from a service.
type HTTPResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// HTTPCaller makes the HTTP call a frame addressed svc:[method]/path asks for, balanced across the
// service's live instances exactly like a routed HTTP request. Service "hydra-router" is the
// router's own API. An unavailable service is best answered with hydra's 503 envelope
// ({"result":{"reason":"Unavailable svc instances"}}), whose result the socket then gets; an error
// reaches the socket as {"reason": err.Error()}.
type HTTPCaller interface {
	CallHTTP(ctx context.Context, service, method, target string, header http.Header, body []byte) (HTTPResponse, error)
}

// Routes of the router's Conn this package handles: hydra-router's own messages (the wsdir
// directory, fwd, via) come to "/", the broadcast to every client to BroadcastRoute.
const (
	DirectoryRoute = "/"
	BroadcastRoute = "/broadcast"
)

// Gateway serves WebSocket clients: see the package doc.
type Gateway struct {
	conn     *redispubsub.Conn
	rdb      goredis.UniversalClient
	keys     keyspace.Scheme
	iid      string // the router's instance ID
	self     string // <iid>@hydra-router:/
	cfg      config
	logger   log.Logger // rate limited
	signing  *trust.Keys
	verify   bool // frames must be signed
	now      func() time.Time
	inflight chan struct{}
	accept   *websocket.AcceptOptions

	mu      sync.Mutex
	clients map[string]*client
	slots   int // sockets accepted or being accepted
	dir     directory
	closed  bool

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the gateway starts, and every ServeHTTP
	stats  counters
}

// New returns a Gateway whose pub/sub traffic goes through conn, the router's own Conn (service
// hydra-router). It handles conn's routes DirectoryRoute and BroadcastRoute, and announces itself to
// the other routers (wsdir.sha). Close the Gateway before conn.
func New(hk *hydrakit.Client, conn *redispubsub.Conn, options ...GatewayOption) (*Gateway, error) {
	st := fleet.Of(hk)
	if st == nil || conn == nil {
		return nil, fmt.Errorf("%w: nil client or conn", ErrConfig)
	}
	a, err := umf.ParseAddress(conn.Address())
	if err != nil || a.Service != keyspace.RouterService || a.Instance == "" {
		return nil, fmt.Errorf("%w: conn %q is not a %s instance's", ErrConfig, conn.Address(), keyspace.RouterService)
	}
	cfg := defaultConfig()
	for _, o := range options {
		if o == nil {
			cfg.refuse("nil GatewayOption")
			continue
		}
		o(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	verify := cfg.requireSigned || st.Signing.Requires()
	if verify && !st.Signing.Signs() {
		return nil, fmt.Errorf("%w: GatewayRequireSignatures needs the client's signing keys (hydrakit.WithSigning)", ErrConfig)
	}
	logger := cfg.logger
	if logger == nil {
		logger = st.Logger
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &Gateway{
		conn: conn, rdb: st.Redis, keys: st.Keys, iid: a.Instance, self: a.Instance + "@" + keyspace.RouterService + ":/",
		cfg: cfg, logger: ratelog.New(log.With(logger, "component", "wsgate", "instance", a.Instance), 1),
		signing: st.Signing, verify: verify, now: st.Now,
		inflight: make(chan struct{}, cfg.maxInFlightAll),
		accept:   &websocket.AcceptOptions{OriginPatterns: cfg.origins, InsecureSkipVerify: cfg.anyOrigin},
		clients:  map[string]*client{},
		dir:      directory{routers: map[string]map[string]struct{}{}, max: cfg.maxDirectory},
		ctx:      ctx, cancel: cancel,
	}
	conn.Handle(DirectoryRoute, g.handleRouterMessage)
	conn.Handle(BroadcastRoute, g.handleBroadcast)
	g.announce("wsdir.sha", map[string]any{"routerID": g.iid})
	return g, nil
}

// ServeHTTP upgrades the request to a WebSocket (any path) and serves the client until it leaves.
// Past GatewayMaxClients it answers 503; a browser page of a refused origin gets 403.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	switch {
	case g.closed:
		g.mu.Unlock()
		http.Error(w, "wsgate: closed", http.StatusServiceUnavailable)
		return
	case g.slots >= g.cfg.maxClients:
		g.mu.Unlock()
		g.stats.refusedClients.Add(1)
		http.Error(w, "wsgate: too many clients", http.StatusServiceUnavailable)
		return
	}
	g.slots++
	g.wg.Add(1)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.slots--
		g.mu.Unlock()
		g.wg.Done()
	}()
	ws, err := websocket.Accept(w, r, g.accept)
	if err != nil {
		g.stats.refusedOrigins.Add(1)
		g.logger.Log("msg", "upgrade refused", "err", err, "origin", r.Header.Get("Origin"))
		return
	}
	ws.SetReadLimit(int64(g.cfg.maxFrame))
	token := r.URL.Query().Get("token")
	c := g.newClient(ws, clientIP(r), g.cfg.token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(g.cfg.token)) == 1)
	c.serve()
}

// clientIP is what hydra-router reports as the client's address: the X-Forwarded-For header when
// present, else the peer's IP.
func clientIP(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		return xff
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// Clients returns the IDs of the clients connected to this router, sorted.
func (g *Gateway) Clients() []string {
	g.mu.Lock()
	ids := make([]string, 0, len(g.clients))
	for id := range g.clients {
		ids = append(ids, id)
	}
	g.mu.Unlock()
	slices.Sort(ids)
	return ids
}

// Directory returns the clients of the other routers this gateway knows of, by router instance
// ID, as /v1/router/list/wsdir shows them (this router's own are Clients).
func (g *Gateway) Directory() map[string][]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string][]string, len(g.dir.routers))
	for r, ids := range g.dir.routers {
		list := make([]string, 0, len(ids))
		for id := range ids {
			list = append(list, id)
		}
		slices.Sort(list)
		out[r] = list
	}
	return out
}

// Close disconnects every client (status 1001, going away), tells the other routers this one's
// clients are gone (wsdir.rem), and returns once every goroutine of the gateway has ended.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	clients := make([]*client, 0, len(g.clients))
	for _, c := range g.clients {
		clients = append(clients, c)
	}
	g.mu.Unlock()
	g.announce("wsdir.rem", map[string]any{"routerID": g.iid})
	for _, c := range clients {
		c.kick(websocket.StatusGoingAway, "router closing")
	}
	g.cancel()
	g.wg.Wait()
	return nil
}

// goroutine runs f on a goroutine Close waits for; false when the gateway is closed.
func (g *Gateway) goroutine(f func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f()
	}()
	return true
}

// announce broadcasts a wsdir message to every router (hydra-router's sendBroadcastMessage to
// hydra-router:/); failures are logged, the directory is best effort as in hydra-router.
func (g *Gateway) announce(typ string, body any) {
	msg := &umf.Message{To: keyspace.RouterService + ":/", From: g.self, Type: typ}
	if err := msg.SetBody(body); err != nil {
		g.logger.Log("msg", "encode "+typ, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.writeTimeout)
	defer cancel()
	if err := g.conn.Broadcast(ctx, msg); err != nil && !errors.Is(err, redispubsub.ErrNoResponders) {
		g.logger.Log("msg", "announce "+typ, "err", err)
	}
}
