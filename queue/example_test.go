package queue_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/umf"
)

// A tour: enqueue three jobs for the "resize" service, consume them with a pool whose handler
// completes, retries and dead-letters, then look at the result with the Inspector.
func Example() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	client := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer client.Close()
	ctx := context.Background()

	producer := queue.NewProducer(client)
	for _, name := range []string{"a.png", "b.png", "broken.png"} {
		m, _ := umf.New("resize:/", "uploader:/", map[string]string{"file": name})
		if err := producer.Enqueue(ctx, m); err != nil {
			fmt.Println(err)
		}
	}

	done := make(chan string, 3)
	handler := queue.HandlerFunc(func(_ context.Context, d *queue.Delivery) error {
		var job struct{ File string }
		if err := d.Message.DecodeBody(&job); err != nil {
			return queue.Permanent(err)
		}
		if job.File == "broken.png" {
			done <- job.File
			return queue.Permanent(errors.New("not an image"))
		}
		done <- job.File
		return nil
	})
	consumer, _ := queue.NewConsumer(client, "resize", handler, queue.ConsumerWorkers(1))
	_ = consumer.Start()
	for range 3 {
		fmt.Println("handled", <-done)
	}
	_ = consumer.Stop()

	stats, _ := queue.NewInspector(client).Stats(ctx, "resize")
	fmt.Println("received", stats.Received, "in progress", stats.InProgress, "incomplete", stats.Incomplete)
	items, _ := queue.NewInspector(client).Incomplete(ctx, "resize", 0, 10)
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
	client := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
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
	subscriber := queue.NewSubscriber(send, queue.DecodeJSONBody[sendEmail])

	m, _ := umf.New("mailer:/", "shop:/", sendEmail{To: "ada@example.com"})
	_ = queue.NewProducer(client).Enqueue(context.Background(), m)
	consumer, _ := queue.NewConsumer(client, "mailer", subscriber)
	_ = consumer.Start()
	fmt.Println("sent to", <-sent)
	_ = consumer.Stop()
	// Output:
	// sent to ada@example.com
}
