package queue

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit"
)

// counted is how many per-message counts hydrakit keeps in Redis for svc's queue: the fields of
// every hash of its own except the leases and orphans, whatever they are named.
func counted(t testing.TB, c *hydrakit.Client, svc string) int64 {
	t.Helper()
	ctx := context.Background()
	k := newKeys(c.Keyspace(), svc)
	prefix := strings.TrimSuffix(k.leases, "leases")
	var n int64
	iter := c.Redis().Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		if key == k.leased || key == k.orphans || c.Redis().Type(ctx, key).Val() != "hash" {
			continue
		}
		n += c.Redis().HLen(ctx, key).Val()
	}
	must(t, iter.Err())
	return n
}

// recoverOnce has a consumer "die" holding the next message of svc and the recoverer take it back.
func recoverOnce(t testing.TB, c *hydrakit.Client, clk *clock, svc string) {
	t.Helper()
	ctx := context.Background()
	dead, err := newConsumer(c, svc, HandlerFunc(func(context.Context, *Delivery) error { return nil }),
		ConsumerLease(time.Second))
	must(t, err)
	ds, err := dead.fetch(ctx, 1, dead.newFetchPrefix(), false)
	must(t, err)
	equal(t, 1, len(ds))
	clk.add(2 * time.Second)
	n, err := dead.recoverExpired(ctx)
	must(t, err)
	equal(t, 1, n)
}

// Recovery counts age out per message: a week after a message's last recovery its count is gone,
// however often other messages are recovered meanwhile, and the count of a message completed where
// hydrakit does not see it (a Node consumer) goes away with its age.
func TestRecoveryCountsAgeOutPerMessage(t *testing.T) {
	clk := newClock()
	c := realFleet(t, hydrakit.WithClock(clk.now))
	ctx := context.Background()
	svc := service()
	k := newKeys(c.Keyspace(), svc)
	enqueueN(t, c, svc, 1)
	recoverOnce(t, c, clk, svc)

	reader, err := newConsumer(c, svc, HandlerFunc(func(context.Context, *Delivery) error { return nil }))
	must(t, err)
	peek := func() int { // the recovery count a consumer sees now, leaving the message received
		ds, err := reader.fetch(ctx, 1, reader.newFetchPrefix(), false)
		must(t, err)
		equal(t, 1, len(ds))
		must(t, reader.settle(ctx, []outcome{{op: opRelease, d: ds[0]}}))
		return ds[0].Recoveries
	}
	equal(t, 1, peek())
	clk.add(6 * 24 * time.Hour)
	equal(t, 1, peek())
	clk.add(2 * 24 * time.Hour)
	equal(t, 0, peek()) // a week after its recovery

	// A Node consumer completes the message (RPOPLPUSH, LREM): hydrakit never learns of it.
	raw := c.Redis().LMove(ctx, k.received, k.inProgress, "RIGHT", "LEFT").Val()
	must(t, c.Redis().LRem(ctx, k.inProgress, -1, raw).Err())
	enqueueN(t, c, svc, 1)
	recoverOnce(t, c, clk, svc)
	equal(t, int64(1), counted(t, c, svc)) // only the message recovered within the week
}

// Beyond the cap the least recently counted messages lose their counts first.
func TestRecoveryCountsAreCapped(t *testing.T) {
	clk := newClock()
	c := realFleet(t, hydrakit.WithClock(clk.now))
	ctx := context.Background()
	svc := service()
	msgs := enqueueN(t, c, svc, 3)
	var dead []*Consumer
	for i := range msgs { // three consumers take a message each, with leases of 1, 2 and 3 s
		con, err := newConsumer(c, svc, HandlerFunc(func(context.Context, *Delivery) error { return nil }),
			ConsumerLease(time.Duration(i+1)*time.Second))
		must(t, err)
		con.maxCounted = 2
		ds, err := con.fetch(ctx, 1, con.newFetchPrefix(), false)
		must(t, err)
		equal(t, msgs[i].MID, ds[0].Message.MID)
		dead = append(dead, con)
	}
	for _, con := range dead { // their leases expire one by one
		clk.add(time.Second)
		n, err := con.recoverExpired(ctx)
		must(t, err)
		equal(t, 1, n)
	}
	equal(t, int64(2), counted(t, c, svc))
	reader, err := newConsumer(c, svc, HandlerFunc(func(context.Context, *Delivery) error { return nil }))
	must(t, err)
	ds, err := reader.fetch(ctx, 3, reader.newFetchPrefix(), false)
	must(t, err)
	recoveries := map[string]int{}
	for _, d := range ds {
		recoveries[d.Message.MID] = d.Recoveries
	}
	equal(t, map[string]int{msgs[0].MID: 0, msgs[1].MID: 1, msgs[2].MID: 1}, recoveries)
}
