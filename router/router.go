package router

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/health"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/internal/ratelog"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/router/dashboard"
	"github.com/hydrakit/hydrakit/router/internal/envelope"
	"github.com/hydrakit/hydrakit/router/proxy"
	"github.com/hydrakit/hydrakit/router/wsgate"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// ownRoutes are the routes the router registers for itself, as hydra-router does, so that they are
// listed by hydra-cli and /v1/router/list/routes.
var ownRoutes = []string{
	"[get]/",
	"[get]/dashboard/*path",
	"[get]/metrics",
	"[get]/v1/router/health",
	"[get]/v1/router/list/:thing",
	"[get]/v1/router/version",
	"[get]/v1/router/clear",
	"[get]/v1/router/refresh",
	"[get]/v1/router/refresh/:service",
	"[get]/v1/router/log",
	"[get]/v1/router/stats",
	"[post]/v1/router/message",
	"[post]/v1/router/send",
	"[post]/v1/router/queue",
	"[post]/v1/router/stream/:name",
}

// Router is hydrakit-router: an http.Handler that routes HTTP requests to the live instances of
// Hydra services, serves WebSocket clients, the dashboard, /metrics and hydra-router's API, and is
// itself registered as an instance of service hydra-router.
type Router struct {
	client   *hydrakit.Client
	state    *fleet.State
	cfg      config
	id       string
	version  string
	hostName string
	logger   log.Logger // the log ring, then the client's logger
	reqLog   log.Logger // rate limited: lines triggered by requests
	ring     *logRing

	fwd       forwarder
	external  map[string]*httputil.ReverseProxy
	conn      *redispubsub.Conn
	gw        *wsgate.Gateway
	dash      *dashboard.Dashboard
	reg       *sdredis.Registrar
	reporter  *health.Reporter
	producer  *queue.Producer
	registry  *prometheus.Registry
	metrics   http.Handler
	httpStats counters
	wsStats   counters
	errStats  counters

	table  atomic.Pointer[table]
	loadMu sync.Mutex

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// New starts a router on the fleet client is connected to: it loads the route table, opens its
// pub/sub Conn (which the WebSocket gateway shares), registers as service hydra-router (type
// router) with its own routes, and starts watching the routes. Close undoes all of it.
func New(client *hydrakit.Client, options ...RouterOption) (*Router, error) {
	state := fleet.Of(client)
	if state == nil {
		return nil, fmt.Errorf("%w: nil client", ErrConfig)
	}
	cfg := config{cors: DefaultCORS(), timeout: DefaultTimeout, watch: DefaultRouteWatch}
	for _, o := range options {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrConfig)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	hostName, _ := os.Hostname()
	ring := &logRing{next: state.Logger, now: state.Now}
	r := &Router{
		client: client, state: state, cfg: cfg, id: keyspace.NewInstanceID(), version: version(),
		hostName: hostName, ring: ring, logger: log.With(ring, "component", "router"),
		registry: prometheus.NewRegistry(), external: map[string]*httputil.ReverseProxy{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	r.reqLog = ratelog.New(r.logger, 10)
	for base := range cfg.external {
		r.external[base] = externalProxy(base)
	}
	ok := false
	var closers []func() error
	defer func() {
		if !ok {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()

	r.fwd = cfg.forwarder
	if r.fwd == nil {
		cors := make(http.Header, len(cfg.cors))
		for k, v := range cfg.cors {
			cors[k] = []string{v}
		}
		p, err := proxy.New(client, proxy.ProxyRegisterer(r.registry), proxy.ProxyTimeout(cfg.timeout), proxy.ProxyCORS(cors))
		if err != nil {
			return nil, err
		}
		r.fwd = p
	}
	closers = append(closers, r.fwd.Close)
	var err error
	if r.producer, err = queue.NewProducer(client); err != nil {
		return nil, err
	}
	// Subscribe before the first load and before announcing presence, so that no refresh is lost:
	// routes registered while the table loads are either read by the load or announced after it.
	if r.conn, err = redispubsub.NewConn(client, keyspace.RouterService, r.id); err != nil {
		return nil, err
	}
	closers = append(closers, r.conn.Close)
	r.conn.Handle("/refresh", r.onRefresh)
	if err := r.reload(context.Background(), ""); err != nil {
		return nil, err
	}
	if r.gw, err = wsgate.New(client, r.conn, wsgate.GatewayHTTPCaller(r), wsgate.GatewayRouterToken(cfg.token)); err != nil {
		return nil, err
	}
	closers = append(closers, r.gw.Close)
	if r.dash, err = dashboard.New(client, dashboard.DashboardRouter(r.id, r.version),
		dashboard.DashboardTraffic(r.fwd.Traffic), dashboard.DashboardClients(r.gw.Clients)); err != nil {
		return nil, err
	}
	closers = append(closers, r.dash.Close)
	r.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "hydrakit", Subsystem: "router", Name: "websocket_clients",
			Help: "WebSocket clients connected to this router.",
		}, func() float64 { return float64(len(r.gw.Clients())) }))
	r.metrics = promhttp.HandlerFor(r.registry, promhttp.HandlerOpts{})

	svc := sdredis.Service{Name: keyspace.RouterService, ID: r.id, Type: "router", Description: "Service Router",
		IP: cfg.ip, Port: cfg.port, Version: r.version, HostName: hostName}
	if r.reg, err = sdredis.NewRegistrar(client, svc, r.logger); err != nil {
		return nil, err
	}
	checker := health.NewChecker()
	if err := checker.Register("redis", health.RedisCheck(client)); err != nil {
		return nil, err
	}
	if r.reporter, err = health.NewReporter(client, keyspace.RouterService, r.id, health.ReporterChecker(checker)); err != nil {
		return nil, err
	}
	closers = append(closers, r.reporter.Close)
	r.reg.Register()
	closers = append(closers, func() error { r.reg.Deregister(); return nil })
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	if err := r.reg.RegisterRoutes(ctx, ownRoutes...); err != nil {
		return nil, err
	}
	if err := r.reload(ctx, keyspace.RouterService); err != nil {
		return nil, err
	}
	go r.watch()
	ok = true
	return r, nil
}

// ID returns the router's instance ID.
func (r *Router) ID() string { return r.id }

// Instances returns the host:port of the instances of service this router balances its requests
// over now, sorted: its own view of discovery, which lags Redis by up to one lookup. The router
// follows a service from the first request routed to it; a first ask here starts following it too,
// waiting for its first lookup as long as ctx allows.
func (r *Router) Instances(ctx context.Context, service string) []string {
	if !r.fwd.Live(ctx, service) {
		return nil
	}
	return r.fwd.Instances(service)
}

// Registry returns the Prometheus registry /metrics serves, for the proxy's and the caller's own
// collectors.
func (r *Router) Registry() *prometheus.Registry { return r.registry }

// Close deregisters the router, disconnects its WebSocket clients and stops everything New started.
// It does not close the client.
func (r *Router) Close() error {
	var first error
	r.closeOnce.Do(func() {
		close(r.stop)
		<-r.done
		r.reg.Deregister() // presence first: no new traffic is sent here
		for _, c := range []func() error{r.gw.Close, r.dash.Close, r.reporter.Close, r.conn.Close, r.fwd.Close} {
			if err := c(); err != nil && first == nil {
				first = err
			}
		}
	})
	return first
}

// watch re-reads the whole route table every cfg.watch.
func (r *Router) watch() {
	defer close(r.done)
	t := time.NewTicker(r.cfg.watch)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			if err := r.reload(context.Background(), ""); err != nil {
				r.logger.Log("level", "error", "msg", "route table not refreshed", "err", err)
			}
		}
	}
}

