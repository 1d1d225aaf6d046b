package prom_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/metrics/prom"
	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/umf"
)

// wire is the wiring of docs/observability.md.
func wire(rdb goredis.UniversalClient, mux *http.ServeMux) (*hydrakit.Client, error) {
	// DOC:begin observability-wiring
	reg := prometheus.NewRegistry()
	set, err := prom.New(reg)
	if err != nil {
		return nil, err
	}
	client, err := hydrakit.NewClient(rdb, hydrakit.WithMetrics(set))
	if err != nil {
		return nil, err
	}
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// DOC:end
	return client, nil
}

// A client made with a Prometheus Set makes every component report to it.
func Example() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	reg := prometheus.NewRegistry()
	set, err := prom.New(reg)
	if err != nil {
		panic(err)
	}
	client, err := hydrakit.NewClient(rdb, hydrakit.WithMetrics(set))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	producer, _ := queue.NewProducer(client)
	m, _ := umf.New("resize:/image", "web:/", map[string]int{"width": 64})
	_ = producer.Enqueue(context.Background(), m)
	inspector, _ := queue.NewInspector(client)
	_ = inspector.Observe(context.Background(), "resize")

	families, _ := reg.Gather()
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetName() {
			case "hydrakit_queue_enqueued_total":
				fmt.Println(f.GetName(), m.GetLabel()[0].GetValue(), m.GetCounter().GetValue())
			case "hydrakit_queue_depth":
				fmt.Println(f.GetName(), m.GetLabel()[0].GetValue(), m.GetLabel()[1].GetValue(), m.GetGauge().GetValue())
			}
		}
	}
	// Output:
	// hydrakit_queue_depth delayed resize 0
	// hydrakit_queue_depth in_progress resize 0
	// hydrakit_queue_depth incomplete resize 0
	// hydrakit_queue_depth received resize 1
	// hydrakit_queue_enqueued_total resize 1
}

// The wiring of docs/observability.md serves hydrakit's metrics.
func TestWiring(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	mux := http.NewServeMux()
	client, err := wire(rdb, mux)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	p, _ := queue.NewProducer(client)
	m, _ := umf.New("resize:/", "web:/", 1)
	if err := p.Enqueue(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if want := `hydrakit_queue_enqueued_total{queue="resize"} 1`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("want %s in\n%s", want, rec.Body)
	}
}
