package queue

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

func TestInspectorStatsAndAges(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := realFleet(t, hydrakit.WithClock(func() time.Time { return now }))
	svc := service()
	ctx := context.Background()
	old := newMessage(t, svc, 1)
	old.Timestamp = umf.FormatTime(now.Add(-time.Minute))
	newer := newMessage(t, svc, 2)
	newer.Timestamp = umf.FormatTime(now.Add(-time.Second))
	p := producer(t, c)
	must(t, p.Enqueue(ctx, old, newer, newMessage(t, svc, 3)))
	must(t, p.EnqueueAt(ctx, newMessage(t, svc, 4), now.Add(time.Hour)))
	con, err := newConsumer(c, svc, HandlerFunc(func(context.Context, *Delivery) error { return nil }))
	must(t, err)
	_, err = con.fetch(ctx, 1, con.newFetchPrefix(), false) // old goes in progress, leased
	must(t, err)
	k := newKeys(c.Keyspace(), svc)
	must(t, c.Redis().RPush(ctx, k.incomplete, "x").Err())

	have, err := inspector(t, c).Stats(ctx, svc)
	must(t, err)
	equal(t, Stats{Received: 2, InProgress: 1, Leased: 1, Incomplete: 1, Delayed: 1,
		OldestReceived: time.Second, OldestInProgress: time.Minute}, have)

	_, err = inspector(t, c).Stats(ctx, "bad:name")
	isErr(t, err, keyspace.ErrInvalidName)
}

func TestInspectorIncompleteRequeueDeletePurge(t *testing.T) {
	c := realFleet(t)
	svc := service()
	ctx := context.Background()
	// Two dead letters made by the consumer (one attempt each), one foreign item.
	enqueueN(t, c, svc, 2)
	con := startConsumer(t, c, svc, HandlerFunc(func(context.Context, *Delivery) error {
		return errors.New("nope")
	}), fast(ConsumerMaxAttempts(2))...)
	eventually(t, "dead letters", func() bool { return stats(t, c, svc).Incomplete == 2 })
	must(t, con.Close())
	k := newKeys(c.Keyspace(), svc)
	must(t, c.Redis().RPush(ctx, k.incomplete, "garbage").Err())

	in := inspector(t, c)
	items, err := in.Incomplete(ctx, svc, 0, 10)
	must(t, err)
	equal(t, 3, len(items))
	equal(t, "nope", items[0].Reason)
	equal(t, (*umf.Message)(nil), items[2].Message)

	must(t, in.Requeue(ctx, svc, items[0].Raw))
	isErr(t, in.Requeue(ctx, svc, items[0].Raw), ErrNotFound)
	raw, err := c.Redis().LIndex(ctx, k.received, 0).Result()
	must(t, err)
	equal(t, string(items[0].Raw), raw) // bdy.reason stays: the handler can tell a second chance

	must(t, in.Delete(ctx, svc, items[2].Raw))
	isErr(t, in.Delete(ctx, svc, items[2].Raw), ErrNotFound)

	n, err := in.RequeueAll(ctx, svc)
	must(t, err)
	equal(t, 1, n)
	must(t, c.Redis().RPush(ctx, k.incomplete, "a", "b").Err())
	purged, err := in.Purge(ctx, svc)
	must(t, err)
	equal(t, int64(2), purged)
	s := stats(t, c, svc)
	equal(t, [2]int64{2, 0}, [2]int64{s.Received, s.Incomplete})
}

func TestNewProducerAndInspectorRefuseNilClient(t *testing.T) {
	_, err := NewProducer(nil)
	isErr(t, err, ErrConfig)
	_, err = NewInspector(nil)
	isErr(t, err, ErrConfig)
}

// poisonHook plays a consumer that dead-letters every requeued message at once: after each script
// run on its client it pushes a new dead letter, at most limit times.
type poisonHook struct {
	rdb        *goredis.Client
	incomplete string
	limit      int
	pushed     int
}

func (h *poisonHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h *poisonHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}
func (h *poisonHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		if name := cmd.Name(); err == nil && (name == "evalsha" || name == "eval") && h.pushed < h.limit {
			h.pushed++
			h.rdb.RPush(ctx, h.incomplete, fmt.Sprintf("poison %d", h.pushed))
		}
		return err
	}
}

// RequeueAll moves what was in the incomplete list when it started, however fast consumers put
// messages back there meanwhile.
func TestRequeueAllIsBoundedByWhatWasThere(t *testing.T) {
	rdb := redistest.Client(t)
	c := redistest.Fleet(t, rdb)
	svc := service()
	k := newKeys(c.Keyspace(), svc)
	ctx := context.Background()
	must(t, rdb.RPush(ctx, k.incomplete, "a", "b", "c").Err())
	rdb.AddHook(&poisonHook{rdb: rdb, incomplete: k.incomplete, limit: 1000})
	n, err := inspector(t, c).RequeueAll(ctx, svc)
	must(t, err)
	equal(t, 3, n)
	equal(t, []string{"c", "b", "a"}, rdb.LRange(ctx, k.received, 0, -1).Val())
	equal(t, int64(3), rdb.LLen(ctx, k.incomplete).Val()) // one new dead letter per requeue, left alone
}
