// Command addsvc is a go-kit service reachable over HTTP and over Hydra pub/sub with the same
// endpoints: an instance serves POST /sum and /concat on its HTTP listener and the routes /sum and
// /concat on its redispubsub Conn, and registers with sd/redis under one instance ID. Clients find it
// through sd/redis either way (host:port for HTTP, instance IDs for pub/sub), as Node Hydra services
// and hydra-router do.
//
//	go run ./examples/addsvc -redis redis://127.0.0.1:6379/0 -listen 127.0.0.1:8081   # an instance
//	go run ./examples/addsvc -selftest          # an instance and a client on an embedded Redis
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

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/embedded"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
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
	redisURL := fs.String("redis", "", "Redis URL, redis://host:port/db (empty: an embedded Redis)")
	listen := fs.String("listen", "127.0.0.1:8081", "HTTP address the instance serves on")
	selftest := fs.Bool("selftest", false, "start an instance and call it over both transports, then exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := log.With(log.NewLogfmtLogger(log.NewSyncWriter(stderr)), "ts", log.DefaultTimestampUTC)
	client, _, closeRedis, err := embedded.Connect(*redisURL)
	if err != nil {
		return err
	}
	defer closeRedis()

	if *selftest {
		*listen = "127.0.0.1:0"
	}
	inst, err := startInstance(client, *listen, logger)
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
	conn      *redispubsub.Conn
	registrar *sdredis.Registrar
	server    *http.Server
	done      chan struct{}
}

func startInstance(client goredis.UniversalClient, listen string, logger log.Logger) (*instance, error) {
	endpoints := makeEndpoints(addService{})
	id := keyspace.NewInstanceID()
	conn, err := redispubsub.NewConn(client, serviceName, id, redispubsub.ConnLogger(logger))
	if err != nil {
		return nil, err
	}
	handlePubSub(conn, endpoints)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	addr := ln.Addr().(*net.TCPAddr)
	registrar, err := sdredis.NewRegistrar(client, sdredis.Service{Name: serviceName, ID: id, IP: addr.IP.String(), Port: addr.Port, Version: "1.0.0"}, logger)
	if err != nil {
		_ = ln.Close()
		_ = conn.Close()
		return nil, err
	}
	inst := &instance{conn: conn, registrar: registrar, done: make(chan struct{})}
	inst.server = &http.Server{Handler: httpHandler(endpoints), ReadHeaderTimeout: 5 * time.Second}
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

func runSelftest(ctx context.Context, client goredis.UniversalClient, stdout io.Writer, logger log.Logger) error {
	conn, err := redispubsub.NewConn(client, "addsvc-client", keyspace.NewInstanceID())
	if err != nil {
		return err
	}
	defer conn.Close()
	c, err := newClients(client, conn, logger)
	if err != nil {
		return err
	}
	defer c.close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, call := range []struct {
		name string
		e    func(context.Context, interface{}) (interface{}, error)
		req  interface{}
	}{
		{"sum over http", c.httpSum, sumRequest{A: 1, B: 2}},
		{"sum over pubsub", c.pubsubSum, sumRequest{A: 1, B: 2}},
		{"concat over http", c.httpConcat, concatRequest{A: "go", B: "kit"}},
		{"concat over pubsub", c.pubsubConcat, concatRequest{A: "hydra", B: "kit"}},
		{"overflow over http", c.httpSum, sumRequest{A: maxSafe, B: 1}},
		{"overflow over pubsub", c.pubsubSum, sumRequest{A: maxSafe, B: 1}},
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
