package redispubsub

import (
	"context"
	"errors"
	"fmt"
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
				counts[i], _, errs[i] = b.publish(context.Background(), channel, []byte("x"))
			}()
		}
		waitGroup(t, &wg, "every publish to return")
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
	for i, err := range publishAll(50) {
		if err == nil {
			t.Errorf("publish %d succeeded with Redis down", i)
		}
	}
	b.flusher.Wait() // the flusher may still be ending its loop after the last result went out
	idle(t, b)
}

// gate holds every PUBLISH and pipeline at the door until the test lets it through (nil) or fails it
// (an error), telling the test what arrived.
type gate struct {
	arrived chan string
	open    chan error
}

func newGate() *gate { return &gate{arrived: make(chan string, 4), open: make(chan error)} }

func (g *gate) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (g *gate) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if cmd.Name() == "publish" {
			g.arrived <- "publish"
			if err := <-g.open; err != nil {
				return err
			}
		}
		return next(ctx, cmd)
	}
}
func (g *gate) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if cmds[0].Name() == "publish" { // not the connection's set-up
			g.arrived <- fmt.Sprintf("pipeline of %d", len(cmds))
			if err := <-g.open; err != nil {
				for _, cmd := range cmds { // as go-redis does when a pipeline fails
					cmd.SetErr(err)
				}
				return err
			}
		}
		return next(ctx, cmds)
	}
}

// arrive waits for what the gate holds next and fails the test unless it is want.
func (g *gate) arrive(t *testing.T, want string) {
	t.Helper()
	select {
	case have := <-g.arrived:
		if want != have {
			t.Fatalf("want %s at the gate, have %s", want, have)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s at the gate", want)
	}
}

// queued waits until n PUBLISHes wait in b's queue (a state nothing announces).
func queued(t *testing.T, b *batcher, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d queued", n), func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.queue) == n
	})
}

// idle fails the test unless b has nothing queued and nothing in flight.
func idle(t *testing.T, b *batcher) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.flushing || len(b.queue) != 0 {
		t.Errorf("batcher left flushing=%v with %d queued", b.flushing, len(b.queue))
	}
}

// PUBLISHes that arrive while one is in flight go together in one pipeline when it is done, each
// with its own receiver count; when that pipeline fails, each of them gets the error.
func TestBatcherCoalesces(t *testing.T) {
	_, client := redistest.Mini(t)
	ps := client.Subscribe(context.Background(), "listened")
	defer ps.Close()
	if _, err := ps.Receive(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	go func() { // drain, so nothing backs up behind our subscriber
		for range ps.Channel() {
		}
	}()
	g := newGate()
	client.AddHook(g)
	type res struct {
		i   int
		n   int64
		err error
	}
	for _, fail := range []error{nil, errors.New("boom")} {
		b := newBatcher(client, false, time.Minute, 16)
		publish := func(i int, out chan<- res) {
			channel := "listened"
			if i%2 == 1 {
				channel = "nobody"
			}
			n, _, err := b.publish(context.Background(), channel, []byte("x"))
			out <- res{i, n, err}
		}
		lone, rest := make(chan res, 1), make(chan res, 10)
		go publish(0, lone)
		g.arrive(t, "publish")
		for i := range 10 {
			go publish(i, rest)
		}
		queued(t, b, 10)
		g.open <- nil
		if r := <-lone; r.err != nil || r.n != 1 {
			t.Fatalf("the lone PUBLISH: want 1 receiver, have %d %v", r.n, r.err)
		}
		g.arrive(t, "pipeline of 10")
		g.open <- fail
		for range 10 {
			r := <-rest
			switch {
			case fail != nil && !errors.Is(r.err, fail):
				t.Errorf("publish %d in a failed pipeline: want %v, have %v", r.i, fail, r.err)
			case fail == nil && (r.err != nil || r.n != int64(1-r.i%2)):
				t.Errorf("publish %d: want %d receivers, have %d %v", r.i, 1-r.i%2, r.n, r.err)
			}
		}
		if !b.close(10 * time.Second) {
			t.Fatal("the flusher did not end")
		}
		idle(t, b)
		if p, r := b.published.Load(), b.roundTrips.Load(); p != 11 || r != 2 {
			t.Errorf("want 11 published in 2 round trips, have %d in %d", p, r)
		}
	}
}

type published struct {
	released bool
	err      error
}

// A caller waiting for the batcher gives up when its context ends, whether its PUBLISH is still
// queued or already in a pipeline that is stuck: no caller waits for another's round trip past its
// own deadline. The others' PUBLISHes go on.
func TestBatcherWaitersHonourTheirContext(t *testing.T) {
	_, client := redistest.Mini(t)
	g := newGate()
	client.AddHook(g)
	b := newBatcher(client, false, time.Minute, 16)
	start := func(ctx context.Context, payload string) chan published {
		res := make(chan published, 1)
		go func() {
			_, released, err := b.publish(ctx, "ch", []byte(payload))
			res <- published{released, err}
		}()
		return res
	}
	result := func(name string, res chan published) published {
		t.Helper()
		select {
		case p := <-res:
			return p
		case <-time.After(10 * time.Second):
			t.Fatalf("publish %s did not return", name)
			return published{}
		}
	}

	lone := start(context.Background(), "lone")
	g.arrive(t, "publish")
	ctxA, cancelA := context.WithCancel(context.Background())
	a := start(ctxA, "a")
	queued(t, b, 1)
	cancelA()
	if p := result("a", a); !errors.Is(p.err, context.Canceled) || !p.released {
		t.Errorf("queued: want context.Canceled with the payload released, have %+v", p)
	}
	ctxC, cancelC := context.WithCancel(context.Background())
	bb, c := start(context.Background(), "b"), start(ctxC, "c")
	queued(t, b, 2)
	select {
	case p := <-lone:
		t.Fatalf("the lone PUBLISH returned while held: %+v", p)
	default:
	}
	g.open <- nil // the lone PUBLISH goes; the flusher sends b and c in one pipeline
	if p := result("lone", lone); p.err != nil {
		t.Fatal(p.err)
	}
	g.arrive(t, "pipeline of 2")
	cancelC()
	if p := result("c", c); !errors.Is(p.err, context.Canceled) || p.released {
		t.Errorf("in a stuck pipeline: want context.Canceled with the payload still held, have %+v", p)
	}
	g.open <- nil
	if p := result("bb", bb); p.err != nil || !p.released {
		t.Errorf("want b published, have %+v", p)
	}
	if !b.close(10 * time.Second) {
		t.Fatal("the flusher did not end")
	}
	idle(t, b)
}
