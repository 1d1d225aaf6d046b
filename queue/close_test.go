package queue

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

// When Close gives up on a handler that ignores its context, it returns with nothing of the pool
// running but that handler's goroutine (fetcher, workers, settler, heartbeat, recoverer, scheduler
// and any helper are gone), and once the handler returns, its goroutine exits at once: it neither
// blocks nor handles the messages still queued for it.
func TestCloseLeavesOnlyStuckHandlersRunning(t *testing.T) {
	c := realFleet(t)
	svc := service()
	enqueueN(t, c, svc, 6)
	before := goleak.IgnoreCurrent()
	started, release := make(chan struct{}, 6), make(chan struct{})
	handled := make(chan struct{}, 6)
	d, driven := drive(t, waitShutdown, waitGiveUp)
	con, err := NewConsumer(c, svc, HandlerFunc(func(context.Context, *Delivery) error {
		started <- struct{}{}
		<-release
		handled <- struct{}{}
		return nil
	}), fast(ConsumerWorkers(1), ConsumerPrefetch(4), driven)...)
	must(t, err)
	receive(t, started, "the handler")
	closed := closing(con)
	d.fire(waitShutdown)
	d.fire(waitGiveUp)
	isErr(t, receive(t, closed, "Close"), ErrShutdownTimeout)
	goleak.VerifyNone(t, before, goleak.IgnoreAnyFunction("github.com/hydrakit/hydrakit/queue.(*Consumer).handle"))
	s := stats(t, c, svc)
	equal(t, [3]int64{6, 0, 0}, [3]int64{s.Received, s.InProgress, s.Leased}) // every message handed back

	close(release)
	receive(t, con.workersDone, "the stuck worker to exit")
	goleak.VerifyNone(t, before)
	equal(t, 1, len(handled)) // the queued jobs were not handled after Close
}
