// Command demo is the tour `make demo` runs: three instances of a go-kit service register on Redis, a
// client balances HTTP and pub/sub calls across them, one instance is killed and the client fails over,
// a broadcast reaches every instance, queued jobs survive a worker killed mid-job, and the health
// snapshots, flight-recorder entries and Redis keys (in Node Hydra's scheme) are shown.
//
//	go run ./cmd/demo                          # on an embedded Redis
//	REDIS_URL=redis://127.0.0.1:6379/0 go run ./cmd/demo
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
	redisURL := fs.String("redis", os.Getenv("REDIS_URL"), "Redis URL (default $REDIS_URL; empty: an embedded Redis)")
	role := fs.String("role", "", "internal: run as a child process of the demo (greeter or worker)")
	name := fs.String("name", "", "internal: service name of a child")
	verbose := fs.Bool("v", false, "show the logs of the demo's processes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := log.NewNopLogger()
	if *verbose || *role != "" {
		logger = log.With(log.NewLogfmtLogger(log.NewSyncWriter(stderr)), "ts", log.DefaultTimestampUTC)
	}

	if *redisURL == "" && *role != "" {
		return errors.New("a child needs -redis")
	}
	client, url, closeRedis, err := embedded.Connect(*redisURL)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	defer closeRedis()
	where := "Redis at " + url
	if *redisURL == "" {
		where = "an embedded Redis (miniredis, keys expiring in real time) at " + url
	}

	switch *role {
	case "greeter":
		return runGreeter(ctx, client, *name, stdout, logger)
	case "worker":
		return runWorker(ctx, client, *name, stdout, logger)
	case "":
	default:
		return fmt.Errorf("unknown -role %q", *role)
	}

	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	t := &tour{client: client, url: url, out: stdout, logger: logger, verbose: *verbose, start: time.Now()}
	defer t.cleanup()
	t.say("hydrakit demo on %s", where)
	return t.run(ctx)
}
