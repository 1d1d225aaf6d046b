package integration

import (
	"context"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/queue"
)

// A message a Node consumer holds in mqinprogress (getQueuedMessage, no lease) is left alone by a Go
// Consumer's recovery, while the same recovery takes back the message of a Go consumer process that
// was SIGKILLed holding its lease. Node then completes its message with markQueueMessage, whose LREM
// finds it byte for byte as Node took it.
func TestCompatNodeConsumerKeepsItsMessage(t *testing.T) {
	bin := buildWorker(t)
	srv := redistest.Start(t)
	c := srv.Client(t)
	hc := redistest.Fleet(t, c)
	ctx := t.Context()
	const svc = "qkeep"
	inProgress := "hydra:service:" + svc + ":mqinprogress"
	node := startNodePeer(t, srv.URL()+"/0", svc)
	prod, err := queue.NewProducer(hc)
	if err != nil {
		t.Fatal(err)
	}
	inspector, err := queue.NewInspector(hc)
	if err != nil {
		t.Fatal(err)
	}
	stats := func() queue.Stats {
		s, err := inspector.Stats(ctx, svc)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	nodeMsg := queueMessage(t, svc, `{"for":"node"}`)
	if err := prod.Enqueue(ctx, nodeMsg); err != nil {
		t.Fatal(err)
	}
	held := node.MustCall("getQueuedMessage", svc)
	nodeRaw := c.LIndex(ctx, inProgress, 0).Val()
	if s := stats(); s.InProgress != 1 || s.Leased != 0 || s.Received != 0 {
		t.Fatalf("after Node's getQueuedMessage: %+v", s)
	}

	// A Go consumer in another process takes the next message under a 1 s lease, and crashes.
	goMsg := queueMessage(t, svc, `{"for":"go"}`)
	if err := prod.Enqueue(ctx, goMsg); err != nil {
		t.Fatal(err)
	}
	worker := exec.Command(bin, "-redis", srv.URL()+"/0", "-name", svc, "-workers", "1", "-lease", "1s", "-work", "1h")
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			killed = true
			_ = worker.Process.Kill()
			_ = worker.Wait()
		}
	}
	t.Cleanup(kill)
	compatWait(t, 20*time.Second, "the worker leased the Go message", func() bool {
		s := stats()
		return s.Leased == 1 && s.Received == 0
	})
	kill()

	got := make(chan *queue.Delivery, 4)
	con, err := queue.NewConsumer(hc, svc, queue.HandlerFunc(func(_ context.Context, d *queue.Delivery) error {
		got <- d
		return nil
	}), queue.ConsumerLease(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := con.Close(); err != nil {
			t.Error(err)
		}
	}()
	select {
	case d := <-got:
		if d.Message.MID != goMsg.MID || d.Recoveries != 1 {
			t.Fatalf("delivered %s with %d recoveries, want the crashed worker's %s, recovered once", d.Message.MID, d.Recoveries, goMsg.MID)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the crashed worker's message was not recovered: %+v", stats())
	}
	compatWait(t, 5*time.Second, "the recovered message completed", func() bool {
		s := stats()
		return s.InProgress == 1 && s.Leased == 0
	})
	if have := c.LRange(ctx, inProgress, 0, -1).Val(); !slices.Equal(have, []string{nodeRaw}) {
		t.Fatalf("in progress after recovery: %q, want Node's %q untouched", have, nodeRaw)
	}
	select {
	case d := <-got:
		t.Fatalf("Node's message was delivered to Go: %s", d.Raw)
	default:
	}

	node.MustCall("markQueueMessage", held, true)
	if n := c.LLen(ctx, inProgress).Val(); n != 0 {
		t.Errorf("Node's markQueueMessage did not find its message: %d left in progress", n)
	}
}

// With adoption switched on, the message of a Node consumer that died holding it (SIGKILL after
// getQueuedMessage) is returned to the queue and handled by a Go Consumer, and the queue ends empty.
func TestCompatAdoptsDeadNodeConsumersMessage(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	hc := redistest.Fleet(t, c)
	ctx := t.Context()
	const svc = "qadopt"
	node := startNodePeer(t, srv.URL()+"/0", svc)
	prod, err := queue.NewProducer(hc)
	if err != nil {
		t.Fatal(err)
	}
	m := queueMessage(t, svc, `{"n":1}`)
	if err := prod.Enqueue(ctx, m); err != nil {
		t.Fatal(err)
	}
	node.MustCall("getQueuedMessage", svc)
	node.Kill()

	got := make(chan *queue.Delivery, 1)
	con, err := queue.NewConsumer(hc, svc, queue.HandlerFunc(func(_ context.Context, d *queue.Delivery) error {
		got <- d
		return nil
	}), queue.ConsumerLease(time.Second), queue.ConsumerAdoptOrphans(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := con.Close(); err != nil {
			t.Error(err)
		}
	}()
	select {
	case d := <-got:
		if d.Message.MID != m.MID {
			t.Fatalf("delivered %s, want %s", d.Message.MID, m.MID)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the dead Node consumer's message was not adopted")
	}
	inspector, err := queue.NewInspector(hc)
	if err != nil {
		t.Fatal(err)
	}
	compatWait(t, 5*time.Second, "queue empty", func() bool {
		s, err := inspector.Stats(ctx, svc)
		return err == nil && s.Received+s.InProgress+s.Leased+s.Incomplete+s.Delayed == 0
	})
}
