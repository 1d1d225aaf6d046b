package queue

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

var errReplyLost = errors.New("test: reply lost")

// loseFetchReply is a go-redis hook that lets the first fetch that leases messages run in Redis and
// then fails it as if Redis had died before its reply arrived (after go-redis's own resends).
type loseFetchReply struct {
	received string // the received list: the first key of a fetch
	lost     atomic.Int32
}

func (h *loseFetchReply) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *loseFetchReply) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

func (h *loseFetchReply) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		args := cmd.Args()
		if err != nil || (cmd.Name() != "evalsha" && cmd.Name() != "eval") || len(args) < 4 || args[3] != h.received {
			return err
		}
		if res, _ := cmd.(*goredis.Cmd).Slice(); len(res) == 0 || !h.lost.CompareAndSwap(0, 1) {
			return err
		}
		cmd.SetErr(errReplyLost)
		return errReplyLost
	}
}

// A fetch whose messages were leased in Redis but whose reply never reached the consumer (Redis
// died, or the network failed, after the script ran) is asked again under the same tokens: its
// messages are handled at once, not left leased to nobody until the lease expires.
func TestFetchWhoseReplyWasLostIsReclaimed(t *testing.T) {
	rdb := redistest.Client(t)
	svc := service()
	hook := &loseFetchReply{received: newKeys(keyspace.New(), svc).received}
	rdb.AddHook(hook)
	// The clock stands still: no lease ever expires, so only the repeated fetch can bring the messages back.
	c := redistest.Fleet(t, rdb, hydrakit.WithLogger(testLogger(t)), hydrakit.WithClock(newClock().now))
	msgs := enqueueN(t, c, svc, 20)
	got := newSeen()
	startConsumer(t, c, svc, HandlerFunc(func(_ context.Context, d *Delivery) error {
		got.add(d.Message.MID)
		return nil
	}), fast()...)
	eventually(t, "every message handled, with no lease expired", func() bool {
		return got.len() == len(msgs) && drained(t, c, svc)
	})
	equal(t, int32(1), hook.lost.Load())
	for _, m := range msgs {
		equal(t, 1, got.get(m.MID))
	}
}

// The pool waits at most a second between fetches while Redis fails, so it is back at work within
// about a second of Redis answering again, however long Redis was gone.
func TestRetryDelayCappedAtASecond(t *testing.T) {
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		800 * time.Millisecond, time.Second, time.Second}
	for i, d := range want {
		equal(t, d, retryDelay(i+1))
	}
	equal(t, time.Second, retryDelay(1000))
}
