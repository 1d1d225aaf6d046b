package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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
