// Command addsvc is a go-kit service reachable over HTTP and over Hydra pub/sub with the same
// endpoints: an instance serves POST /sum and /concat on its HTTP listener and the routes /sum and
// /concat on its redispubsub Conn, and registers with sd/redis under one instance ID. Clients find it
// through sd/redis either way (host:port for HTTP, instance IDs for pub/sub), as Node Hydra services
// and hydra-router do. The HTTP listener serves Prometheus metrics on GET /metrics too
// (docs/observability.md).
//
//	go run ./examples/addsvc -redis redis://127.0.0.1:6379/0 -listen 127.0.0.1:8081   # an instance
//	go run ./examples/addsvc -selftest          # an instance and a client on an embedded Redis
//
// -redis takes any form redisurl does (rediss://, redis+sentinel://, cluster seeds), with -redis-ca,
// -redis-cert and -redis-key for TLS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/embedded"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/transport/redispubsub/balancer"
)

const serviceName = "addsvc"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "addsvc:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("addsvc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	redis := embedded.AddFlags(fs)
	listen := fs.String("listen", "127.0.0.1:8081", "HTTP address the instance serves on")
	selftest := fs.Bool("selftest", false, "start an instance and call it over both transports, then exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := log.With(log.NewLogfmtLogger(log.NewSyncWriter(stderr)), "ts", log.DefaultTimestampUTC)
	metricsOption, metrics, err := embedded.Metrics()
	if err != nil {
		return err
	}
	client, _, closeRedis, err := redis.Connect(hydrakit.WithLogger(logger), metricsOption)
	if err != nil {
		return err
	}
	defer closeRedis()

	if *selftest {
		*listen = "127.0.0.1:0"
	}
	inst, err := startInstance(client, *listen, metrics, logger)
	if err != nil {
		return err
	}
	defer inst.stop()
	if *selftest {
		return runSelftest(ctx, client, stdout, logger)
	}
	<-ctx.Done()
	return nil
}

// instance serves the endpoints on both transports and is registered while it does.
type instance struct {
	addr      string // the HTTP listener's
	conn      *redispubsub.Conn
	registrar *sdredis.Registrar
	server    *http.Server
	done      chan struct{}
}

func startInstance(client *hydrakit.Client, listen string, metrics http.Handler, logger log.Logger) (*instance, error) {
	endpoints := makeEndpoints(addService{})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().(*net.TCPAddr)
	// One instance ID for both transports: Registrar, then Conn and routes, then Register.
	registrar, err := sdredis.NewRegistrar(client, sdredis.Service{Name: serviceName, IP: addr.IP.String(), Port: addr.Port, Version: "1.0.0"}, logger)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	conn, err := redispubsub.NewConn(client, serviceName, registrar.ID())
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	if err := handlePubSub(conn, endpoints); err != nil {
		_ = conn.Close()
		_ = ln.Close()
		return nil, err
	}
	inst := &instance{addr: addr.String(), conn: conn, registrar: registrar, done: make(chan struct{})}
	inst.server = &http.Server{Handler: embedded.WithMetricsRoute(httpHandler(endpoints), metrics), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(inst.done)
		if err := inst.server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			logger.Log("msg", "serve failed", "err", err)
		}
	}()
	registrar.Register() // subscribed and listening: now it may be found
	return inst, nil
}

// stop deregisters first, so that callers stop choosing the instance before it stops answering.
func (i *instance) stop() {
	i.registrar.Deregister()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = i.server.Shutdown(ctx)
	<-i.done
	_ = i.conn.Close()
}

// runSelftest calls the service by name over both transports, each balanced over its instances with
// retries.
func runSelftest(ctx context.Context, client *hydrakit.Client, stdout io.Writer, logger log.Logger) error {
	// Pub/sub: one Conn per process, one balancer (round robin, retries, a breaker per instance) per
	// service and route.
	conn, err := redispubsub.NewConn(client, "addsvc-client", keyspace.NewInstanceID())
	if err != nil {
		return err
	}
	defer conn.Close()
	sum, err := balancer.New(conn, serviceName, "/sum", redispubsub.EncodeJSONRequest, decodeUMFResponse[int],
		balancer.PublisherOptions(redispubsub.PublisherBefore(setRequestID)))
	if err != nil {
		return err
	}
	defer sum.Close()
	concat, err := balancer.New(conn, serviceName, "/concat", redispubsub.EncodeJSONRequest, decodeUMFResponse[string])
	if err != nil {
		return err
	}
	defer concat.Close()

	// HTTP: go-kit's Endpointer on an sd/redis Instancer, which yields host:port.
	instancer, err := sdredis.NewInstancer(client, serviceName, logger)
	if err != nil {
		return err
	}
	defer instancer.Stop()
	httpSum, sumEndpointer := httpClient(instancer, "/sum", decodeHTTPResponse[int], logger)
	defer sumEndpointer.Close()
	httpConcat, concatEndpointer := httpClient(instancer, "/concat", decodeHTTPResponse[string], logger)
	defer concatEndpointer.Close()

	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, call := range []struct {
		name string
		e    endpoint.Endpoint
		req  interface{}
	}{
		{"sum over http", httpSum, sumRequest{A: 1, B: 2}},
		{"sum over pubsub", sum.Endpoint(), sumRequest{A: 1, B: 2}},
		{"concat over http", httpConcat, concatRequest{A: "go", B: "kit"}},
		{"concat over pubsub", concat.Endpoint(), concatRequest{A: "hydra", B: "kit"}},
		{"overflow over http", httpSum, sumRequest{A: maxSafe, B: 1}},
		{"overflow over pubsub", sum.Endpoint(), sumRequest{A: maxSafe, B: 1}},
	} {
		v, err := call.e(ctx, call.req)
		if err != nil {
			fmt.Fprintf(stdout, "%s: error: %v\n", call.name, err)
			continue
		}
		fmt.Fprintf(stdout, "%s: %v\n", call.name, v)
	}
	return nil
}
