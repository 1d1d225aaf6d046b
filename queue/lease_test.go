package queue

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/umf"
)

// A consumer that dies holding leased work (simulated: fetched, never settled, never renewed)
// loses it to the recoverer once the lease expires, and its late result is refused without touching
// the copy another consumer now holds, even when the bytes are identical. The lease expires on the
// test's clock, not on the machine's.
func TestLeaseExpiryRecoversAndRefusesLateResult(t *testing.T) {
	clk := newClock()
	c := realFleet(t, hydrakit.WithClock(clk.now))
	svc := service()
	k := newKeys(c.Keyspace(), svc)
	m := newMessage(t, svc, "same bytes twice")
	must(t, producer(t, c).Enqueue(context.Background(), m, m))

	dead, err := newConsumer(c, svc, HandlerFunc(func(context.Context, *Delivery) error { return nil }),
		ConsumerLease(100*time.Millisecond))
	must(t, err)
	ds, err := dead.fetch(context.Background(), 1, dead.newFetchPrefix(), false)
	must(t, err)
	equal(t, 1, len(ds))

	handled := make(chan *Delivery, 2)
	d, driven := drive(t, waitRecover)
	startConsumer(t, c, svc, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		handled <- d
		<-ctx.Done() // hold the message until Close, so the late completion races a live lease
		return ctx.Err()
	}), fast(ConsumerWorkers(2), ConsumerShutdownTimeout(50*time.Millisecond), driven)...)

	receive(t, handled, "the untouched copy")
	d.pass(waitRecover)
	equal(t, int64(0), c.Redis().LLen(context.Background(), k.received).Val()) // the dead consumer's lease holds
	clk.add(100 * time.Millisecond)
	d.pass(waitRecover)
	receive(t, handled, "the dead consumer's copy, after its lease expired")
	equal(t, int64(2), c.Redis().LLen(context.Background(), k.inProgress).Val())

	must(t, dead.settle(context.Background(), []outcome{{op: opComplete, d: ds[0]}}))
	equal(t, int64(2), c.Redis().LLen(context.Background(), k.inProgress).Val()) // the late completion removed nothing
	equal(t, int64(2), c.Redis().ZCard(context.Background(), k.leases).Val())
}

// A handler that runs for many lease periods keeps its message: the heartbeat renews the lease
// while the recoverer is running all along. The test moves the clock half a lease at a time and runs
// a heartbeat and a recoverer pass after each step; no scheduler stall can make a lease expire.
func TestHeartbeatKeepsLongRunningWork(t *testing.T) {
	clk := newClock()
	c := realFleet(t, hydrakit.WithClock(clk.now))
	svc := service()
	k := newKeys(c.Keyspace(), svc)
	ctx := context.Background()
	enqueueN(t, c, svc, 1)
	const lease = 200 * time.Millisecond
	var calls atomic.Int32
	running, release := make(chan *Delivery, 2), make(chan struct{})
	d, driven := drive(t, waitRecover, waitHeartbeat)
	startConsumer(t, c, svc, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		calls.Add(1)
		running <- d
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}), fast(ConsumerLease(lease), driven)...)
	token := receive(t, running, "the handler").token
	for range 15 { // 7.5 leases
		clk.add(lease / 2)
		d.pass(waitHeartbeat)
		equal(t, float64(clk.now().Add(lease).UnixMilli()), c.Redis().ZScore(ctx, k.leases, token).Val())
		d.pass(waitRecover)
		equal(t, []string{token}, c.Redis().ZRange(ctx, k.leases, 0, -1).Val())
		equal(t, int64(0), c.Redis().LLen(ctx, k.received).Val())
	}
	close(release)
	eventually(t, "completion", func() bool { return drained(t, c, svc) })
	equal(t, int32(1), calls.Load())
}

// Close lets running handlers finish within the shutdown timeout.
func TestCloseFinishesRunningWork(t *testing.T) {
	c := realFleet(t)
	svc := service()
	enqueueN(t, c, svc, 4)
	started, release := make(chan struct{}, 4), make(chan struct{})
	var done atomic.Int32
	_, driven := drive(t, waitShutdown, waitSettle) // neither runs out
	con := startConsumer(t, c, svc, HandlerFunc(func(context.Context, *Delivery) error {
		started <- struct{}{}
		<-release
		done.Add(1)
		return nil
	}), fast(driven)...)
	for range 4 {
		receive(t, started, "four handlers running")
	}
	go func() { <-con.draining; close(release) }() // the handlers finish once Close has begun
	must(t, con.Close())
	equal(t, int32(4), done.Load())
	equal(t, true, drained(t, c, svc))
}

