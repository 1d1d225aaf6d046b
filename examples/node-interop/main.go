// Command node-interop is a Go service and a Node Hydra service talking both ways over Redis.
//
// The Go half (this command) is a go-kit service registered with sd/redis that serves the routes
// /uppercase and /job-done on its transport/redispubsub Conn (go-kit Subscribers), calls the Node
// service's /greet by name through a balancer (package transport/redispubsub/balancer), and queues
// jobs for it with a queue.Producer. The Node half (node/service.js, plain Hydra 1.9.3) registers,
// answers /greet with sendReplyMessage, calls /uppercase with sendMessage, and takes the jobs with
// getQueuedMessage, reporting each one to /job-done.
//
//	go run ./examples/node-interop -selftest     # embedded Redis, starts node/service.js, checks both ways
//
// or in two terminals, on a Redis of your own:
//
//	go run ./examples/node-interop -redis redis://127.0.0.1:6379/0
//	cd examples/node-interop/node && npm ci && HYDRA_REDIS_URL=redis://127.0.0.1:6379/0 node service.js
//
// Give Node the DB in the URL: without one it uses DB 15, and the two would not see each other.
// -redis takes any form redisurl does, with -redis-ca, -redis-cert and -redis-key for TLS, but
// -selftest hands Node the URL alone (HYDRA_REDIS_URL): give it a redis://host:port/db there.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/embedded"
	"github.com/hydrakit/hydrakit/transport/redispubsub/balancer"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "node-interop:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("node-interop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	redis := embedded.AddFlags(fs)
	name := fs.String("name", "go-interop", "this service's name")
	node := fs.String("node", "node-interop", "the Node service's name")
	every := fs.Duration("every", 5*time.Second, "how often to greet the Node service and queue a job for it")
	selftest := fs.Bool("selftest", false, "start node/service.js, check that both directions work, then exit")
	nodeDir := fs.String("node-dir", "", "directory of service.js (default: node or examples/node-interop/node)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := log.With(log.NewLogfmtLogger(log.NewSyncWriter(stderr)), "ts", log.DefaultTimestampUTC)
	out := &lockedWriter{w: stdout}

	client, u, closeRedis, err := redis.Connect(hydrakit.WithLogger(logger))
	if err != nil {
		return err
	}
	defer closeRedis()

	svc, err := startGoService(client, *name, *node, out, logger)
	if err != nil {
		return err
	}
	defer svc.stop()
	fmt.Fprintf(out, "go: %s registered as %s\n", *name, svc.registrar.ID())

	if *selftest {
		dir, err := findNodeDir(*nodeDir)
		if err != nil {
			return err
		}
		return runSelftest(ctx, svc, nodeEnv(u, *name, *node), dir, out, stderr)
	}
	tick := time.NewTicker(*every)
	defer tick.Stop()
	for {
		talk(ctx, svc, out)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// talk greets the Node service and, when it answered, queues a job for it (so that no jobs pile
// up while it is not running), printing what came back.
func talk(ctx context.Context, svc *goService, out io.Writer) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	g, err := svc.greetNode(ctx, "gopher")
	if err != nil {
		var failed *balancer.Error
		if errors.As(err, &failed) {
			err = failed.Err // the attempts before it said the same
		}
		fmt.Fprintf(out, "go: calling %s /greet: %v\n", svc.node, err)
		return
	}
	fmt.Fprintf(out, "go: reply from %s /greet: %q (by %s)\n", svc.node, g.Greeting, g.By)
	if mid, err := svc.queueJob(ctx, "cat.png"); err != nil {
		fmt.Fprintf(out, "go: queueing a job for %s: %v\n", svc.node, err)
	} else {
		fmt.Fprintf(out, "go: queued job %s for %s\n", mid, svc.node)
	}
}

// nodeEnv configures node/service.js. Node Hydra reads the DB from the URL's path and uses DB 15
// when there is none, so the path is made explicit.
func nodeEnv(redisURL, goName, nodeName string) []string {
	if u, err := url.Parse(redisURL); err == nil && (u.Path == "" || u.Path == "/") {
		u.Path = "/0"
		redisURL = u.String()
	}
	return []string{"HYDRA_REDIS_URL=" + redisURL, "GO_SERVICE=" + goName, "NODE_SERVICE=" + nodeName}
}
