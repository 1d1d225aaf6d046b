package embedded

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/metrics/prom"
)

// Metrics returns a client option reporting hydrakit's metrics (and the Go runtime's) to a new
// Prometheus registry, and the handler serving that registry.
func Metrics() (hydrakit.Option, http.Handler, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	set, err := prom.New(reg)
	if err != nil {
		return nil, nil, err
	}
	return hydrakit.WithMetrics(set), promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}

// ServeMetrics serves h on addr's /metrics until the returned func is called, which shuts the server
// down; the URL to scrape comes back too (addr may have port 0).
func ServeMetrics(addr string, h http.Handler) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // ErrServerClosed after Shutdown; any other error only ends the scrapes
	}()
	return "http://" + ln.Addr().String() + "/metrics", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}

// WithMetricsRoute serves metrics on /metrics and everything else with h, so that a service's own
// listener is scraped.
func WithMetricsRoute(h, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	mux.Handle("/", h)
	return mux
}
