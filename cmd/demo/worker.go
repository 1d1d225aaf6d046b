package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/queue"
)

// A job sleeps for its duration, then counts its run in the demo's done hash (mid → runs), so the tour
// can tell that every job ran and how many ran twice (delivery is at least once).
type job struct {
	N       int `json:"n"`
	SleepMS int `json:"sleepMs"`
}

// The demo's lease is short so that a killed worker's jobs come back within seconds: consumers look
// for expired leases every lease/5, so they are back within 2.4 s.
const demoLease = 2 * time.Second

func doneKey(client *hydrakit.Client, service string) string {
	return client.Keyspace().Own(service, "demo", "done")
}

// runWorker is one queue worker process with two workers. It prints "ready <pid>" once consuming.
func runWorker(ctx context.Context, client *hydrakit.Client, name string, stdout io.Writer) error {
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
		return client.Redis().HIncrBy(ctx, doneKey(client, name), d.Message.MID, 1).Err()
	})
	consumer, err := queue.NewConsumer(client, name, handler, queue.ConsumerWorkers(2), queue.ConsumerLease(demoLease))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ready", os.Getpid())
	<-ctx.Done()
	return consumer.Close()
}
