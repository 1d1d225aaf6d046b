package queue

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

func TestConsumerCompletesEveryMessage(t *testing.T) {
	c := realFleet(t)
	svc := service()
	msgs := enqueueN(t, c, svc, 300)
	got := newSeen()
	startConsumer(t, c, svc, HandlerFunc(func(_ context.Context, d *Delivery) error {
		if d.Attempt != 1 {
			t.Errorf("attempt %d, want 1", d.Attempt)
		}
		got.add(d.Message.MID)
		return nil
	}), fast()...)
	eventually(t, "all handled", func() bool { return got.len() == len(msgs) && drained(t, c, svc) })
	for _, m := range msgs {
		if want, have := 1, got.get(m.MID); want != have {
			t.Fatalf("mid %s handled %d times, want %d", m.MID, have, want)
		}
	}
}

// Retries keep the message's bytes as they were enqueued (the attempt count lives in hydrakit's
// keys), so a signature stays valid and the dead letter is exactly what Node's markQueueMessage
// writes for the message.
func TestConsumerRetriesWithBackoffThenDeadLetters(t *testing.T) {
	c := realFleet(t)
	svc := service()
	m := newMessage(t, svc, map[string]any{"job": "x", "2": true})
	must(t, producer(t, c).Enqueue(context.Background(), m))
	var mu sync.Mutex // handler and backoff run on worker goroutines
	var attempts []int
	var raws []string
	var delays []time.Duration
	startConsumer(t, c, svc, HandlerFunc(func(_ context.Context, d *Delivery) error {
		mu.Lock()
		attempts = append(attempts, d.Attempt)
		raws = append(raws, string(d.Raw))
		mu.Unlock()
		return errors.New("boom <&>")
	}), fast(ConsumerWorkers(1), ConsumerMaxAttempts(3), ConsumerBackoff(func(a int) time.Duration {
		mu.Lock()
		delays = append(delays, time.Duration(a)*30*time.Millisecond)
		mu.Unlock()
		return time.Duration(a) * 30 * time.Millisecond
	}))...)
	eventually(t, "dead letter", func() bool { return stats(t, c, svc).Incomplete == 1 })
	equal(t, true, drained(t, c, svc))
	enqueued := string(marshalled(t, m))
	mu.Lock()
	equal(t, []int{1, 2, 3}, attempts)
	equal(t, []string{enqueued, enqueued, enqueued}, raws)
	equal(t, 2, len(delays))
	mu.Unlock()
	items, err := inspector(t, c).Incomplete(context.Background(), svc, 0, 10)
	must(t, err)
	equal(t, 1, len(items))
	equal(t, "boom <&>", items[0].Reason)
	want := *m
	want.Body = json.RawMessage(`{"2":true,"job":"x","reason":"boom <&>"}`)
	equal(t, string(marshalled(t, &want)), string(items[0].Raw))
	equal(t, int64(0), counted(t, c, svc)) // the attempt count ended with the message
}

func TestConsumerPermanentErrorSkipsRetries(t *testing.T) {
	c := realFleet(t)
	svc := service()
	enqueueN(t, c, svc, 1)
	var calls atomic.Int32
	startConsumer(t, c, svc, HandlerFunc(func(context.Context, *Delivery) error {
		calls.Add(1)
		return Permanent(errors.New("bad input"))
	}), fast()...)
	eventually(t, "dead letter", func() bool { return stats(t, c, svc).Incomplete == 1 })
	equal(t, int32(1), calls.Load())
	equal(t, true, drained(t, c, svc))
}

func TestConsumerDeadLettersMalformedMessagesUnchanged(t *testing.T) {
	c := realFleet(t)
	svc := service()
	k := newKeys(c.Keyspace(), svc)
	must(t, c.Redis().LPush(context.Background(), k.received, "not json", `{"to":"x"`).Err())
	startConsumer(t, c, svc, HandlerFunc(func(context.Context, *Delivery) error {
		t.Error("handler must not see malformed messages")
		return nil
	}), fast()...)
	eventually(t, "dead letters", func() bool { return stats(t, c, svc).Incomplete == 2 })
	have, err := c.Redis().LRange(context.Background(), k.incomplete, 0, -1).Result()
	must(t, err)
	sort.Strings(have)
	equal(t, []string{"not json", `{"to":"x"`}, have)
}

func TestConsumerPanicIsRetried(t *testing.T) {
	c := realFleet(t)
	svc := service()
	enqueueN(t, c, svc, 1)
	var calls atomic.Int32
	startConsumer(t, c, svc, HandlerFunc(func(context.Context, *Delivery) error {
		if calls.Add(1) == 1 {
			panic("first time")
		}
		return nil
	}), fast()...)
	eventually(t, "retry", func() bool { return calls.Load() == 2 && drained(t, c, svc) })
	equal(t, int64(0), stats(t, c, svc).Incomplete)
}