// Close returns to the received list both messages no worker started (prefetched) and messages
// whose handlers outlived the shutdown timeout; none is counted as a failed attempt.
func TestCloseReturnsUnfinishedWork(t *testing.T) {
	c := realFleet(t)
	svc := service()
	enqueueN(t, c, svc, 10)
	started := make(chan struct{}, 10)
	d, driven := drive(t, waitShutdown, waitGiveUp, waitSettle)
	con := startConsumer(t, c, svc, HandlerFunc(func(ctx context.Context, _ *Delivery) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}), fast(ConsumerWorkers(2), ConsumerPrefetch(4), driven)...)
	receive(t, started, "a handler running")
	receive(t, started, "two handlers running")
	closed := closing(con)
	d.fire(waitShutdown) // the handlers' time is up; they return once cancelled, and Close waits for them
	must(t, receive(t, closed, "Close"))
	s := stats(t, c, svc)
	equal(t, Stats{Received: 10}, Stats{Received: s.Received, InProgress: s.InProgress, Leased: s.Leased,
		Delayed: s.Delayed, Incomplete: s.Incomplete})
	// Released messages carry no attempt count: the next consumer sees attempt 1.
	attempts := make(chan int, 10)
	startConsumer(t, c, svc, HandlerFunc(func(_ context.Context, d *Delivery) error {
		attempts <- d.Attempt
		return nil
	}), fast()...)
	for range 10 {
		equal(t, 1, receive(t, attempts, "the released messages"))
	}
}

// A handler that ignores its context makes Close give up after the timeout and hand the message back.
func TestCloseGivesUpOnStuckHandler(t *testing.T) {
	c := realFleet(t)
	svc := service()
	enqueueN(t, c, svc, 1)
	started, release := make(chan struct{}), make(chan struct{})
	d, driven := drive(t, waitShutdown, waitGiveUp)
	con := startConsumer(t, c, svc, HandlerFunc(func(context.Context, *Delivery) error {
		close(started)
		<-release
		return nil
	}), fast(driven)...)
	receive(t, started, "the handler")
	closed := closing(con)
	d.fire(waitShutdown)
	d.fire(waitGiveUp)
	isErr(t, receive(t, closed, "Close"), ErrShutdownTimeout)
	isErr(t, con.Close(), ErrShutdownTimeout) // later calls return the first call's result
	s := stats(t, c, svc)
	equal(t, [3]int64{1, 0, 0}, [3]int64{s.Received, s.InProgress, s.Leased})
	close(release)
	receive(t, con.workersDone, "the stuck worker to exit") // its late result goes nowhere
}

// go-redis resends a script whose reply was lost; a resent fetch must answer the same messages
// under the same tokens, not lease more messages under tokens already in use.
func TestFetchIsIdempotent(t *testing.T) {
	c := realFleet(t)
	svc := service()
	enqueueN(t, c, svc, 5)
	k := newKeys(c.Keyspace(), svc)
	args := []any{ms(time.Now().Add(time.Minute)), 2, "tok.1.", 0, 0}
	keys := k.fetchKeys()
	first, err := fetchScript.Run(context.Background(), c.Redis(), keys, args...).Slice()
	must(t, err)
	again, err := fetchScript.Run(context.Background(), c.Redis(), keys, args...).Slice()
	must(t, err)
	equal(t, first, again)
	equal(t, 8, len(first)) // two messages, each with its token number, attempt and recovery counts
	s := stats(t, c, svc)
	equal(t, [3]int64{3, 2, 2}, [3]int64{s.Received, s.InProgress, s.Leased})
}

// The fetch loop repeats a failed fetch under its tokens: it gets the messages still leased under
// them, with their leases renewed, even when the recoverer took the first one back meanwhile, and
// leases nothing new under a prefix that still holds leases.
func TestRepeatedFetchAnswersWhatIsLeftOfItsLeases(t *testing.T) {
	c := realFleet(t)
	svc := service()
	msgs := enqueueN(t, c, svc, 5)
	k := newKeys(c.Keyspace(), svc)
	ctx := context.Background()
	keys := k.fetchKeys()
	_, err := fetchScript.Run(ctx, c.Redis(), keys, ms(time.Now().Add(time.Minute)), 3, "tok.1.", 0, 0).Slice()
	must(t, err)
	// The recoverer takes the first lease back (as if it had expired): the message is received again.
	must(t, c.Redis().ZAdd(ctx, k.leases, goredis.Z{Score: 0, Member: "tok.1.1"}).Err())
	n, err := recoverScript.Run(ctx, c.Redis(), k.recoverKeys(), append([]any{ms(time.Now()), countsKept.Milliseconds(), maxCounted}, 10)...).Int()
	must(t, err)
	equal(t, 1, n)

	later := time.Now().Add(2 * time.Minute)
	again, err := fetchScript.Run(ctx, c.Redis(), keys, ms(later), 4, "tok.1.", 1, 0).Slice()
	must(t, err)
	equal(t, []any{int64(2), string(marshalled(t, msgs[1])), "0", "0", int64(3), string(marshalled(t, msgs[2])), "0", "0"}, again)
	for _, token := range []string{"tok.1.2", "tok.1.3"} {
		equal(t, float64(later.UnixMilli()), c.Redis().ZScore(ctx, k.leases, token).Val())
	}
	s := stats(t, c, svc)
	equal(t, [3]int64{3, 2, 2}, [3]int64{s.Received, s.InProgress, s.Leased})

	// A repeat under a prefix none of whose tokens is leased (the fetch never ran) leases afresh.
	fresh, err := fetchScript.Run(ctx, c.Redis(), keys, ms(later), 1, "tok.2.", 1, 0).Slice()
	must(t, err)
	equal(t, 4, len(fresh))
	equal[any](t, int64(1), fresh[0])
}

func marshalled(t *testing.T, m *umf.Message) []byte {
	t.Helper()
	b, err := m.Marshal()
	must(t, err)
	return b
}
