package queue

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

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
	eventually(t, 10*time.Second, "all handled", func() bool { return got.len() == len(msgs) && drained(t, c, svc) })
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
	eventually(t, 5*time.Second, "dead letter", func() bool { return stats(t, c, svc).Incomplete == 1 })
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
	eventually(t, 5*time.Second, "dead letter", func() bool { return stats(t, c, svc).Incomplete == 1 })
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
	eventually(t, 5*time.Second, "dead letters", func() bool { return stats(t, c, svc).Incomplete == 2 })
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
	eventually(t, 5*time.Second, "retry", func() bool { return calls.Load() == 2 && drained(t, c, svc) })
	equal(t, int64(0), stats(t, c, svc).Incomplete)
}

func TestConsumerDelayedEnqueue(t *testing.T) {
	c := realFleet(t)
	svc := service()
	m := newMessage(t, svc, "later")
	start := time.Now()
	must(t, producer(t, c).EnqueueAt(context.Background(), m, start.Add(400*time.Millisecond)))
	equal(t, int64(1), stats(t, c, svc).Delayed)
	handled := make(chan time.Time, 1)
	startConsumer(t, c, svc, HandlerFunc(func(context.Context, *Delivery) error {
		handled <- time.Now()
		return nil
	}), fast()...)
	select {
	case at := <-handled:
		if at.Sub(start) < 400*time.Millisecond {
			t.Fatalf("delivered after %v, before it was due", at.Sub(start))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("delayed message never delivered")
	}
}

func TestConsumerIdleLoad(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	c := redistest.Fleet(t, rdb)
	startConsumer(t, c, service(), HandlerFunc(func(context.Context, *Delivery) error { return nil }))
	time.Sleep(200 * time.Millisecond) // let start-up commands pass
	before := totalCommands(t, rdb)
	time.Sleep(3 * time.Second)
	perSecond := float64(totalCommands(t, rdb)-before-1) / 3 // -1: the INFO call itself
	t.Logf("idle consumer with default options: %.2f commands/s", perSecond)
	if perSecond > 3 {
		t.Fatalf("idle consumer sends %.2f commands/s, want at most 3", perSecond)
	}
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

func totalCommands(t testing.TB, c goredis.UniversalClient) int64 {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	must(t, err)
	var total int64
	for _, line := range strings.Split(info, "\n") {
		if !strings.HasPrefix(line, "cmdstat_") {
			continue
		}
		i := strings.Index(line, "calls=")
		var n int64
		for _, ch := range line[i+len("calls="):] {
			if ch < '0' || ch > '9' {
				break
			}
			n = n*10 + int64(ch-'0')
		}
		total += n
	}
	return total
}