// A delayed message stays delayed until it is due on the client's clock, and is delivered by the
// scheduler's first pass after that.
func TestConsumerDelayedEnqueue(t *testing.T) {
	clk := newClock()
	c := realFleet(t, hydrakit.WithClock(clk.now))
	svc := service()
	m := newMessage(t, svc, "later")
	must(t, producer(t, c).EnqueueAt(context.Background(), m, clk.now().Add(400*time.Millisecond)))
	equal(t, int64(1), stats(t, c, svc).Delayed)
	handled := make(chan string, 1)
	d, driven := drive(t, waitSchedule)
	startConsumer(t, c, svc, HandlerFunc(func(_ context.Context, d *Delivery) error {
		handled <- d.Message.MID
		return nil
	}), fast(driven)...)
	d.pass(waitSchedule) // the pass at start and one more
	clk.add(399 * time.Millisecond)
	d.pass(waitSchedule)
	s := stats(t, c, svc)
	equal(t, [2]int64{1, 0}, [2]int64{s.Delayed, s.Received})
	equal(t, 0, len(handled))
	clk.add(time.Millisecond)
	d.pass(waitSchedule)
	equal(t, m.MID, receive(t, handled, "the delayed message, once due"))
}

// An idle pool costs one cheap command per recoverer pass and per scheduler pass and none per
// heartbeat; the fetcher's one BLMOVE per block timeout is all else it sends. What that comes to in
// commands per second is measured by BenchmarkIdle (bench/queue), not asserted here.
func TestIdlePoolCost(t *testing.T) {
	rdb := redistest.Client(t)
	sent := &commandLog{blocked: make(chan struct{})}
	rdb.AddHook(sent)
	c := redistest.Fleet(t, rdb)
	d, driven := drive(t, waitRecover, waitHeartbeat, waitSchedule)
	startConsumer(t, c, service(), HandlerFunc(func(context.Context, *Delivery) error { return nil }), driven)
	receive(t, sent.blocked, "the fetcher to wait for work")
	for _, w := range []wait{waitSchedule, waitRecover, waitHeartbeat} {
		d.pass(w) // start-up is over: each loop has had its first pass
	}
	for _, tc := range []struct {
		w    wait
		want []string
	}{
		{waitHeartbeat, nil},
		{waitRecover, []string{"zrangebyscore", "zrangebyscore", "zrangebyscore"}},
		{waitSchedule, []string{"zrange", "zrange", "zrange"}},
	} {
		sent.take()
		for range 3 {
			d.pass(tc.w)
		}
		equal(t, tc.want, sent.take())
	}
}

// commandLog is a go-redis hook that records the commands sent, but for BLMOVE: blocked is closed at
// the first.
type commandLog struct {
	mu      sync.Mutex
	names   []string
	blocked chan struct{}
	once    sync.Once
}

func (l *commandLog) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (l *commandLog) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		for _, cmd := range cmds {
			l.add(cmd.Name())
		}
		return next(ctx, cmds)
	}
}

func (l *commandLog) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		l.add(cmd.Name())
		return next(ctx, cmd)
	}
}

func (l *commandLog) add(name string) {
	if name == "blmove" {
		l.once.Do(func() { close(l.blocked) })
		return
	}
	l.mu.Lock()
	l.names = append(l.names, name)
	l.mu.Unlock()
}

// take returns the commands recorded since the last call.
func (l *commandLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := l.names
	l.names = nil
	return names
}

func TestNewConsumerRejectsBadArguments(t *testing.T) {
	c := miniFleet(t)
	h := HandlerFunc(func(context.Context, *Delivery) error { return nil })
	_, err := NewConsumer(c, "bad:name", h)
	isErr(t, err, ErrConfig)
	isErr(t, err, keyspace.ErrInvalidName)
	_, err = NewConsumer(nil, "ok", h)
	isErr(t, err, ErrConfig)
	_, err = NewConsumer(c, "ok", nil)
	isErr(t, err, ErrConfig)
	for name, o := range map[string]ConsumerOption{
		"nil option":            nil,
		"zero workers":          ConsumerWorkers(0),
		"negative workers":      ConsumerWorkers(-1),
		"too many workers":      ConsumerWorkers(1<<16 + 1),
		"negative prefetch":     ConsumerPrefetch(-1),
		"too much prefetch":     ConsumerPrefetch(1<<16 + 1),
		"zero lease":            ConsumerLease(0),
		"sub-ms lease":          ConsumerLease(time.Microsecond),
		"zero max attempts":     ConsumerMaxAttempts(0),
		"nil backoff":           ConsumerBackoff(nil),
		"negative recoveries":   ConsumerMaxRecoveries(-1),
		"zero shutdown timeout": ConsumerShutdownTimeout(0),
		"negative orphan age":   ConsumerAdoptOrphans(-time.Second),
	} {
		_, err := NewConsumer(c, "ok", h, o)
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s: want ErrConfig, have %v", name, err)
		}
	}
	// Zero has a meaning of its own for these; none of the consumers starts anything.
	for _, o := range []ConsumerOption{ConsumerPrefetch(0), ConsumerMaxRecoveries(0), ConsumerAdoptOrphans(0)} {
		con, err := newConsumer(c, "ok", h, o)
		must(t, err)
		equal(t, true, con != nil)
	}
}

// Close drains the pool, waits for every goroutine (goleak checks at the end) and returns the first
// call's result to every later call, also concurrent ones.
func TestConsumerCloseIsIdempotent(t *testing.T) {
	c := miniFleet(t)
	con, err := NewConsumer(c, service(), HandlerFunc(func(context.Context, *Delivery) error { return nil }),
		timing(time.Second, 10*time.Millisecond, 10*time.Millisecond))
	must(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = con.Close() }()
	}
	wg.Wait()
	equal(t, []error{nil, nil, nil, nil}, errs)
	must(t, con.Close())
}
