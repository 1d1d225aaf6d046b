package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/queue"
)

// A job sleeps for its duration, then counts its run in the demo's done hash (mid → runs), so the tour
// can tell that every job ran and how many ran twice (delivery is at least once).
type job struct {
	N       int `json:"n"`
	SleepMS int `json:"sleepMs"`
}

// The demo's queue settings: short leases so a killed worker's jobs come back within seconds.
const (
	demoLease           = 2 * time.Second
	demoRecoverInterval = 250 * time.Millisecond
)

func doneKey(service string) string { return keyspace.Default.Own(service, "demo", "done") }

// runWorker is one queue worker process with two workers. It prints "ready <pid>" once consuming.
func runWorker(ctx context.Context, client goredis.UniversalClient, name string, stdout io.Writer, logger log.Logger) error {
	handler := queue.HandlerFunc(func(ctx context.Context, d *queue.Delivery) error {
		var j job
		if err := d.Message.DecodeBody(&j); err != nil {
			return queue.Permanent(err)
		}
		select {
		case <-time.After(time.Duration(j.SleepMS) * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		return client.HIncrBy(ctx, doneKey(name), d.Message.MID, 1).Err()
	})
	consumer, err := queue.NewConsumer(client, name, handler,
		queue.ConsumerWorkers(2),
		queue.ConsumerLease(demoLease),
		queue.ConsumerRecoverInterval(demoRecoverInterval),
		queue.ConsumerLogger(logger))
	if err != nil {
		return err
	}
	if err := consumer.Start(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ready", os.Getpid())
	<-ctx.Done()
	return consumer.Stop()
}
