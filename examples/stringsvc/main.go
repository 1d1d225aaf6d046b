// Command stringsvc is go-kit's stringsvc3 on sd/redis: string service instances register with a
// Registrar, and a client finds them with an Instancer, load-balances with round robin and retries,
// with a circuit breaker per instance. Every instance serves Prometheus metrics on GET /metrics of
// its listener (docs/observability.md).
//
//	go run ./examples/stringsvc -redis redis://127.0.0.1:6379/0 -listen 127.0.0.1:8080   # an instance
//	go run ./examples/stringsvc -redis redis://127.0.0.1:6379/0 -call 10                # a client
//	go run ./examples/stringsvc -selftest 20    # two instances and a client on an embedded Redis
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

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/embedded"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

const serviceName = "stringsvc"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "stringsvc:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stringsvc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	redis := embedded.AddFlags(fs)
	listen := fs.String("listen", "127.0.0.1:8080", "address the instance serves on")
	calls := fs.Int("call", 0, "client only: make N uppercase calls through sd/redis and exit")
	selftest := fs.Int("selftest", 0, "start two instances and a client, make N calls, check both instances answered, exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := log.With(log.NewLogfmtLogger(log.NewSyncWriter(stderr)), "ts", log.DefaultTimestampUTC)

	metricsOption, metrics, err := embedded.Metrics()
	if err != nil {
		return err
	}
	client, _, closeRedis, err := redis.Connect(metricsOption)
	if err != nil {
		return err
	}
	defer closeRedis()

	switch {
	case *selftest > 0:
		return runSelftest(ctx, client, metrics, *selftest, stdout, logger)
	case *calls > 0:
		return runClient(ctx, client, *calls, stdout, logger)
	}
	inst, err := startInstance(client, *listen, metrics, logger)
	if err != nil {
		return err
	}
	defer inst.stop()
	<-ctx.Done()
	return nil
}

// instance is one running string service, registered while it serves.
type instance struct {
	addr      string // host:port, as registered
	registrar *sdredis.Registrar
	server    *http.Server
	done      chan struct{}
}

// startInstance serves the string service on listen, and metrics on its /metrics.
func startInstance(client *hydrakit.Client, listen string, metrics http.Handler, logger log.Logger) (*instance, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().(*net.TCPAddr)
	ip := addr.IP.String()
	if addr.IP.IsUnspecified() {
		ip = "127.0.0.1"
	}
	registrar, err := sdredis.NewRegistrar(client, sdredis.Service{Name: serviceName, IP: ip, Port: addr.Port, Version: "1.0.0"}, logger)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	inst := &instance{addr: net.JoinHostPort(ip, strconv.Itoa(addr.Port)), registrar: registrar, done: make(chan struct{})}
	inst.server = &http.Server{Handler: embedded.WithMetricsRoute(newHandler(stringService{}, inst.addr), metrics), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(inst.done)
		if err := inst.server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			logger.Log("msg", "serve failed", "err", err)
		}
	}()
	registrar.Register() // only once it can serve
	logger.Log("msg", "serving", "addr", ln.Addr())
	return inst, nil
}

// stop deregisters first, so that clients stop choosing the instance before it stops answering.
func (i *instance) stop() {
	i.registrar.Deregister()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = i.server.Shutdown(ctx)
	<-i.done
}

func runClient(ctx context.Context, client *hydrakit.Client, n int, stdout io.Writer, logger log.Logger) error {
	instancer, err := sdredis.NewInstancer(client, serviceName, logger)
	if err != nil {
		return err
	}
	defer instancer.Stop()
	uppercase, endpointer := newUppercaseClient(instancer, logger)
	defer endpointer.Close()
	for i := range n {
		resp, err := call(ctx, uppercase, fmt.Sprintf("hello %d", i))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s (from %s)\n", resp.V, resp.By)
	}
	return nil
}

func call(ctx context.Context, e endpoint.Endpoint, s string) (uppercaseResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := e(ctx, uppercaseRequest{S: s})
	if err != nil {
		return uppercaseResponse{}, err
	}
	return resp.(uppercaseResponse), nil
}
