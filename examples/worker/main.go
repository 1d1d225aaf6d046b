// Command worker is a Hydra queue worker: it registers NAME (visible to Node Hydra and hydra-cli),
// consumes NAME's queue with a queue.Consumer and completes every message, logging its mid.
//
//	go run ./examples/worker -redis redis://127.0.0.1:6379/0 -name resize [-fail-every 3]
//	go run ./examples/worker -redis redis://127.0.0.1:6379/0 -name resize -produce 100
//
// With -fail-every N every Nth message fails, so retries and the incomplete list can be watched
// (hydra-cli, or queue.Inspector). With -secret (or HYDRAKIT_SECRET) every message it enqueues is
// signed as Node's signMessage('sha256', secret) signs; a comma-separated list rotates: the first
// signs, all are accepted. With -require-signatures too, the consumer moves messages without a valid
// signature to the incomplete list unhandled. -metrics ADDR serves Prometheus metrics on
// http://ADDR/metrics (docs/observability.md), the queue's depths read at each scrape, and logs the
// URL. SIGINT or SIGTERM stops it gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/health"
	"github.com/hydrakit/hydrakit/internal/embedded"
	"github.com/hydrakit/hydrakit/queue"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/umf"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

type config struct {
	redis                       *embedded.Redis
	name                        string
	failEvery, workers, produce int
	attempts                    int
	lease, work                 time.Duration
	secret                      string
	requireSignatures           bool
	metrics                     string
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	c.redis = embedded.AddFlags(fs)
	fs.StringVar(&c.name, "name", "", "service name whose queue to consume (required)")
	fs.IntVar(&c.failEvery, "fail-every", 0, "fail every Nth message (0: never)")
	fs.IntVar(&c.workers, "workers", 8, "concurrent handlers")
	fs.IntVar(&c.attempts, "attempts", 3, "attempts before a message goes to the incomplete list")
	fs.DurationVar(&c.lease, "lease", 25*time.Second, "lease of a message without heartbeat")
	fs.DurationVar(&c.work, "work", 0, "simulated work per message")
	fs.IntVar(&c.produce, "produce", 0, "enqueue N messages to -name's queue and exit")
	fs.StringVar(&c.secret, "secret", os.Getenv("HYDRAKIT_SECRET"),
		"signing secrets, comma-separated: the first signs, all are accepted (default $HYDRAKIT_SECRET)")
	fs.BoolVar(&c.requireSignatures, "require-signatures", false,
		"move queued messages without a valid signature to the incomplete list (needs -secret)")
	fs.StringVar(&c.metrics, "metrics", "", "serve Prometheus metrics on http://`ADDR`/metrics")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.name == "" {
		return c, errors.New("-name is required")
	}
	if c.redis.URL == "" {
		c.redis.URL = "redis://127.0.0.1:6379/0" // a worker is one of several processes: no embedded Redis
	}
	return c, nil
}

// clientOptions are the hydrakit options c asks for; hydrakit.NewClient checks them (no empty
// secret, no -require-signatures without one).
func (c config) clientOptions(logger log.Logger) []hydrakit.Option {
	options := []hydrakit.Option{hydrakit.WithLogger(logger)}
	if c.secret != "" {
		secrets := strings.Split(c.secret, ",")
		options = append(options, hydrakit.WithSigning(secrets[0], secrets[1:]...))
	}
	if c.requireSignatures {
		options = append(options, hydrakit.WithRequiredSignatures())
	}
	return options
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	c, err := parse(args)
	if err != nil {
		return err
	}
	logger := log.With(log.NewLogfmtLogger(log.NewSyncWriter(stdout)), "ts", log.DefaultTimestampUTC)
	options := c.clientOptions(logger)
	var metricsHandler http.Handler
	if c.metrics != "" && c.produce == 0 {
		option, h, err := embedded.Metrics()
		if err != nil {
			return err
		}
		options, metricsHandler = append(options, option), h
	}
	client, _, closeRedis, err := c.redis.Connect(options...)
	if err != nil {
		return err
	}
	defer closeRedis()
	if c.produce > 0 {
		return produce(ctx, client, c, logger)
	}
	if metricsHandler != nil {
		inspector, err := queue.NewInspector(client)
		if err != nil {
			return err
		}
		// Depths are read from Redis when scraped: one round trip per scrape.
		scrape := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := inspector.Observe(r.Context(), c.name); err != nil {
				logger.Log("msg", "queue stats for metrics failed", "err", err)
			}
			metricsHandler.ServeHTTP(w, r)
		})
		url, stopMetrics, err := embedded.ServeMetrics(c.metrics, scrape)
		if err != nil {
			return err
		}
		defer stopMetrics()
		logger.Log("msg", "serving metrics", "url", url)
	}

	registrar, err := sdredis.NewRegistrar(client, sdredis.Service{Name: c.name, Type: "worker"}, logger)
	if err != nil {
		return err
	}
	// Health: the snapshot Node's tools read, and a flight recorder keeping warnings and errors
	// (a failing message is a warning) in Hydra's health log.
	recorder, err := health.NewRecorder(client, c.name, registrar.ID(), health.RecorderNext(logger),
		health.RecorderLevels(level.WarnValue(), level.ErrorValue()))
	if err != nil {
		return err
	}
	defer recorder.Close()
	logger = log.With(recorder, "instance", registrar.ID())
	checker := health.NewChecker()
	if err := checker.Register("redis", health.RedisCheck(client)); err != nil {
		return err
	}
	registrar.Register()
	defer registrar.Deregister()
	reporter, err := health.NewReporter(client, c.name, registrar.ID(), health.ReporterChecker(checker))
	if err != nil {
		return err
	}
	defer reporter.Close()

	var n atomic.Int64
	handler := queue.HandlerFunc(func(ctx context.Context, d *queue.Delivery) error {
		if c.work > 0 {
			select {
			case <-time.After(c.work):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if c.failEvery > 0 && n.Add(1)%int64(c.failEvery) == 0 {
			level.Warn(logger).Log("msg", "failing on purpose", "mid", d.Message.MID, "attempt", d.Attempt)
			return fmt.Errorf("failed on purpose (every %d messages)", c.failEvery)
		}
		logger.Log("msg", "handled", "mid", d.Message.MID, "attempt", d.Attempt)
		return nil
	})
	consumer, err := queue.NewConsumer(client, c.name, handler,
		queue.ConsumerWorkers(c.workers), queue.ConsumerMaxAttempts(c.attempts),
		queue.ConsumerLease(c.lease),
		queue.ConsumerBackoff(func(a int) time.Duration { return time.Duration(a) * 100 * time.Millisecond }))
	if err != nil {
		return err
	}
	logger.Log("msg", "consuming", "queue", c.name)
	<-ctx.Done()
	logger.Log("msg", "stopping")
	return consumer.Close()
}

// produce enqueues c.produce messages in batches of 500, logging each mid.
func produce(ctx context.Context, client *hydrakit.Client, c config, logger log.Logger) error {
	p, err := queue.NewProducer(client)
	if err != nil {
		return err
	}
	for done := 0; done < c.produce; {
		batch := make([]*umf.Message, 0, 500)
		for ; done < c.produce && len(batch) < cap(batch); done++ {
			m, err := umf.New(c.name+":/", "worker-example:/", map[string]int{"n": done})
			if err != nil {
				return err
			}
			batch = append(batch, m)
		}
		if err := p.Enqueue(ctx, batch...); err != nil {
			return err
		}
		for _, m := range batch {
			logger.Log("msg", "enqueued", "mid", m.MID)
		}
	}
	return nil
}
