package queue

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
)

// A message a Node consumer took (RPOPLPUSH, no lease) and never completed is adopted after the
// configured age; a leased message in progress at the same time is left alone. The test drives the
// clock and the recoverer's passes.
func TestOrphanAdoption(t *testing.T) {
	clk := newClock()
	c := realFleet(t, hydrakit.WithClock(clk.now))
	svc := service()
	k := newKeys(c.Keyspace(), svc)
	ctx := context.Background()
	msgs := enqueueN(t, c, svc, 2)
	must(t, c.Redis().LMove(ctx, k.received, k.inProgress, "RIGHT", "LEFT").Err()) // Node's getQueuedMessage (RPOPLPUSH)

	handled := make(chan string, 3)
	d, driven := drive(t, waitRecover)
	startConsumer(t, c, svc, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		handled <- d.Message.MID
		if d.Message.MID == msgs[1].MID {
			<-ctx.Done() // keep a leased message in progress while orphans are scanned
			return ctx.Err()
		}
		return nil
	}), fast(ConsumerAdoptOrphans(300*time.Millisecond), ConsumerShutdownTimeout(50*time.Millisecond), driven)...)
	equal(t, msgs[1].MID, receive(t, handled, "the leased message"))
	d.pass(waitRecover) // the first scan notes the orphan
	clk.add(200 * time.Millisecond)
	d.pass(waitRecover) // scanned again, not of age yet
	equal(t, []string{string(marshalled(t, msgs[0]))}, c.Redis().HKeys(ctx, k.orphans).Val())
	equal(t, int64(0), c.Redis().LLen(ctx, k.received).Val())
	equal(t, 0, len(handled))

	clk.add(200 * time.Millisecond)
	d.pass(waitRecover)
	equal(t, msgs[0].MID, receive(t, handled, "the adopted orphan"))
	eventually(t, "the orphan completed", func() bool { return c.Redis().LLen(ctx, k.inProgress).Val() == 1 })
	for range 3 { // the leased message is never taken for an orphan, however old (its lease is 25 s)
		clk.add(time.Second)
		d.pass(waitRecover)
		equal(t, int64(0), c.Redis().LLen(ctx, k.received).Val())
		equal(t, int64(1), c.Redis().LLen(ctx, k.inProgress).Val())
		equal(t, int64(0), c.Redis().HLen(ctx, k.orphans).Val())
	}
	equal(t, 0, len(handled))
}

// Without adoption (the default) unleased in-progress messages are never touched.
func TestOrphansLeftAloneByDefault(t *testing.T) {
	clk := newClock()
	c := realFleet(t, hydrakit.WithClock(clk.now))
	svc := service()
	k := newKeys(c.Keyspace(), svc)
	ctx := context.Background()
	enqueueN(t, c, svc, 1)
	must(t, c.Redis().LMove(ctx, k.received, k.inProgress, "RIGHT", "LEFT").Err())
	d, driven := drive(t, waitRecover)
	startConsumer(t, c, svc, HandlerFunc(func(context.Context, *Delivery) error {
		t.Error("orphan delivered")
		return nil
	}), fast(driven)...)
	for range 2 {
		d.pass(waitRecover)
		clk.add(24 * time.Hour)
	}
	d.pass(waitRecover)
	equal(t, int64(1), c.Redis().LLen(ctx, k.inProgress).Val())
	equal(t, int64(0), c.Redis().LLen(ctx, k.received).Val())
	equal(t, int64(0), c.Redis().Exists(ctx, k.orphans).Val())
}

// Redis restarting (append-only) under a running pool, with messages held by workers and
// prefetched: fetch, settle and the scheduler fail while it is gone and heal by themselves; every
// message is handled, nothing is left behind.
func TestConsumerSurvivesRedisRestart(t *testing.T) {
	srv := redistest.Start(t, redistest.AppendOnly())
	c := redistest.Fleet(t, srv.Client(t), hydrakit.WithLogger(testLogger(t)))
	svc := service()
	first := enqueueN(t, c, svc, 50)
	got := newSeen()
	var n atomic.Int32
	tenth, restarted := make(chan struct{}), make(chan struct{})
	startConsumer(t, c, svc, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		got.add(d.Message.MID)
		switch i := n.Add(1); {
		case i == 10:
			close(tenth)
			fallthrough
		case i > 10: // hold the workers' messages until Redis is back
			select {
			case <-restarted:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}), fast(ConsumerLease(time.Second))...)
	receive(t, tenth, "the first ten messages")
	srv.Restart(t)
	close(restarted)
	second := enqueueN(t, c, svc, 50)
	if !poll(func() bool { return got.len() == len(first)+len(second) && drained(t, c, svc) }) {
		k := newKeys(c.Keyspace(), svc)
		ctx := context.Background()
		t.Log("in progress:", c.Redis().LRange(ctx, k.inProgress, 0, -1).Val())
		t.Log("leases:", c.Redis().ZRangeWithScores(ctx, k.leases, 0, -1).Val(), "leased:", c.Redis().HGetAll(ctx, k.leased).Val())
		for _, m := range append(first, second...) {
			if got.get(m.MID) == 0 {
				t.Log("never handled:", m.MID)
			}
		}
		t.Fatalf("%d of %d handled, queue %+v", got.len(), len(first)+len(second), stats(t, c, svc))
	}
}

