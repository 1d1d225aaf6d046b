// Command hmr is a Hydra message relay: a service that registers with sd/redis and answers every UMF
// message it receives, on its service channel or its instance channel, with a reply whose bdy is
// {"echo": <request bdy>}, as Node Hydra's hmr service does. It deregisters cleanly on SIGINT and
// SIGTERM. It reports health and keeps a flight-recorder log like any Hydra service.
//
//	go run ./examples/hmr -redis redis://127.0.0.1:6379/0 -name hmr
//
// -redis takes any form redisurl does (rediss://, redis+sentinel://, cluster seeds), with
// -redis-ca, -redis-cert and -redis-key for TLS. -secret (or HYDRAKIT_SECRET) signs every message
// it sends, as Node's signMessage('sha256', secret) does; several comma-separated secrets are a key
// rotation (the first signs, all are accepted). -require-signatures drops every message without a
// valid signature. -metrics ADDR serves Prometheus metrics on http://ADDR/metrics (docs/observability.md)
// and prints "metrics <URL>" on stdout. Once registered it prints "ready <instance ID>" on stdout.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/health"
	"github.com/hydrakit/hydrakit/internal/embedded"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hmr:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hmr", flag.ContinueOnError)
	fs.SetOutput(stderr)
	redis := embedded.AddFlags(fs)
	name := fs.String("name", "hmr", "service name")
	secret := fs.String("secret", os.Getenv("HYDRAKIT_SECRET"),
		"signing secrets, comma-separated: the first signs, every one is accepted (default $HYDRAKIT_SECRET)")
	require := fs.Bool("require-signatures", false, "drop messages and replies without a valid signature (needs -secret)")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics on http://`ADDR`/metrics")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if redis.URL == "" {
		redis.URL = "redis://127.0.0.1:6379/0" // a relay serves other processes: no embedded Redis
	}
	logger := log.With(log.NewLogfmtLogger(log.NewSyncWriter(stderr)), "ts", log.DefaultTimestampUTC)
	options := []hydrakit.Option{hydrakit.WithLogger(logger)}
	if *secret != "" {
		secrets := strings.Split(*secret, ",")
		options = append(options, hydrakit.WithSigning(secrets[0], secrets[1:]...))
	}
	if *require {
		options = append(options, hydrakit.WithRequiredSignatures())
	}
	if *metricsAddr != "" {
		option, handler, err := embedded.Metrics()
		if err != nil {
			return err
		}
		url, stopMetrics, err := embedded.ServeMetrics(*metricsAddr, handler)
		if err != nil {
			return err
		}
		defer stopMetrics()
		options = append(options, option)
		fmt.Fprintln(stdout, "metrics", url)
	}
	client, _, closeRedis, err := redis.Connect(options...)
	if err != nil {
		return err
	}
	defer closeRedis()

	reg, err := sdredis.NewRegistrar(client, sdredis.Service{Name: *name, Description: "Hydra message relay"}, logger)
	if err != nil {
		return err
	}
	id := reg.ID()
	// Health: the snapshot Node's tools read (getServiceHealthAll, hydra-cli health), and a flight
	// recorder keeping errors in Hydra's health log.
	recorder, err := health.NewRecorder(client, *name, id, health.RecorderNext(logger))
	if err != nil {
		return err
	}
	defer recorder.Close()
	logger = recorder
	checker := health.NewChecker()
	if err := checker.Register("redis", health.RedisCheck(client)); err != nil {
		return err
	}
	reporter, err := health.NewReporter(client, *name, id, health.ReporterChecker(checker))
	if err != nil {
		return err
	}
	defer reporter.Close()

	// Subscribe first, then announce presence: no message sent to a visible instance is lost.
	conn, err := redispubsub.NewConn(client, *name, id)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.HandleDefault(echo(&limitedLogger{next: level.Error(logger), now: time.Now}))
	reg.Register()
	fmt.Fprintln(stdout, "ready", id)
	<-ctx.Done()
	reg.Deregister() // presence goes first, then the Conn closes (deferred)
	return nil
}

// echo answers msg with {"echo": <bdy>}; a message with nowhere to reply to is dropped, as Node's
// hmr does. Failed replies go to logger, which must be rate limited: anyone who can PUBLISH chooses
// how many fail.
func echo(logger log.Logger) redispubsub.Handler {
	return func(ctx context.Context, c *redispubsub.Conn, msg *umf.Message) {
		if msg.From == "" && msg.Via == "" {
			return
		}
		body := msg.Body
		if len(body) == 0 {
			body = json.RawMessage("null")
		}
		resp := &umf.Message{}
		err := resp.SetBody(map[string]json.RawMessage{"echo": body})
		if err == nil {
			err = c.Reply(ctx, msg, resp)
		}
		if err != nil {
			logger.Log("msg", "reply failed", "mid", msg.MID, "err", err)
		}
	}
}

// limitedLogger passes at most one line a second to next and adds how many it suppressed since the
// last one.
type limitedLogger struct {
	next log.Logger
	now  func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (l *limitedLogger) Log(keyvals ...any) error {
	l.mu.Lock()
	now := l.now()
	if !l.last.IsZero() && now.Sub(l.last) < time.Second {
		l.suppressed++
		l.mu.Unlock()
		return nil
	}
	l.last = now
	n := l.suppressed
	l.suppressed = 0
	l.mu.Unlock()
	if n > 0 {
		keyvals = append(keyvals, "suppressed", n)
	}
	return l.next.Log(keyvals...)
}
