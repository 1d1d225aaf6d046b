// Command demo is the tour `make demo` runs: three instances of a go-kit service register on Redis, a
// client balances HTTP and pub/sub calls across them, one instance is killed and the client fails over,
// a broadcast reaches every instance, queued jobs survive a worker killed mid-job, and the health
// snapshots, flight-recorder entries and Redis keys (in Node Hydra's scheme) are shown. Each greeter
// serves Prometheus metrics on GET /metrics of its HTTP listener; the tour prints where to scrape.
//
//	go run ./cmd/demo                          # on an embedded Redis
//	REDIS_URL=redis://127.0.0.1:6379/0 go run ./cmd/demo
//	go run ./cmd/demo -redis rediss://127.0.0.1:6380/0 -redis-ca ca.pem
//	go run ./cmd/demo -stay                    # then keep the fleet up for the hydrakit CLI
//
// With -stay, after the tour the greeters, the queue worker, hydrakit-router and the embedded Redis stay
// up until Ctrl-C or SIGTERM (the demo then exits 0), and the demo prints the exact
// `hydrakit --redis URL nodes` line to run in another terminal, and the router's dashboard URL.
//
// -redis takes every form package redisurl reads; the greeters and workers the demo starts connect to
// the same Redis with the same TLS files.
//
// It exits 0 when every step worked, and otherwise non-zero, naming the step that failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/embedded"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	redis := embedded.AddFlags(fs)
	// -redis defaults to $REDIS_URL, so that `make demo` runs on the Redis it names.
	redisFlag := fs.Lookup("redis")
	redisFlag.Usage += "; default $REDIS_URL"
	if env := os.Getenv("REDIS_URL"); env != "" {
		redis.URL, redisFlag.DefValue = env, env
	}
	role := fs.String("role", "", "internal: run as a child process of the demo (greeter or worker)")
	name := fs.String("name", "", "internal: service name of a child")
	verbose := fs.Bool("v", false, "show the logs of the demo's processes")
	stay := fs.Bool("stay", false, "after the tour, keep its services, router and Redis up until Ctrl-C or SIGTERM, and print the hydrakit command that shows them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := log.NewNopLogger()
	if *verbose || *role != "" {
		logger = log.With(log.NewLogfmtLogger(log.NewSyncWriter(stderr)), "ts", log.DefaultTimestampUTC)
	}

	if redis.URL == "" && *role != "" {
		return errors.New("a child needs -redis")
	}
	embeddedRedis := redis.URL == ""
	metricsOption, metrics, err := embedded.Metrics()
	if err != nil {
		return err
	}
	if *stay {
		// Redis's own port when it is free, so that a plain `hydrakit nodes` finds the fleet.
		redis.Listen = "127.0.0.1:6379"
	}
	client, url, closeRedis, err := redis.Connect(hydrakit.WithLogger(logger), metricsOption)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	defer closeRedis()
	where := "Redis at " + url
	if embeddedRedis {
		where = "an embedded Redis (miniredis, keys expiring in real time) at " + url
	}

	switch *role {
	case "greeter":
		return runGreeter(ctx, client, *name, metrics, stdout, logger)
	case "worker":
		return runWorker(ctx, client, *name, stdout)
	case "":
	default:
		return fmt.Errorf("unknown -role %q", *role)
	}

	untilSignal := ctx
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// The children connect where the demo did, with the same TLS files.
	children := *redis
	children.URL = url
	t := &tour{client: client, rdb: client.Redis(), redis: children, out: stdout, logger: logger, verbose: *verbose, start: time.Now()}
	defer t.cleanup()
	t.say("hydrakit demo on %s", where)
	if err := t.run(ctx); err != nil || !*stay {
		return err
	}
	return t.stay(untilSignal)
}