// Redis dies while handlers run: Close still returns, once the settler's time to reach Redis is up,
// and the results it could not settle are not lost: the messages keep their leases and the next
// consumer recovers them once they expire. The test's clock stands still until then.
func TestCloseWithRedisGoneLosesNothing(t *testing.T) {
	srv := redistest.Start(t, redistest.AppendOnly())
	clk := newClock()
	c := redistest.Fleet(t, srv.Client(t), hydrakit.WithClock(clk.now))
	svc := service()
	msgs := enqueueN(t, c, svc, 5)
	started, release := make(chan struct{}, 5), make(chan struct{})
	d, driven := drive(t, waitSettle)
	con := startConsumer(t, c, svc, HandlerFunc(func(context.Context, *Delivery) error {
		started <- struct{}{}
		<-release
		return nil
	}), fast(ConsumerWorkers(5), ConsumerLease(500*time.Millisecond), driven)...)
	for range 5 {
		receive(t, started, "five handlers running")
	}
	srv.Kill(t)
	close(release)
	closed := closing(con)
	d.fire(waitSettle) // Close gave the settler its time; Redis never answered
	must(t, receive(t, closed, "Close"))
	srv.Restart(t)
	equal(t, int64(5), c.Redis().ZCard(context.Background(), newKeys(c.Keyspace(), svc).leases).Val())
	clk.add(time.Second) // the leases expire
	got := newSeen()
	startConsumer(t, c, svc, HandlerFunc(func(_ context.Context, d *Delivery) error {
		got.add(d.Message.MID)
		return nil
	}), fast()...)
	eventually(t, "recovery", func() bool { return got.len() == len(msgs) && drained(t, c, svc) })
}

// Recoveries are counted per message; a consumer with ConsumerMaxRecoveries dead-letters a message
// that keeps coming back from dead consumers without handling it, and completing a message
// forgets its count.
func TestRecoveriesCountedAndLimited(t *testing.T) {
	clk := newClock()
	c := realFleet(t, hydrakit.WithClock(clk.now))
	ctx := context.Background()
	crashTwice := func(svc string) {
		dead, err := newConsumer(c, svc, HandlerFunc(func(context.Context, *Delivery) error { return nil }),
			ConsumerLease(time.Millisecond))
		must(t, err)
		for range 2 {
			ds, err := dead.fetch(ctx, 1, dead.newFetchPrefix(), false) // taken, then the "process" dies
			must(t, err)
			equal(t, 1, len(ds))
			clk.add(2 * time.Millisecond) // the lease expires
			_, err = dead.recoverExpired(ctx)
			must(t, err)
		}
	}

	svc := service()
	enqueueN(t, c, svc, 1)
	crashTwice(svc)
	seen := make(chan int, 1)
	con := startConsumer(t, c, svc, HandlerFunc(func(_ context.Context, d *Delivery) error {
		seen <- d.Recoveries
		return nil
	}), fast()...)
	equal(t, 2, receive(t, seen, "the twice recovered message"))
	must(t, con.Close())
	equal(t, int64(0), counted(t, c, svc))
	equal(t, int64(0), c.Redis().Exists(ctx, newKeys(c.Keyspace(), svc).counted).Val())

	limited := service()
	enqueueN(t, c, limited, 1)
	crashTwice(limited)
	startConsumer(t, c, limited, HandlerFunc(func(context.Context, *Delivery) error {
		t.Error("a message over the recovery limit was handled")
		return nil
	}), fast(ConsumerMaxRecoveries(2))...)
	eventually(t, "dead letter", func() bool { return stats(t, c, limited).Incomplete == 1 })
	items, err := inspector(t, c).Incomplete(ctx, limited, 0, 1)
	must(t, err)
	equal(t, "consumers died holding it 2 times", items[0].Reason)
}
