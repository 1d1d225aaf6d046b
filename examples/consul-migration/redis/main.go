// Command redis is the Redis half of the Consul-migration pair: a small go-kit string service
// whose instances register with hydrakit's sd/redis (in Node Hydra's key scheme), and a client
// that finds them through sd/redis and balances calls over them with lb.RoundRobin and lb.Retry.
// ../consul is the same program on go-kit's sd/consul; the lines that differ are exactly the diff
// shown in docs/migrating-from-consul.md.
//
//	go run ./examples/consul-migration/redis -redis redis://127.0.0.1:6379/0 -instances 3 -requests 6
//	go run ./examples/consul-migration/redis -instances 2 -requests 0   # serve until interrupted
//	go run ./examples/consul-migration/redis -instances 0 -requests 4   # a client only
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/metrics/prom"
	"github.com/hydrakit/hydrakit/redisurl"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

const serviceName = "stringsvc"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, serviceName+":", err)
		os.Exit(1)
	}
}

// run starts -instances instances, then makes -requests calls through discovery and returns,
// or with -requests 0 serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(serviceName, flag.ContinueOnError)
	fs.SetOutput(stderr)
	redisURL := fs.String("redis", "redis://127.0.0.1:6379/0", "Redis: redis://, rediss://, redis+sentinel://, or cluster seeds")
	instances := fs.Int("instances", 3, "instances to start in this process (0: client only)")
	requests := fs.Int("requests", 6, "calls to make through discovery before exiting (0: serve until interrupted)")
	wait := fs.Duration("wait", 15*time.Second, "how long the client waits for instances to be discovered")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := log.With(log.NewLogfmtLogger(log.NewSyncWriter(stderr)), "ts", log.DefaultTimestampUTC)
	// This process's metrics, served on /metrics of every instance it starts.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())

	redisClient, err := redisurl.NewClient(*redisURL) // any goredis.UniversalClient will do
	if err != nil {
		return err
	}
	defer redisClient.Close()
	set, err := prom.New(reg) // hydrakit's own metrics, beside the Go runtime's
	if err != nil {
		return err
	}
	client, err := hydrakit.NewClient(redisClient, hydrakit.WithMetrics(set))
	if err != nil {
		return err
	}
	defer client.Close()

	for range *instances {
		stop, err := serve(client, reg, logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	if *requests == 0 {
		<-ctx.Done()
		return nil
	}
	return call(ctx, client, max(*instances, 1), *requests, *wait, stdout, logger)
}

// serve starts one instance on a free loopback port and registers it. stop deregisters it first,
// so that clients stop choosing it before it stops answering.
func serve(client *hydrakit.Client, reg *prometheus.Registry, logger log.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hostPort := ln.Addr().String()
	host, portText, _ := net.SplitHostPort(hostPort)
	port, _ := strconv.Atoi(portText)
	registrar, err := sdredis.NewRegistrar(client, sdredis.Service{
		Name:    serviceName,
		IP:      host,
		Port:    port,
		Version: "1.0.0",
	}, logger)
	if err != nil {
		_ = ln.Close()
		return nil, err // invalid name or options
	}
	server := &http.Server{Handler: handler(hostPort, reg), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			logger.Log("msg", "serve failed", "err", err)
		}
	}()
	registrar.Register()
	return func() {
		registrar.Deregister()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(ctx)
		<-done
	}, nil
}

// call finds the service's instances through discovery, waits up to wait until at least want of
// them are known, and sends n uppercase requests, balanced over them.
func call(ctx context.Context, client *hydrakit.Client, want, n int, wait time.Duration, stdout io.Writer, logger log.Logger) error {
	instancer, err := sdredis.NewInstancer(client, serviceName, logger)
	if err != nil {
		return err
	}
	defer instancer.Stop()
	endpointer := sd.NewEndpointer(instancer, factory, logger)
	defer endpointer.Close()
	balancer := lb.NewRoundRobin(endpointer)
	retry := lb.Retry(3, 500*time.Millisecond, balancer)

	if err := waitForEndpoints(ctx, endpointer, want, wait); err != nil {
		return err
	}
	for i := range n {
		v, err := retry(ctx, uppercaseRequest{S: "hello " + strconv.Itoa(i)})
		if err != nil {
			return err
		}
		r := v.(uppercaseResponse)
		fmt.Fprintf(stdout, "%s (from %s)\n", r.V, r.By)
	}
	return nil
}

// waitForEndpoints returns once discovery reports want instances: registration and discovery are
// asynchronous, and a client started together with its service would otherwise find none.
func waitForEndpoints(ctx context.Context, endpointer sd.Endpointer, want int, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if e, err := endpointer.Endpoints(); err == nil && len(e) >= want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d instances of %s: %w", want, serviceName, ctx.Err())
		case <-tick.C:
		}
	}
}

// factory turns a discovered host:port into an HTTP client endpoint.
func factory(instance string) (endpoint.Endpoint, io.Closer, error) {
	u := &url.URL{Scheme: "http", Host: instance, Path: "/uppercase"}
	return httptransport.NewClient(http.MethodPost, u, httptransport.EncodeJSONRequest, decodeResponse).Endpoint(), nil, nil
}

type uppercaseRequest struct {
	S string `json:"s"`
}

type uppercaseResponse struct {
	V  string `json:"v"`
	By string `json:"by"` // the instance that answered
}

// handler is the service: POST /uppercase, GET /health for whoever checks liveness, and GET /metrics
// for Prometheus.
func handler(self string, reg *prometheus.Registry) http.Handler {
	uppercase := func(_ context.Context, req interface{}) (interface{}, error) {
		return uppercaseResponse{V: strings.ToUpper(req.(uppercaseRequest).S), By: self}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("POST /uppercase", httptransport.NewServer(uppercase, decodeRequest, httptransport.EncodeJSONResponse))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

func decodeRequest(_ context.Context, r *http.Request) (interface{}, error) {
	var v uppercaseRequest
	err := json.NewDecoder(r.Body).Decode(&v)
	return v, err
}

func decodeResponse(_ context.Context, r *http.Response) (interface{}, error) {
	if r.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("http %d", r.StatusCode)
	}
	var v uppercaseResponse
	err := json.NewDecoder(r.Body).Decode(&v)
	return v, err
}
