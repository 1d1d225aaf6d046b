package integration

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/router"
)

// TestRouterHearsNodeRegisterRoutes: a Node hydra@1.9.3 service's registerRoutes broadcast
// (hydra-router:/refresh) reaches hydrakit-router, whose table then routes to the Node service;
// Node's own listings (what hydra-cli reads) show the router as hydra-router, type router.
func TestRouterHearsNodeRegisterRoutes(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	hc := redistest.Fleet(t, c)
	r, err := router.New(hc, router.RouterRouteWatch(time.Hour)) // only the broadcast can refresh
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	front := httptest.NewServer(r)
	defer front.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(front.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	node := startCompatService(t, srv.URL()+"/0", compatService{Name: "rt-node", IP: "127.0.0.1", HTTP: true})
	if code, _ := get("/v1/rtnode/items/42"); code != 404 {
		t.Fatalf("routed before any route was registered: %d", code)
	}
	node.MustCall("registerRoutes", []string{"[get]/v1/rtnode/items/:id", "[post]/v1/rtnode/echo"})
	compatWait(t, 10*time.Second, "route table refreshed by the broadcast", func() bool {
		_, body := get("/v1/router/list/routes")
		return strings.Contains(body, `"/v1/rtnode/items/:id"`)
	})
	code, body := get("/v1/rtnode/items/42?q=1")
	if code != 200 || !strings.Contains(body, `"service":"rt-node"`) || !strings.Contains(body, `"path":"/v1/rtnode/items/42?q=1"`) {
		t.Errorf("routed GET: %d %s", code, body)
	}
	// Method-aware: [post] /v1/rtnode/echo does not take a GET.
	if code, _ := get("/v1/rtnode/echo"); code != 404 {
		t.Errorf("GET on a [post] route: %d", code)
	}

	// What hydra-cli lists: Node's getServices (the :service records) and getServiceNodes.
	var services []struct {
		ServiceName string `json:"serviceName"`
		Type        string `json:"type"`
	}
	if err := json.Unmarshal(node.MustCall("getServices"), &services); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range services {
		found = found || s.ServiceName == "hydra-router" && s.Type == "router"
	}
	if !found {
		t.Errorf("Node's getServices: %+v", services)
	}
	var nodes []struct {
		ServiceName string `json:"serviceName"`
		InstanceID  string `json:"instanceID"`
	}
	if err := json.Unmarshal(node.MustCall("getServiceNodes"), &nodes); err != nil {
		t.Fatal(err)
	}
	found = false
	for _, n := range nodes {
		found = found || n.ServiceName == "hydra-router" && n.InstanceID == r.ID()
	}
	if !found {
		t.Errorf("Node's getServiceNodes: %+v", nodes)
	}
	http.DefaultClient.CloseIdleConnections()
}

// startRouterProcess builds and starts cmd/hydrakit-router as a process of its own on the Redis at
// redisURL; it returns the router's instance ID and base URL. SIGTERM stops it when the test ends.
func startRouterProcess(t *testing.T, redisURL string) (iid, base string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hydrakit-router")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/hydrakit-router").CombinedOutput(); err != nil {
		t.Fatalf("go build hydrakit-router: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-redis", redisURL, "-listen", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
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
	f := strings.Fields(line)
	if err != nil || len(f) != 3 || f[0] != "ready" {
		t.Fatalf("hydrakit-router: %v %q", err, line)
	}
	return f[1], strings.TrimSuffix(f[2], "/")
}

// Two routers, one in this process (router.New) and one the hydrakit-router binary, beside a
// hydra-express 1.9.5 service: Node's hydra sees both as instances of hydra-router; list/nodes,
// list/routes and list/wsdir answer in hydra-router 1.9.15's shapes (keys in its order, patterns
// without [method], the routes hydra adds per service), and list/wsdir shows the clients of both
// routers on either, from the gateway's directory.
func TestRouterAPIListsInHydraRouterShapes(t *testing.T) {
	requireNode(t)
	srv := redistest.Start(t)
	redisURL := srv.URL() + "/0"
	hk := redistest.Fleet(t, srv.Client(t))
	hx := startHXPeer(t, redisURL, "lshx")
	a := startWSRouter(t, hk)
	bID, bHTTP := startRouterProcess(t, redisURL)
	b := &wsRouter{iid: bID, http: bHTTP, url: "ws" + strings.TrimPrefix(bHTTP, "http") + "/"}
	get := func(url string) string {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
		}
		return string(body)
	}

	// Node's hydra lists both routers as present instances of hydra-router.
	peer := startNodePeer(t, redisURL, "ls-node-peer")
	var presence []struct {
		InstanceID string `json:"instanceID"`
	}
	if err := json.Unmarshal(peer.MustCall("getServicePresence", "hydra-router"), &presence); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range presence {
		ids = append(ids, p.InstanceID)
	}
	if !slices.Contains(ids, a.iid) || !slices.Contains(ids, b.iid) || len(ids) != 2 {
		t.Errorf("Node's getServicePresence(hydra-router): %v, want %s and %s", ids, a.iid, b.iid)
	}

	// list/nodes: hydra-router's envelope with instanceID, hostname, version after result; every
	// nodes entry as its service wrote it (Node's and Go's), then elapsed, as hydra's
	// getServiceNodes has it.
	raw := get(a.http + "/v1/router/list/nodes")
	keys, vals := jsonFields(t, raw)
	if want := "statusCode statusMessage statusDescription result instanceID hostname version"; strings.Join(keys, " ") != want {
		t.Errorf("list/nodes keys: want %s, have %v", want, keys)
	}
	if vals["instanceID"] != `"`+a.iid+`"` || vals["statusCode"] != "200" {
		t.Errorf("list/nodes: %s", raw)
	}
	var nodes []json.RawMessage
	if err := json.Unmarshal([]byte(vals["result"]), &nodes); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		keys, vals := jsonFields(t, string(n))
		var id string
		json.Unmarshal([]byte(vals["instanceID"]), &id)
		seen[id] = true
		written, err := srv.Client(t).HGet(t.Context(), "hydra:service:nodes", id).Result()
		if err != nil {
			t.Fatal(err)
		}
		wkeys, wvals := jsonFields(t, written)
		if strings.Join(keys, " ") != strings.Join(append(wkeys, "elapsed"), " ") || jsonType(vals["elapsed"]) != "number" {
			t.Errorf("list/nodes entry: want the keys written %v then elapsed, have %s", wkeys, n)
		}
		for _, k := range wkeys {
			if k != "updatedOn" && vals[k] != wvals[k] { // updatedOn moves on
				t.Errorf("list/nodes entry %s: %s: written %s, listed %s", id, k, wvals[k], vals[k])
			}
		}
	}
	for _, id := range []string{a.iid, b.iid, hx.InstanceID, peer.InstanceID} {
		if !seen[id] {
			t.Errorf("list/nodes lacks %s: %s", id, raw)
		}
	}

	// list/routes: [{serviceName, routes}], patterns without [method], hydra's per-service routes.
	waitRoute(t, a.http, "lshx", "/v1/lshx/echo")
	var routes struct {
		Result []map[string]json.RawMessage `json:"result"`
	}
	raw = get(a.http + "/v1/router/list/routes")
	if err := json.Unmarshal([]byte(raw), &routes); err != nil {
		t.Fatal(err)
	}
	bySvc := map[string][]string{}
	for _, e := range routes.Result {
		var svc string
		var list []string
		json.Unmarshal(e["serviceName"], &svc)
		json.Unmarshal(e["routes"], &list)
		if len(e) != 2 || svc == "" || list == nil {
			t.Errorf("list/routes entry: %v", e)
		}
		bySvc[svc] = list
	}
	for svc, want := range map[string][]string{
		"lshx":         {"/v1/lshx/echo", "/v1/lshx/blob", "/v1/lshx/text", "/lshx", "/lshx/", "/lshx/:rest"},
		"hydra-router": {"/v1/router/list/:thing", "/v1/router/version", "/hydra-router/:rest"},
	} {
		for _, p := range want {
			if !slices.Contains(bySvc[svc], p) {
				t.Errorf("list/routes: %s lacks %s: %v", svc, p, bySvc[svc])
			}
		}
	}
	if strings.Contains(raw, `"[`) {
		t.Errorf("list/routes keeps a [method] prefix: %s", raw)
	}

	// list/wsdir: {router: {client: 1}} with both routers' clients, on both routers.
	onA, onB := wsConnect(t, a.url), wsConnect(t, b.url)
	both := func(d map[string]map[string]int) bool {
		return len(d) == 2 && len(d[a.iid]) == 1 && d[a.iid][onA.id] == 1 && len(d[b.iid]) == 1 && d[b.iid][onB.id] == 1
	}
	a.waitWSDir(t, "A lists both routers' clients", both)
	b.waitWSDir(t, "B lists both routers' clients", both)
	http.DefaultClient.CloseIdleConnections()
}
