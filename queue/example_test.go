package queue_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/umf"
)

// A tour: enqueue three jobs for the "resize" service, consume them with a pool whose handler
// completes, retries and dead-letters, then look at the result with the Inspector.
func Example() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	client, _ := hydrakit.NewClient(rdb)
	defer client.Close()
	ctx := context.Background()

	producer, _ := queue.NewProducer(client)
	var jobs []*umf.Message
	for _, name := range []string{"a.png", "b.png", "broken.png"} {
		m, _ := umf.New("resize:/", "uploader:/", map[string]string{"file": name})
		jobs = append(jobs, m)
	}
	if err := producer.Enqueue(ctx, jobs...); err != nil {
		fmt.Println(err)
	}

	done := make(chan string, 3)
	handler := queue.HandlerFunc(func(_ context.Context, d *queue.Delivery) error {
		var job struct{ File string }
		if err := d.Message.DecodeBody(&job); err != nil {
			return queue.Permanent(err)
		}
		done <- job.File
		if job.File == "broken.png" {
			return queue.Permanent(errors.New("not an image"))
		}
		return nil
	})
	consumer, err := queue.NewConsumer(client, "resize", handler, queue.ConsumerWorkers(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 3 {
		fmt.Println("handled", <-done)
	}
	if err := consumer.Close(); err != nil {
		fmt.Println(err)
	}

	inspector, _ := queue.NewInspector(client)
	stats, _ := inspector.Stats(ctx, "resize")
	fmt.Println("received", stats.Received, "in progress", stats.InProgress, "incomplete", stats.Incomplete)
	items, _ := inspector.Incomplete(ctx, "resize", 0, 10)
	fmt.Println("dead letter:", items[0].Reason)
	// Output:
	// handled a.png
	// handled b.png
	// handled broken.png
	// received 0 in progress 0 incomplete 1
	// dead letter: not an image
}

// A go-kit endpoint consuming a queue: the endpoint's error decides between retry and dead letter.
func ExampleNewSubscriber() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	client, _ := hydrakit.NewClient(rdb)
	defer client.Close()

	type sendEmail struct {
		To string `json:"to"`
	}
	sent := make(chan string, 1)
	send := func(_ context.Context, request any) (any, error) {
		req := request.(sendEmail)
		if req.To == "" {
			return nil, queue.Permanent(errors.New("no recipient"))
		}
		sent <- req.To
		return nil, nil
	}

	m, _ := umf.New("mailer:/", "shop:/", sendEmail{To: "ada@example.com"})
	producer, _ := queue.NewProducer(client)
	_ = producer.Enqueue(context.Background(), m)
	sub, err := queue.NewSubscriber(send, queue.DecodeJSONBody[sendEmail])
	if err != nil {
		fmt.Println(err)
		return
	}
	consumer, err := queue.NewConsumer(client, "mailer", sub)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer consumer.Close()
	fmt.Println("sent to", <-sent)
	// Output:
	// sent to ada@example.com
}

// Every invalid argument or option is refused up front, wrapping ErrConfig.
func ExampleConsumerWorkers() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	client, _ := hydrakit.NewClient(rdb)
	defer client.Close()

	handler := queue.HandlerFunc(func(context.Context, *queue.Delivery) error { return nil })
	_, err := queue.NewConsumer(client, "resize", handler, queue.ConsumerWorkers(0))
	fmt.Println(errors.Is(err, queue.ErrConfig))
	fmt.Println(err)
	// Output:
	// true
	// queue: invalid configuration: workers 0: want 1 to 65536
}

// Signed queues: with the fleet's secret (hydrakit.WithSigning) a Producer signs every message, and
// with hydrakit.WithRequiredSignatures a Consumer moves messages without a valid signature to the
// incomplete list unhandled, counting them.
func ExampleConsumer_Stats() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	client, _ := hydrakit.NewClient(rdb, hydrakit.WithSigning("s3cret"), hydrakit.WithRequiredSignatures())
	defer client.Close()
	unsigning, _ := hydrakit.NewClient(rdb) // a producer that does not have the secret
	defer unsigning.Close()
	ctx := context.Background()

	signed, _ := umf.New("resize:/", "uploader:/", map[string]string{"file": "a.png"})
	forged, _ := umf.New("resize:/", "intruder:/", map[string]string{"file": "evil.png"})
	intruder, _ := queue.NewProducer(unsigning)
	_ = intruder.Enqueue(ctx, forged)
	producer, _ := queue.NewProducer(client)
	_ = producer.Enqueue(ctx, signed)

	done := make(chan string, 2)
	// One worker takes the messages in order: once the signed one is handled, the forged one is refused.
	consumer, _ := queue.NewConsumer(client, "resize", queue.HandlerFunc(func(_ context.Context, d *queue.Delivery) error {
		done <- d.Message.From
		return nil
	}), queue.ConsumerWorkers(1))
	fmt.Println("handled a message from", <-done)
	_ = consumer.Close() // settles what the worker did
	fmt.Println("rejected:", consumer.Stats().Rejected)
	inspector, _ := queue.NewInspector(client)
	items, _ := inspector.Incomplete(ctx, "resize", 0, 1)
	fmt.Println("dead letter from", items[0].Message.From+":", items[0].Reason)
	// Output:
	// handled a message from uploader:/
	// rejected: 1
	// dead letter from intruder:/: rejected: unsigned
}
