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
// configured age; a leased message in progress at the same time is left alone.
func TestOrphanAdoption(t *testing.T) {
	c := realFleet(t)
	svc := service()
	k := newKeys(c.Keyspace(), svc)
	ctx := context.Background()
	msgs := enqueueN(t, c, svc, 2)
	must(t, c.Redis().LMove(ctx, k.received, k.inProgress, "RIGHT", "LEFT").Err()) // Node's getQueuedMessage (RPOPLPUSH)

	var handled atomic.Int32
	holding := make(chan struct{})
	startConsumer(t, c, svc, HandlerFunc(func(ctx context.Context, d *Delivery) error {
		handled.Add(1)
		if d.Message.MID == msgs[1].MID {
			close(holding)
			<-ctx.Done() // keep a leased message in progress while orphans are scanned
			return ctx.Err()
		}
		return nil
	}), fast(ConsumerAdoptOrphans(300*time.Millisecond), ConsumerShutdownTimeout(50*time.Millisecond))...)
	<-holding
	time.Sleep(150 * time.Millisecond)
	equal(t, int32(1), handled.Load()) // not adopted before its age
	eventually(t, 5*time.Second, "adoption", func() bool { return handled.Load() == 2 })
	time.Sleep(500 * time.Millisecond)
	equal(t, int32(2), handled.Load()) // the leased one was never adopted
	equal(t, int64(1), c.Redis().LLen(ctx, k.inProgress).Val())
	equal(t, int64(0), c.Redis().HLen(ctx, k.orphans).Val())
}

// Without adoption (the default) unleased in-progress messages are never touched.
func TestOrphansLeftAloneByDefault(t *testing.T) {
	c := realFleet(t)
	svc := service()
	k := newKeys(c.Keyspace(), svc)
	ctx := context.Background()
	enqueueN(t, c, svc, 1)
	must(t, c.Redis().LMove(ctx, k.received, k.inProgress, "RIGHT", "LEFT").Err())
	startConsumer(t, c, svc, HandlerFunc(func(context.Context, *Delivery) error {
		t.Error("orphan delivered")
		return nil
	}), fast(timing(time.Second, 10*time.Millisecond, 20*time.Millisecond))...)
	time.Sleep(300 * time.Millisecond)
	equal(t, int64(1), c.Redis().LLen(ctx, k.inProgress).Val())
}

// Redis restarting (append-only) under a running pool: fetch, settle and the scheduler fail while
// it is gone and heal by themselves; every message is handled, nothing is left behind.
func TestConsumerSurvivesRedisRestart(t *testing.T) {
	srv := redistest.Start(t, redistest.AppendOnly())
	c := redistest.Fleet(t, srv.Client(t), hydrakit.WithLogger(testLogger(t)))
	svc := service()
	first := enqueueN(t, c, svc, 50)
	got := newSeen()
	startConsumer(t, c, svc, HandlerFunc(func(_ context.Context, d *Delivery) error {
		got.add(d.Message.MID)
		time.Sleep(2 * time.Millisecond)
		return nil
	}), fast(ConsumerLease(time.Second))...)
	eventually(t, 5*time.Second, "first batch", func() bool { return got.len() >= 10 })
	srv.Restart(t)
	second := enqueueN(t, c, svc, 50)
	deadline := time.Now().Add(20 * time.Second)
	for got.len() != len(first)+len(second) || !drained(t, c, svc) {
		if time.Now().After(deadline) {
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
		time.Sleep(10 * time.Millisecond)
	}
}

// Redis dies while handlers run: Close still returns within its deadline, and the results it could
// not settle are not lost: the messages keep their leases and the next consumer recovers them.
func TestCloseWithRedisGoneLosesNothing(t *testing.T) {
	srv := redistest.Start(t, redistest.AppendOnly())
	c := redistest.Fleet(t, srv.Client(t))
	svc := service()
	msgs := enqueueN(t, c, svc, 5)
	started, release := make(chan struct{}, 5), make(chan struct{})
	con := startConsumer(t, c, svc, HandlerFunc(func(context.Context, *Delivery) error {
		started <- struct{}{}
		<-release
		return nil
	}), fast(ConsumerWorkers(5), ConsumerLease(500*time.Millisecond), ConsumerShutdownTimeout(300*time.Millisecond))...)
	for range 5 {
		<-started
	}
	srv.Kill(t)
	close(release)
	begin := time.Now()
	must(t, con.Close())
	if took := time.Since(begin); took > 3*time.Second {
		t.Fatalf("Close took %v with Redis gone", took)
	}
	srv.Restart(t)
	got := newSeen()
	startConsumer(t, c, svc, HandlerFunc(func(_ context.Context, d *Delivery) error {
		got.add(d.Message.MID)
		return nil
	}), fast()...)
	eventually(t, 10*time.Second, "recovery", func() bool { return got.len() == len(msgs) && drained(t, c, svc) })
}

// Recoveries are counted per message; a consumer with ConsumerMaxRecoveries dead-letters a message
// that keeps coming back from dead consumers without handling it, and completing a message
// forgets its count.
func TestRecoveriesCountedAndLimited(t *testing.T) {
	c := realFleet(t)
	ctx := context.Background()
	crashTwice := func(svc string) {
		dead, err := newConsumer(c, svc, HandlerFunc(func(context.Context, *Delivery) error { return nil }),
			ConsumerLease(time.Millisecond))
		must(t, err)
		for range 2 {
			ds, err := dead.fetch(ctx, 1, dead.newFetchPrefix(), false) // taken, then the "process" dies
			must(t, err)
			equal(t, 1, len(ds))
			time.Sleep(5 * time.Millisecond)
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
	equal(t, 2, <-seen)
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
	eventually(t, 5*time.Second, "dead letter", func() bool { return stats(t, c, limited).Incomplete == 1 })
	items, err := inspector(t, c).Incomplete(ctx, limited, 0, 1)
	must(t, err)
	equal(t, "consumers died holding it 2 times", items[0].Reason)
}
