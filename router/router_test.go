package router

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/router/dashboard"
	"github.com/hydrakit/hydrakit/router/wsgate"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/umf"
)

// fakeForwarder stands for router/proxy: live services by name; Forward answers 200 naming the
// service and target, or 503 for a service with no live instance.
type fakeForwarder struct {
	mu   sync.Mutex
	live map[string]bool
}

func (f *fakeForwarder) setLive(svc string, live bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.live[svc] = live
}

func (f *fakeForwarder) Live(_ context.Context, svc string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.live[svc]
}

func (f *fakeForwarder) Forward(w http.ResponseWriter, r *http.Request, svc, target string) {
	if !f.Live(r.Context(), svc) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "unavailable %s", svc)
		return
	}
	fmt.Fprintf(w, "%s %s %s", svc, r.Method, target)
}

func (f *fakeForwarder) CallHTTP(_ context.Context, svc, method, target string, _ http.Header, body []byte) (wsgate.HTTPResponse, error) {
	return wsgate.HTTPResponse{Status: 201, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(fmt.Sprintf(`{"result":{"svc":%q,"method":%q,"target":%q,"body":%s}}`, svc, method, target, body))}, nil
}

func (f *fakeForwarder) Instances(svc string) []string {
	if f.Live(context.Background(), svc) {
		return []string{"127.0.0.1:7760"}
	}
	return nil
}

func (f *fakeForwarder) Traffic() []dashboard.Traffic { return nil }
func (f *fakeForwarder) Close() error                 { return nil }

type fixture struct {
	rdb    *goredis.Client
	client *hydrakit.Client
	fwd    *fakeForwarder
	r      *Router
}

