package integration

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/internal/redistest"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// Node's makeAPIRequest finds a Go-registered instance through its presence and nodes entry and calls
// it over HTTP at the registered ip:port, with the method from the [verb] of the address.
func TestHTTPNodeCallsGoService(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	hc := redistest.Fleet(t, client)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gotMethod := make(chan string, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/greet", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		gotMethod <- r.Method
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"statusCode": 200, "statusMessage": "OK", "statusDescription": "Request succeeded without error",
			"result": map[string]any{"echo": json.RawMessage(body)},
		})
	})
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = server.Serve(ln) }()
	defer func() { _ = server.Shutdown(context.Background()) }()

	reg, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: "gohttp", IP: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()
	defer reg.Deregister()

	peer := startNodePeer(t, srv.URL()+"/0", "http-caller")
	raw := peer.MustCall("makeAPIRequest", map[string]any{
		"to": "gohttp:[post]/v1/greet", "from": "http-caller:/", "body": map[string]any{"name": "Ada"},
	})
	var resp struct {
		StatusCode int `json:"statusCode"`
		Result     struct {
			Echo struct{ Name string } `json:"echo"`
		} `json:"result"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if want, have := 200, resp.StatusCode; want != have {
		t.Fatalf("want status %d, have %d: %s", want, have, raw)
	}
	if want, have := "Ada", resp.Result.Echo.Name; want != have {
		t.Errorf("want %q echoed, have %q: %s", want, have, raw)
	}
	if want, have := http.MethodPost, <-gotMethod; want != have {
		t.Errorf("want method %s, have %s", want, have)
	}
}

// The other way: a Node service with a configured port (which Node writes as a JSON string, unlike a
// random one) is found by the Go Instancer at ip:port, ready for a go-kit HTTP client factory.
func TestHTTPGoInstancerFindsConfiguredNodePort(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	hc := redistest.Fleet(t, client)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close() // Node only records the port; it need not be free for this test, only unique
	startNodePeer(t, srv.URL()+"/0", "nodehttp", "PEER_PORT="+port)
	instancer, err := sdredis.NewInstancer(hc, "nodehttp", log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer instancer.Stop()
	events := make(chan sd.Event, 8)
	instancer.Register(events)
	defer instancer.Deregister(events)
	deadline := time.After(6 * time.Second) // a new Node instance is found at the next full read (≤ 3 s)
	for {
		select {
		case ev := <-events:
			if len(ev.Instances) == 1 {
				if want, have := "127.0.0.1:"+port, ev.Instances[0]; want != have {
					t.Fatalf("want %s, have %s", want, have)
				}
				return
			}
		case <-deadline:
			t.Fatal("the Node instance was not discovered")
		}
	}
}
