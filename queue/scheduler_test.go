package queue

import (
	"context"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// A delayed member that is not "<id>|<raw>" (written by hand or by another tool) is dead-lettered
// unchanged, nothing lost, and the due messages beside it are delivered in the same pass.
func TestSchedulerDeadLettersBadDelayedMembers(t *testing.T) {
	c := realFleet(t)
	svc := service()
	k := newKeys(c.Keyspace(), svc)
	ctx := context.Background()
	good := marshalled(t, newMessage(t, svc, "due"))
	must(t, c.Redis().ZAdd(ctx, k.delayed,
		goredis.Z{Score: 1, Member: "no separator"},
		goredis.Z{Score: 2, Member: delayedMember(good)},
		goredis.Z{Score: 3, Member: "also bad"},
	).Err())
	con, err := newConsumer(c, svc, HandlerFunc(func(context.Context, *Delivery) error { return nil }))
	must(t, err)
	moved, _, err := con.schedule(ctx)
	must(t, err)
	equal(t, 1, moved)
	equal(t, []string{string(good)}, c.Redis().LRange(ctx, k.received, 0, -1).Val())
	equal(t, []string{"no separator", "also bad"}, c.Redis().LRange(ctx, k.incomplete, 0, -1).Val())
	equal(t, int64(0), c.Redis().ZCard(ctx, k.delayed).Val())
	equal(t, ConsumerStats{BadDelayed: 2}, con.Stats())
}
