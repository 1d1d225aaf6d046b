// Command hydrakit-router is a Go replacement for hydra-router: it routes HTTP and WebSocket
// traffic to the live instances of Hydra services (Node and Go), serves the dashboard at /, the
// router API at /v1/router/… and Prometheus metrics at /metrics, and registers itself as service
// hydra-router, type router.
//
//	go run ./cmd/hydrakit-router -redis redis://127.0.0.1:6379/0 -listen :5353
//
// -redis takes any form package redisurl reads (rediss://, redis+sentinel://, cluster seeds), with
// -redis-ca, -redis-cert and -redis-key for TLS. Once registered it prints
// "ready <instance ID> http://<listen address>/" on stdout. SIGINT or SIGTERM deregisters it, then
// lets requests in flight finish.
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
	"strconv"
	"syscall"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/embedded"
	"github.com/hydrakit/hydrakit/router"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hydrakit-router:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hydrakit-router", flag.ContinueOnError)
	fs.SetOutput(stderr)
	redis := embedded.AddFlags(fs)
	listen := fs.String("listen", ":5353", "address to serve HTTP and WebSocket on")
	token := fs.String("token", "", "routerToken: a version 4 UUID the router API and dashboard require as ?token=")
	disableAPI := fs.Bool("disable-api", false, "answer 404 on the router API and the dashboard")
	timeout := fs.Duration("timeout", router.DefaultTimeout, "request timeout of a routed request")
	advertise := fs.String("advertise", "", "ip:port to register (default: this host's address and the listening port)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if redis.URL == "" {
		redis.URL = "redis://127.0.0.1:6379/0" // a router serves a fleet: no embedded Redis
	}
	logger := log.With(log.NewLogfmtLogger(log.NewSyncWriter(stderr)), "ts", log.DefaultTimestampUTC)
	client, _, closeRedis, err := redis.Connect(hydrakit.WithLogger(logger))
	if err != nil {
		return err
	}
	defer closeRedis()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	ip, port, err := advertised(*advertise, ln.Addr())
	if err != nil {
		return err
	}
	options := []router.RouterOption{router.RouterToken(*token), router.RouterTimeout(*timeout), router.RouterAdvertise(ip, port)}
	if *disableAPI {
		options = append(options, router.RouterDisableAPI())
	}
	r, err := router.New(client, options...)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "ready %s http://%s/\n", r.ID(), ln.Addr())

	select {
	case <-ctx.Done():
	case err := <-served:
		r.Close()
		return err
	}
	closeErr := r.Close() // deregister first: no new traffic is sent here
	shutdown, cancel := context.WithTimeout(context.Background(), *timeout+time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return closeErr
}

// advertised returns the ip and port to register: -advertise's, else "" (this host's address, as
// sd/redis finds it) and the port listened on.
func advertised(flagValue string, addr net.Addr) (string, int, error) {
	if flagValue == "" {
		return "", addr.(*net.TCPAddr).Port, nil
	}
	host, p, err := net.SplitHostPort(flagValue)
	if err != nil {
		return "", 0, fmt.Errorf("-advertise: %w", err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("-advertise: bad port %q", p)
	}
	return host, port, nil
}