// addService writes what a registered service leaves in Redis: its nodes entry and its routes.
func (fx *fixture) addService(t *testing.T, svc string, updated time.Time, routes ...string) string {
	t.Helper()
	id := strings.ReplaceAll(umf.NewMID(), "-", "")
	entry := fmt.Sprintf(`{"serviceName":%q,"serviceDescription":"test","version":"1.2.3","instanceID":%q,"updatedOn":%q,"processID":1,"ip":"127.0.0.1","port":"7760","hostName":"vm"}`,
		svc, id, umf.FormatTime(updated))
	ctx := t.Context()
	keys := fx.client.Keyspace()
	if err := fx.rdb.HSet(ctx, keys.Nodes(), id, entry).Err(); err != nil {
		t.Fatal(err)
	}
	if len(routes) > 0 {
		members := []any{}
		for _, r := range routes {
			members = append(members, r)
		}
		fx.rdb.Del(ctx, keys.Routes(svc))
		if err := fx.rdb.SAdd(ctx, keys.Routes(svc), members...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

func newFixture(t *testing.T, options ...RouterOption) *fixture {
	t.Helper()
	rdb := redistest.Client(t)
	fx := &fixture{rdb: rdb, client: redistest.Fleet(t, rdb), fwd: &fakeForwarder{live: map[string]bool{}}}
	fx.addService(t, "hxsvc", time.Now(), "[get]/v1/hx/hello", "[post]/v1/hx/echo", "[get]/v1/hx/items/:id",
		"[get]/hxsvc", "[get]/hxsvc/", "[get]/hxsvc/:rest")
	fx.fwd.setLive("hxsvc", true)
	r, err := New(fx.client, append([]RouterOption{routerForwarder(fx.fwd)}, options...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	fx.r = r
	return fx
}

func (fx *fixture) do(method, target string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	fx.r.ServeHTTP(w, req)
	return w
}

func want(t *testing.T, w *httptest.ResponseRecorder, code int, body string) {
	t.Helper()
	if w.Code != code || w.Body.String() != body {
		t.Errorf("want %d %s\nhave %d %s", code, body, w.Code, w.Body.String())
	}
}

const notFound = `{"statusCode":404,"statusMessage":"Not Found","statusDescription":"The requested resource was not found on the server","result":{}}`

func TestRouting(t *testing.T) {
	fx := newFixture(t)
	fx.addService(t, "other", time.Now(), "[get]/v1/hx/items/special", "[get]/v1/shared", "[post]/v1/hx/hello")
	fx.addService(t, "deadsvc", time.Now(), "[get]/v1/dead", "[get]/v1/shared/:x")
	fx.addService(t, "bare", time.Now()) // a Go service that registered no routes
	fx.fwd.setLive("other", true)
	fx.fwd.setLive("bare", true)
	if err := fx.r.reload(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, target string
		header               []string
		code                 int
		body                 string
	}{
		{"route", "GET", "/v1/hx/items/42?x=1", nil, 200, "hxsvc GET /v1/hx/items/42?x=1"},
		{"literal beats param", "GET", "/v1/hx/items/special", nil, 200, "other GET /v1/hx/items/special"},
		{"method-aware", "POST", "/v1/hx/hello", nil, 200, "other POST /v1/hx/hello"},
		{"[get] does not take PUT", "PUT", "/v1/hx/hello", nil, 404, notFound},
		{"[post] does not take GET", "GET", "/v1/hx/echo", nil, 404, notFound},
		{"passthrough strips the service", "GET", "/hxsvc/v1/hx/hello?q=1", nil, 200, "hxsvc GET /v1/hx/hello?q=1"},
		{"passthrough any method", "DELETE", "/hxsvc/v1/x", nil, 200, "hxsvc DELETE /v1/x"},
		{"passthrough to a service without routes", "POST", "/bare/greet", nil, 200, "bare POST /greet"},
		{"hydra's own /svc/:rest route", "GET", "/hxsvc/page", nil, 200, "hxsvc GET /hxsvc/page"},
		{"referer", "GET", "/assets/app.js", []string{"Referer", "http://h/hxsvc/page"}, 200, "hxsvc GET /assets/app.js"},
		{"referer of a dead service", "GET", "/assets/app.js", []string{"Referer", "http://h/deadsvc/"}, 404, notFound},
		{"dead service: its route, the proxy's 503", "GET", "/v1/dead", nil, 503, "unavailable deadsvc"},
		{"no match", "GET", "/nope", nil, 404, notFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want(t, fx.do(tc.method, tc.target, tc.header...), tc.code, tc.body)
		})
	}
	// Presence: the live service's route wins over a more specific one of a dead service.
	want(t, fx.do("GET", "/v1/shared"), 200, "other GET /v1/shared")
	fx.fwd.setLive("deadsvc", true)
	want(t, fx.do("GET", "/v1/dead"), 200, "deadsvc GET /v1/dead")
}

func TestOptionsAndCORS(t *testing.T) {
	fx := newFixture(t)
	w := fx.do("OPTIONS", "/anything")
	if w.Code != 204 || w.Body.Len() != 0 {
		t.Errorf("want 204 and no body, have %d %q", w.Code, w.Body)
	}
	h := w.Result().Header
	for k, v := range DefaultCORS() {
		if have := h[k]; len(have) != 1 || have[0] != v {
			t.Errorf("%s: want %q, have %q", k, v, have)
		}
	}
	const maxAge = "access-control-Max-Age" // hydra-router's odd case is the contract
	//lint:ignore SA1008 the header is written under this exact name
	if have := h[maxAge]; len(have) != 1 || have[0] != "10" {
		t.Errorf("access-control-Max-Age written as %v", h)
	}
	if h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("Access-Control-Expose-Headers") != "Content-Length, Content-Range" {
		t.Errorf("headers %v", h)
	}
	w = fx.do("GET", "/nope")
	//lint:ignore SA1008 as above
	if w.Result().Header[maxAge] == nil || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("404 headers %v", w.Result().Header)
	}
}

var (
	reIID = regexp.MustCompile(`[0-9a-f]{32}`)
	reTS  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`)
)

// normalise replaces instance IDs and times with the spec's placeholders.
func normalise(s string, names map[string]string) string {
	s = reIID.ReplaceAllStringFunc(s, func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return "<iid>"
	})
	return reTS.ReplaceAllString(s, "<ts>")
}

func TestAPIShapes(t *testing.T) {
	fx := newFixture(t)
	ver := fx.r.version
	want(t, fx.do("GET", "/v1/router/version"), 200,
		`{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{"version":"`+ver+`"}}`)
	want(t, fx.do("GET", "/v1/router/list/nothing"), 404, notFound)
	want(t, fx.do("GET", "/v1/router/nothing"), 404, notFound)
	want(t, fx.do("GET", "/v1/router/refresh"), 200,
		`{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{}}`)

	// list/nodes: the spec's shape, the router's own entry among them.
	for _, id := range fx.rdb.HKeys(t.Context(), fx.client.Keyspace().Nodes()).Val() {
		if id != fx.r.ID() {
			fx.rdb.HDel(t.Context(), fx.client.Keyspace().Nodes(), id)
		}
	}
	hx := fx.addService(t, "hxsvc", time.Now())
	w := fx.do("GET", "/v1/router/list/nodes")
	var got struct {
		Result []json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got.Result) != 2 {
		t.Fatalf("list/nodes: %v %s", err, w.Body)
	}
	names := map[string]string{fx.r.ID(): "<router iid>", hx: "<iid>"}
	hxWant := `{"serviceName":"hxsvc","serviceDescription":"test","version":"1.2.3","instanceID":"<iid>","updatedOn":"<ts>","processID":1,"ip":"127.0.0.1","port":"7760","hostName":"vm","elapsed":0}`
	var entries []string
	for _, e := range got.Result {
		entries = append(entries, normalise(string(e), names))
	}
	if !strings.Contains(strings.Join(entries, "\n"), hxWant) {
		t.Errorf("list/nodes entries:\n%s\nwant among them\n%s", strings.Join(entries, "\n"), hxWant)
	}
	prefix := `{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":[`
	suffix := `],"instanceID":"<router iid>","hostname":"` + fx.r.hostName + `","version":"` + ver + `"}`
	body := normalise(w.Body.String(), names)
	if !strings.HasPrefix(body, prefix) || !strings.HasSuffix(body, suffix) {
		t.Errorf("list/nodes:\n%s\nwant %s…%s", body, prefix, suffix)
	}
	for _, e := range entries {
		if strings.Contains(e, `"<router iid>"`) && !strings.HasPrefix(e, `{"serviceName":"hydra-router","serviceDescription":"Service Router","version":"`+ver+`","instanceID":"<router iid>","updatedOn":"<ts>"`) {
			t.Errorf("router's own entry: %s", e)
		}
	}

	// list/routes: patterns without [method], the router's own among them.
	w = fx.do("GET", "/v1/router/list/routes")
	if !strings.Contains(w.Body.String(), `{"serviceName":"hxsvc","routes":["/hxsvc","/hxsvc/","/hxsvc/:rest","/v1/hx/hello","/v1/hx/items/:id","/v1/hx/echo"]}`) ||
		!strings.Contains(w.Body.String(), `"/v1/router/list/:thing"`) {
		t.Errorf("list/routes: %s", w.Body)
	}

	// health: hydra's getHealth keys, in its order.
	w = fx.do("GET", "/v1/router/health")
	keys := regexp.MustCompile(`"(\w+)":`).FindAllStringSubmatch(w.Body.String(), -1)
	var have []string
	for _, k := range keys {
		have = append(have, k[1])
	}
	if want := "statusCode statusMessage statusDescription result serviceName instanceID hostName sampledOn processID architecture platform nodeVersion memory rss heapTotal heapUsed external uptimeSeconds"; strings.Join(have, " ") != want {
		t.Errorf("health keys:\nwant %s\nhave %s", want, strings.Join(have, " "))
	}

	// list/services: the present router, nodes entry then health fields.
	w = fx.do("GET", "/v1/router/list/services")
	if !strings.Contains(w.Body.String(), `"serviceName":"hydra-router"`) || !strings.Contains(w.Body.String(), `"updatedOnTS":`) ||
		!strings.Contains(w.Body.String(), `"uptimeSeconds":`) || strings.Contains(w.Body.String(), `"serviceName":"hxsvc"`) {
		t.Errorf("list/services (hxsvc has no presence): %s", w.Body)
	}

	// log and stats shapes.
	fx.do("GET", "/v1/hx/hello")
	w = fx.do("GET", "/v1/router/stats")
	var stats struct {
		Result struct {
			HTTP  map[string][]int `json:"httpStats"`
			WS    map[string][]int `json:"wsStats"`
			Error map[string][]int `json:"errorStats"`
		} `json:"result"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &stats); err != nil || len(stats.Result.HTTP["hxsvc"]) != 3600 || stats.Result.HTTP["hxsvc"][3599] != 1 {
		t.Errorf("stats: %v %.300s", err, w.Body)
	}
	w = fx.do("GET", "/v1/router/log")
	if !strings.HasPrefix(w.Body.String(), `{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{"logs":[`) {
		t.Errorf("log: %s", w.Body)
	}
	want(t, fx.do("GET", "/v1/router/list/wsdir"), 200,
		`{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{"`+fx.r.ID()+`":{}}}`)
}

func TestClearDropsStaleNodes(t *testing.T) {
	fx := newFixture(t)
	stale := fx.addService(t, "gone", time.Now().Add(-time.Minute))
	fresh := fx.addService(t, "here", time.Now())
	w := fx.do("GET", "/v1/router/clear")
	if w.Code != 302 || w.Header().Get("Location") != "/" {
		t.Errorf("want 302 to /, have %d %v", w.Code, w.Header())
	}
	nodes := fx.rdb.HKeys(t.Context(), fx.client.Keyspace().Nodes()).Val()
	if strings.Contains(strings.Join(nodes, " "), stale) || !strings.Contains(strings.Join(nodes, " "), fresh) {
		t.Errorf("nodes after clear: %v", nodes)
	}
}

func TestToken(t *testing.T) {
	const token = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
	fx := newFixture(t, RouterToken(token))
	want(t, fx.do("GET", "/v1/router/version"), 404, notFound)
	want(t, fx.do("GET", "/v1/router/version?token=1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8e"), 404, notFound)
	want(t, fx.do("GET", "/"), 404, notFound)
	if w := fx.do("GET", "/v1/router/version?token="+token); w.Code != 200 {
		t.Errorf("with the token: %d", w.Code)
	}
	// httptest's requests come from 192.0.2.1: Host localhost alone is not enough.
	want(t, fx.do("GET", "/v1/router/version", "Host", "localhost"), 404, notFound)
	req := httptest.NewRequest("GET", "/v1/router/version", nil)
	req.Host, req.RemoteAddr = "localhost", "127.0.0.1:5000"
	w := httptest.NewRecorder()
	fx.r.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Errorf("localhost from loopback: %d", w.Code)
	}
	// Routed traffic needs no token.
	want(t, fx.do("GET", "/v1/hx/hello"), 200, "hxsvc GET /v1/hx/hello")

	for _, bad := range []string{"x", "1a2b3c4d-5e6f-1a1b-8c2d-3e4f5a6b7c8d"} {
		if _, err := New(fx.client, RouterToken(bad)); err == nil {
			t.Errorf("token %q accepted", bad)
		}
	}
}

func TestDisableAPI(t *testing.T) {
	fx := newFixture(t, RouterDisableAPI())
	req := httptest.NewRequest("GET", "/v1/router/health", nil)
	req.Host, req.RemoteAddr = "localhost", "127.0.0.1:5000"
	w := httptest.NewRecorder()
	fx.r.ServeHTTP(w, req)
	want(t, w, 404, notFound)
	want(t, fx.do("GET", "/"), 404, notFound)
	want(t, fx.do("GET", "/v1/hx/hello"), 200, "hxsvc GET /v1/hx/hello")
	// Over WebSocket (hydra-router:[get]/v1/router/…) too.
	resp, err := fx.r.CallHTTP(t.Context(), "hydra-router", "get", "/v1/router/version", nil, nil)
	if err != nil || resp.Status != 404 || string(resp.Body) != notFound {
		t.Errorf("the API over WebSocket, disabled: %v %d %s", err, resp.Status, resp.Body)
	}
}

// A refresh broadcast heard before the first load (New subscribes first) loads the whole table.
func TestRefreshBeforeFirstLoad(t *testing.T) {
	fx := newFixture(t)
	r := &Router{state: fx.r.state, cfg: fx.r.cfg}
	if err := r.reload(t.Context(), "hxsvc"); err != nil {
		t.Fatal(err)
	}
	if tb := r.table.Load(); tb == nil || len(tb.compiled["hxsvc"]) == 0 || len(tb.compiled["hydra-router"]) == 0 {
		t.Errorf("table after a refresh before the first load: %+v", tb)
	}
}

// waitRoutes polls list/routes (silent state: the refresh has no event of its own) until cond.
func waitRoutes(t *testing.T, fx *fixture, cond func(string) bool) {
	t.Helper()
	var body string
	if !redistest.Poll(func() bool { body = fx.do("GET", "/v1/router/list/routes").Body.String(); return cond(body) }) {
		t.Fatalf("routes never changed: %s", body)
	}
}

func TestRefreshBroadcastAddsAndRemoves(t *testing.T) {
	fx := newFixture(t, RouterRouteWatch(time.Hour))
	ctx := t.Context()
	reg, err := sdredis.NewRegistrar(fx.client, sdredis.Service{Name: "late", IP: "127.0.0.1", Port: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()
	t.Cleanup(reg.Deregister)
	fx.fwd.setLive("late", true)
	want(t, fx.do("GET", "/v1/late"), 404, notFound)
	// RegisterRoutes broadcasts hydra-router:/refresh, as Node's registerRoutes does.
	if err := reg.RegisterRoutes(ctx, "[get]/v1/late", "[get]/v1/late/:id"); err != nil {
		t.Fatal(err)
	}
	waitRoutes(t, fx, func(b string) bool { return strings.Contains(b, `"/v1/late/:id"`) })
	want(t, fx.do("GET", "/v1/late/7"), 200, "late GET /v1/late/7")
	// A route that is gone from the set is gone from the table.
	if err := reg.RegisterRoutes(ctx, "[get]/v1/late"); err != nil {
		t.Fatal(err)
	}
	waitRoutes(t, fx, func(b string) bool { return !strings.Contains(b, `"/v1/late/:id"`) })
	want(t, fx.do("GET", "/v1/late/7"), 404, notFound)
	// refresh/:service re-reads one service: its routes deleted behind the router's back go.
	fx.rdb.Del(ctx, fx.client.Keyspace().Routes("late"))
	want(t, fx.do("GET", "/v1/router/refresh/late"), 200,
		`{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{}}`)
	want(t, fx.do("GET", "/v1/late"), 404, notFound)
}

func TestWatchRereads(t *testing.T) {
	fx := newFixture(t, RouterRouteWatch(20*time.Millisecond))
	fx.addService(t, "quiet", time.Now(), "[get]/v1/quiet") // no broadcast
	fx.fwd.setLive("quiet", true)
	waitRoutes(t, fx, func(b string) bool { return strings.Contains(b, `"/v1/quiet"`) })
	fx.rdb.Del(t.Context(), fx.client.Keyspace().Routes("quiet"))
	waitRoutes(t, fx, func(b string) bool { return !strings.Contains(b, `"/v1/quiet"`) })
}

func TestPostAPI(t *testing.T) {
	fx := newFixture(t)
	ctx := t.Context()
	post := func(target, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", target, strings.NewReader(body))
		w := httptest.NewRecorder()
		fx.r.ServeHTTP(w, req)
		return w
	}
	// message: the HTTP call fwd names, the service's status and result.
	want(t, post("/v1/router/message", `{"to":"hydra-router:/","frm":"c:/","fwd":"hxsvc:[post]/v1/hx/echo","bdy":{"a":1}}`), 201,
		`{"statusCode":201,"statusMessage":"Created","statusDescription":"Resource created","result":{"svc":"hxsvc","method":"post","target":"/v1/hx/echo","body":{"a":1}}}`)
	if w := post("/v1/router/message", `{"to":"x:/","frm":"c:/","fwd":"hxsvc:/v1/hx/echo","bdy":{}}`); w.Code != 400 {
		t.Errorf("fwd without a method: %d %s", w.Code, w.Body)
	}
	if w := post("/v1/router/send", `not json`); w.Code != 400 {
		t.Errorf("send of no UMF: %d", w.Code)
	}
	// queue: hydra's received list of the service.
	w := post("/v1/router/queue", `{"to":"hxsvc:/jobs","frm":"c:/","mid":"m-1","bdy":{"n":1}}`)
	want(t, w, 200, `{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{"mid":"m-1"}}`)
	if n := fx.rdb.LLen(ctx, fx.client.Keyspace().QueueReceived("hxsvc")).Val(); n != 1 {
		t.Errorf("queued %d", n)
	}
	// send: no live instance of hxsvc on pub/sub.
	if w := post("/v1/router/send", `{"to":"hxsvc:/x","frm":"c:/","bdy":{}}`); w.Code != 503 {
		t.Errorf("send to nobody: %d %s", w.Code, w.Body)
	}
	// stream: XADD hydra:stream:<name> * message <short UMF>.
	w = post("/v1/router/stream/events", `{"to":"hxsvc:/x","from":"c:/","mid":"m-2","timestamp":"2026-01-01T00:00:00.000Z","version":"UMF/1.4.6","body":{"k":"v"}}`)
	var res struct {
		Result struct{ ID string } `json:"result"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.Result.ID == "" {
		t.Fatalf("stream: %s", w.Body)
	}
	entries := fx.rdb.XRange(ctx, "hydra:stream:events", "-", "+").Val()
	if len(entries) != 1 || entries[0].ID != res.Result.ID ||
		entries[0].Values["message"] != `{"to":"hxsvc:/x","frm":"c:/","mid":"m-2","ts":"2026-01-01T00:00:00.000Z","ver":"UMF/1.4.6","bdy":{"k":"v"}}` {
		t.Errorf("stream entries %v", entries)
	}
	fx.rdb.Del(ctx, "hydra:stream:events")
	if w := post("/v1/router/version", ``); w.Code != 404 {
		t.Errorf("POST version: %d", w.Code)
	}
}

func TestCallHTTPServesTheAPIInProcess(t *testing.T) {
	fx := newFixture(t)
	resp, err := fx.r.CallHTTP(t.Context(), "hydra-router", "get", "/v1/router/version", nil, nil)
	if err != nil || resp.Status != 200 || !strings.Contains(string(resp.Body), `"version":"`) {
		t.Errorf("%v %d %s", err, resp.Status, resp.Body)
	}
	resp, err = fx.r.CallHTTP(t.Context(), "hxsvc", "get", "/v1/hx/hello", nil, []byte("{}"))
	if err != nil || resp.Status != 201 {
		t.Errorf("%v %+v", err, resp)
	}
}

func TestRegistersAsHydraRouter(t *testing.T) {
	fx := newFixture(t)
	ctx := t.Context()
	live, err := sdredis.ListInstances(ctx, fx.client, "hydra-router")
	if err != nil || len(live) != 1 || live[0].ID != fx.r.ID() {
		t.Fatalf("%v %+v", err, live)
	}
	var record struct {
		ServiceName string `json:"serviceName"`
		Type        string `json:"type"`
	}
	raw := fx.rdb.Get(ctx, fx.client.Keyspace().Service("hydra-router")).Val()
	if err := json.Unmarshal([]byte(raw), &record); err != nil || record.ServiceName != "hydra-router" || record.Type != "router" {
		t.Errorf("service record %s", raw)
	}
	routes := fx.rdb.SMembers(ctx, fx.client.Keyspace().Routes("hydra-router")).Val()
	if len(routes) != len(ownRoutes)+3 {
		t.Errorf("own routes %v", routes)
	}
	fx.r.Close()
	if live, _ := sdredis.ListInstances(ctx, fx.client, "hydra-router"); len(live) != 0 {
		t.Errorf("still live after Close: %+v", live)
	}
}

func TestMetrics(t *testing.T) {
	fx := newFixture(t)
	w := fx.do("GET", "/metrics")
	body, _ := io.ReadAll(w.Body)
	if w.Code != 200 || !strings.Contains(string(body), "hydrakit_router_websocket_clients 0") {
		t.Errorf("%d %.500s", w.Code, body)
	}
}

func TestOptionsValidate(t *testing.T) {
	rdb := redistest.Client(t)
	client := redistest.Fleet(t, rdb)
	for name, o := range map[string]RouterOption{
		"timeout":  RouterTimeout(0),
		"port":     RouterAdvertise("127.0.0.1", 70000),
		"external": RouterExternalRoutes(map[string][]string{"ftp://x": {"/a"}}),
		"cors":     RouterCORS(map[string]string{"": "x"}),
		"watch":    RouterRouteWatch(-1),
		"nil":      nil,
	} {
		if _, err := New(client, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(nil); err == nil {
		t.Error("nil client accepted")
	}
}

// list/wsdir is the directory across routers, as hydra-router's: a client of another router shows
// under that router's ID, once its wsdir.add broadcast has arrived.
func TestWSDirListsOtherRoutersClients(t *testing.T) {
	fx := newFixture(t)
	other, err := New(fx.client, routerForwarder(fx.fwd))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	front := httptest.NewServer(other)
	defer front.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(front.URL, "http")+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	_, data, err := ws.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var hello struct {
		Bdy struct{ ID string } `json:"bdy"`
	}
	if err := json.Unmarshal(data, &hello); err != nil || hello.Bdy.ID == "" {
		t.Fatalf("connection message: %v %s", err, data)
	}
	wantBody := `{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{`
	a, b := fx.r.ID(), other.ID()
	if a < b {
		wantBody += `"` + a + `":{},"` + b + `":{"` + hello.Bdy.ID + `":1}}}`
	} else {
		wantBody += `"` + b + `":{"` + hello.Bdy.ID + `":1},"` + a + `":{}}}`
	}
	var body string
	if !redistest.Poll(func() bool { body = fx.do("GET", "/v1/router/list/wsdir").Body.String(); return body == wantBody }) {
		t.Fatalf("want %s\nhave %s", wantBody, body)
	}
	ws.Close(websocket.StatusNormalClosure, "")
}

// Instances is the router's own view of a service's instances, through its forwarder.
func TestInstances(t *testing.T) {
	fx := newFixture(t)
	if have := fx.r.Instances(t.Context(), "hxsvc"); len(have) != 1 {
		t.Errorf("live service: %v", have)
	}
	if have := fx.r.Instances(t.Context(), "nosvc"); have != nil {
		t.Errorf("unknown service: %v", have)
	}
}