// onRefresh handles hydra's {action:'refresh', serviceName} broadcast to hydra-router:/refresh.
func (r *Router) onRefresh(ctx context.Context, _ *redispubsub.Conn, msg *umf.Message) {
	var body struct {
		Action      string `json:"action"`
		ServiceName string `json:"serviceName"`
	}
	if err := msg.DecodeBody(&body); err != nil || body.Action != "refresh" {
		return
	}
	if err := r.reload(ctx, body.ServiceName); err != nil {
		r.reqLog.Log("level", "error", "msg", "routes not refreshed", "service", body.ServiceName, "err", err)
	}
}

// ServeHTTP dispatches as hydra-router does: OPTIONS, WebSocket upgrades, the dashboard, the router
// API, /metrics, then the route table and its fallbacks, else 404.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	path := req.URL.EscapedPath()
	switch {
	case req.Method == http.MethodOptions:
		h := w.Header()
		r.setCORS(h)
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range")
		w.WriteHeader(http.StatusNoContent)
	case isUpgrade(req):
		r.gw.ServeHTTP(w, req)
	case path == "/" || strings.HasPrefix(path, "/dashboard/"):
		if !r.allowed(req, isAsset(path)) {
			r.notFound(w)
			return
		}
		r.dash.ServeHTTP(w, req)
	case strings.HasPrefix(path, "/v1/router/"):
		if !r.allowed(req, false) {
			r.notFound(w)
			return
		}
		r.serveAPI(w, req, path)
	case path == "/metrics":
		r.metrics.ServeHTTP(w, req)
	default:
		r.route(w, req, path)
	}
}

func isUpgrade(req *http.Request) bool {
	if !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
		return false
	}
	for _, v := range req.Header.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// isAsset reports whether path is a dashboard asset, served without the token as hydra-router
// serves its .css, .js and font files.
func isAsset(path string) bool {
	for _, ext := range []string{".css", ".js", ".ttf", ".woff", ".woff2"} {
		if strings.HasSuffix(path, ext) {
			return true
		}
	}
	return false
}

// allowed applies disableRouterEndpoint and routerToken: with a token, ?token= must carry it,
// except for a request to Host "localhost" from a loopback address (the container health check).
func (r *Router) allowed(req *http.Request, asset bool) bool {
	switch {
	case r.cfg.disableAPI:
		return false
	case r.cfg.token == "" || asset:
		return true
	case req.Host == "localhost" && isLoopback(req.RemoteAddr):
		return true
	}
	return subtle.ConstantTimeCompare([]byte(req.URL.Query().Get("token")), []byte(r.cfg.token)) == 1
}

