package redispubsub

import (
	"context"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/redistest"
)

// Concurrent PUBLISHes share pipelines, each gets its own receiver count, and a dead Redis fails
// every waiter instead of stranding one.
func TestBatcherCoalescesAndFailsEveryWaiter(t *testing.T) {
	srv := redistest.Start(t)
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer client.Close()
	ps := client.Subscribe(context.Background(), "listened")
	defer ps.Close()
	if _, err := ps.Receive(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	go func() { // drain, so Redis never blocks on our subscriber
		for range ps.Channel() {
		}
	}()
	b := newBatcher(client, false, 2*time.Second, 16)

	publishAll := func(n int) []error {
		errs := make([]error, n)
		counts := make([]int64, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				channel := "listened"
				if i%2 == 1 {
					channel = "nobody"
				}
				counts[i], errs[i] = b.publish(context.Background(), channel, []byte("x"))
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err == nil && counts[i] != int64(1-i%2) {
				t.Errorf("publish %d: want %d receivers, have %d", i, 1-i%2, counts[i])
			}
		}
		return errs
	}
	for i, err := range publishAll(200) {
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if p, r := b.published.Load(), b.roundTrips.Load(); p != 200 || r >= p {
		t.Errorf("200 concurrent publishes: %d published in %d round trips", p, r)
	} else {
		t.Logf("200 concurrent publishes in %d round trips", r)
	}
	srv.Kill(t)
	start := time.Now()
	for i, err := range publishAll(50) {
		if err == nil {
			t.Errorf("publish %d succeeded with Redis down", i)
		}
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("failing took %v", elapsed)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.flushing || len(b.queue) != 0 {
		t.Errorf("batcher left flushing=%v with %d queued", b.flushing, len(b.queue))
	}
}
