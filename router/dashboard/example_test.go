package dashboard_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/router/dashboard"
)

// A router serves the dashboard at / and under /dashboard/; the page carries ?token= into every
// request it makes.
func Example() {
	m, _ := miniredis.Run()
	defer m.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
	defer rdb.Close()
	client, _ := hydrakit.NewClient(rdb)
	defer client.Close()

	mux := http.NewServeMux()
	counts := func() []dashboard.Traffic { return []dashboard.Traffic{{Service: "orders", Requests: 42}} }
	clients := func() []string { return nil }
	d, err := mount(client, mux, "0123456789abcdef0123456789abcdef", "1.0.0", counts, clients)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/?token=6f1c2a3e-2b8f-4a57-9a1d-0c9b7e5d4f21", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(strings.Contains(rec.Body.String(), `app.js?token=6f1c2a3e-2b8f-4a57-9a1d-0c9b7e5d4f21`))
	// Output:
	// 200 text/html; charset=utf-8
	// true
}

func mount(client *hydrakit.Client, mux *http.ServeMux, instanceID, version string,
	counts func() []dashboard.Traffic, clients func() []string) (*dashboard.Dashboard, error) {
	// DOC:begin router-dashboard-mount
	d, err := dashboard.New(client,
		dashboard.DashboardRouter(instanceID, version),
		dashboard.DashboardTraffic(counts),  // cumulative requests and errors per service
		dashboard.DashboardClients(clients), // connected WebSocket client IDs
	)
	if err != nil {
		return nil, err
	}
	mux.Handle("GET /{$}", d)    // the page
	mux.Handle("/dashboard/", d) // its assets and /dashboard/events
	// DOC:end
	return d, nil
}