// setCORS adds the configured CORS block, header names exactly as configured.
func (r *Router) setCORS(h http.Header) {
	for k, v := range r.cfg.cors {
		h[k] = []string{v}
	}
}

func (r *Router) notFound(w http.ResponseWriter) {
	r.setCORS(w.Header())
	envelope.Write(w, http.StatusNotFound, nil)
}

// route forwards req to the service its path selects, or answers 404.
func (r *Router) route(w http.ResponseWriter, req *http.Request, path string) {
	svc, target, ok := r.resolve(req, path)
	if !ok {
		r.notFound(w)
		return
	}
	r.httpStats.add(svc, r.state.Now())
	sw := &statusWriter{ResponseWriter: w}
	if rp, ok := r.external[svc]; ok {
		rp.ServeHTTP(sw, req)
	} else {
		r.fwd.Forward(sw, req, svc, target)
	}
	if sw.status >= 400 {
		r.errStats.add(svc, r.state.Now())
		level := "error"
		if sw.status >= 500 {
			level = "fatal"
		}
		r.reqLog.Log("level", level, "msg", fmt.Sprintf("HR: %s reported: HTTP:%d", svc, sw.status),
			"method", req.Method, "path", path)
	}
}

// resolve picks the service for a request: the most specific route matching method and path whose
// service has a live instance; else a live service named in the Referer; else the service named by
// the first path segment (stripped); else the most specific matching route of a service with no
// live instance (the proxy answers hydra-router's 503). hydra-router's own routes are served
// above, never forwarded.
func (r *Router) resolve(req *http.Request, path string) (service, target string, ok bool) {
	t := r.table.Load()
	ctx := req.Context()
	var dead *route
	t.match(req.Method, path, func(rt *route) bool {
		if rt.service == keyspace.RouterService {
			return true
		}
		if _, ext := r.external[rt.service]; ext || r.fwd.Live(ctx, rt.service) {
			service, ok = rt.service, true
			return false
		}
		if dead == nil {
			dead = rt
		}
		return true
	})
	if ok {
		return service, req.URL.RequestURI(), true
	}
	if ref := req.Header.Get("Referer"); ref != "" {
		best := ""
		for _, svc := range t.services {
			if len(svc) > len(best) && t.known(svc) && strings.Contains(ref, "/"+svc) && r.fwd.Live(ctx, svc) {
				best = svc
			}
		}
		if best != "" {
			return best, req.URL.RequestURI(), true
		}
	}
	if first := firstSegment(path); first != "" && t.known(first) && !strings.Contains(first, "://") {
		target = strings.TrimPrefix(path, "/"+first)
		if target == "" {
			target = "/"
		}
		if req.URL.RawQuery != "" {
			target += "?" + req.URL.RawQuery
		}
		return first, target, true
	}
	if dead != nil {
		return dead.service, req.URL.RequestURI(), true
	}
	return "", "", false
}

// CallHTTP makes the HTTP call a WebSocket frame addressed svc:[method]/path asks for: the router
// API in process for service hydra-router (the gateway checked the token), else through the proxy.
func (r *Router) CallHTTP(ctx context.Context, service, method, target string, header http.Header, body []byte) (wsgate.HTTPResponse, error) {
	r.wsStats.add(service, r.state.Now())
	if service == keyspace.RouterService && r.cfg.disableAPI {
		rec := &recorder{header: http.Header{}}
		r.notFound(rec)
		return wsgate.HTTPResponse{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}, nil
	}
	if service != keyspace.RouterService {
		resp, err := r.fwd.CallHTTP(ctx, service, method, target, header, body)
		if err != nil || resp.Status >= 400 {
			r.errStats.add(service, r.state.Now())
		}
		return resp, err
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), target, strings.NewReader(string(body)))
	if err != nil {
		return wsgate.HTTPResponse{}, fmt.Errorf("router: %w", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	rec := &recorder{header: http.Header{}}
	if p := req.URL.EscapedPath(); strings.HasPrefix(p, "/v1/router/") {
		r.serveAPI(rec, req, p)
	} else {
		r.notFound(rec)
	}
	return wsgate.HTTPResponse{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}, nil
}

var _ wsgate.HTTPCaller = (*Router)(nil) // API check

// externalProxy forwards to an externalRoutes base URL, path and query kept.
func externalProxy(base string) *httputil.ReverseProxy {
	u, _ := url.Parse(base) // validated by RouterExternalRoutes
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			envelope.Write(w, http.StatusServiceUnavailable, map[string]string{"reason": "An instance of " + base + " is unavailable"})
		},
	}
}

// version is hydrakit's module version, which the router reports and registers.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unspecified"
	}
	const module = "github.com/hydrakit/hydrakit"
	if info.Main.Path == module && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	for _, d := range info.Deps {
		if d.Path == module {
			return d.Version
		}
	}
	return "unspecified"
}

var errNoBody = errors.New("router: request body too large or unreadable")
