package proxy_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/router/proxy"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// A service instance registered with sd/redis, reached through the proxy: its JSON answer comes back
// merged into hydra's envelope, as hydra-router answers.
func Example() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	client, _ := hydrakit.NewClient(rdb)
	defer client.Close()

	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"result":{"path":%q}}`, r.URL.Path)
	}))
	defer backend.Close()
	port := backend.Listener.Addr().(*net.TCPAddr).Port
	reg, _ := sdredis.NewRegistrar(client, sdredis.Service{Name: "greeter", IP: "127.0.0.1", Port: port}, nil)
	reg.Register()
	defer reg.Deregister()

	// DOC:begin proxy-forward
	p, err := proxy.New(client,
		proxy.ProxyRegisterer(prometheus.NewRegistry()), // serve it on /metrics with promhttp
		proxy.ProxyTimeout(5*time.Second),
		proxy.ProxyCORS(http.Header{"access-control-allow-origin": {"*"}}),
	)
	if err != nil {
		return
	}
	defer p.Close()
	// The router decides the service and the target; here, /<service>/<rest>.
	front := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		service, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.RequestURI(), "/"), "/")
		if !p.Live(r.Context(), service) {
			http.NotFound(w, r) // or the next route
			return
		}
		p.Forward(w, r, service, "/"+rest)
	})
	// DOC:end

	rec := httptest.NewRecorder()
	front.ServeHTTP(rec, httptest.NewRequest("GET", "/greeter/v1/hello?x=1", nil))
	body, _ := io.ReadAll(rec.Body)
	fmt.Println(rec.Code, string(body))
	// Output:
	// 200 {"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":{"path":"/v1/hello"}}
}
