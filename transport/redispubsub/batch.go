package redispubsub

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	kitmetrics "github.com/go-kit/kit/metrics"
	"github.com/go-kit/kit/metrics/discard"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/wait"
)

// batcher coalesces concurrent PUBLISHes into pipelines. A PUBLISH that finds none in flight goes
// alone, on its caller's goroutine and under its caller's context: with one request in flight this is
// a plain PUBLISH, with no hand-off and no extra latency. PUBLISHes arriving meanwhile queue; when the
// lone one is done, one goroutine (the flusher) sends the queue in pipelines of at most max until it
// is empty, so with many in flight one round trip carries many messages. A queued caller waits for its
// result or its context, whichever comes first: no caller waits for another's pipeline past its own
// deadline.
type batcher struct {
	client  goredis.UniversalClient
	sharded bool          // SPUBLISH (a cluster) instead of PUBLISH
	timeout time.Duration // bounds one pipeline, which no single caller's context may cut short
	max     int           // most messages per pipeline

	mu       sync.Mutex
	queue    []*pubReq
	flushing bool // a lone PUBLISH or the flusher is sending: new PUBLISHes queue
	closed   bool // no new flusher starts: whoever finds the queue full drains it itself
	flusher  sync.WaitGroup
	pool     sync.Pool

	batch []*pubReq // reused by the flusher; flushers never overlap

	published, roundTrips atomic.Uint64
	batchSize             kitmetrics.Histogram // messages per round trip
}

type pubReq struct {
	channel string
	payload []byte
	n       int64
	err     error
	done    chan struct{} // the result is in
	cmd     *goredis.IntCmd
}

func newBatcher(client goredis.UniversalClient, sharded bool, timeout time.Duration, max int) *batcher {
	b := &batcher{client: client, sharded: sharded, timeout: timeout, max: max, batchSize: discard.NewHistogram()}
	b.pool.New = func() any { return &pubReq{done: make(chan struct{}, 1)} }
	return b
}

// publish PUBLISHes (SPUBLISHes when sharded) payload on channel and returns the number of receivers.
// When ctx ends before the result is in, publish returns ctx's error at once. The caller may reuse
// payload once publish returns with released true; with released false (ctx ended while a pipeline
// carried payload) the pipeline may still read it.
func (b *batcher) publish(ctx context.Context, channel string, payload []byte) (n int64, released bool, err error) {
	b.mu.Lock()
	if !b.flushing {
		b.flushing = true
		b.mu.Unlock()
		b.published.Add(1)
		b.roundTrips.Add(1)
		b.batchSize.Observe(1)
		if b.sharded {
			n, err = b.client.SPublish(ctx, channel, payload).Result()
		} else {
			n, err = b.client.Publish(ctx, channel, payload).Result()
		}
		b.handOver()
		return n, true, err
	}
	r := b.pool.Get().(*pubReq)
	r.channel, r.payload = channel, payload
	b.queue = append(b.queue, r)
	b.mu.Unlock()
	select {
	case <-r.done:
		return b.result(r)
	case <-ctx.Done():
	}
	b.mu.Lock()
	i := slices.Index(b.queue, r)
	if i >= 0 {
		b.queue = slices.Delete(b.queue, i, i+1)
	}
	b.mu.Unlock()
	if i >= 0 { // never sent
		r.channel, r.payload = "", nil
		b.pool.Put(r)
		return 0, true, ctx.Err()
	}
	select {
	case <-r.done: // sent meanwhile
		return b.result(r)
	default: // in a pipeline now: r and payload stay with it (and r is not pooled again)
		return 0, false, ctx.Err()
	}
}

func (b *batcher) result(r *pubReq) (int64, bool, error) {
	n, err := r.n, r.err
	r.channel, r.payload, r.cmd, r.err, r.n = "", nil, nil, nil, 0
	b.pool.Put(r)
	return n, true, err
}

// handOver ends a lone PUBLISH: what queued meanwhile goes to a new flusher (or, once the batcher is
// closed, is sent on this goroutine).
func (b *batcher) handOver() {
	b.mu.Lock()
	switch {
	case len(b.queue) == 0:
		b.flushing = false
		b.mu.Unlock()
	case b.closed:
		b.mu.Unlock()
		b.drain()
	default:
		b.flusher.Add(1)
		b.mu.Unlock()
		go func() {
			defer b.flusher.Done()
			b.drain()
		}()
	}
}

// drain sends the queue in pipelines until it is empty, then ends the flushing state.
func (b *batcher) drain() {
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.flushing = false
			b.mu.Unlock()
			return
		}
		n := min(len(b.queue), b.max)
		batch := append(b.batch[:0], b.queue[:n]...)
		rest := copy(b.queue, b.queue[n:])
		clear(b.queue[rest:])
		b.queue = b.queue[:rest]
		b.mu.Unlock()

		b.exec(batch)
		for i, r := range batch {
			batch[i] = nil
			r.done <- struct{}{}
		}
		b.batch = batch
	}
}

func (b *batcher) exec(batch []*pubReq) {
	b.published.Add(uint64(len(batch)))
	b.roundTrips.Add(1)
	b.batchSize.Observe(float64(len(batch)))
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	if len(batch) == 1 {
		r := batch[0]
		if b.sharded {
			r.n, r.err = b.client.SPublish(ctx, r.channel, r.payload).Result()
		} else {
			r.n, r.err = b.client.Publish(ctx, r.channel, r.payload).Result()
		}
		return
	}
	pipe := b.client.Pipeline()
	for _, r := range batch {
		if b.sharded {
			r.cmd = pipe.SPublish(ctx, r.channel, r.payload)
		} else {
			r.cmd = pipe.Publish(ctx, r.channel, r.payload)
		}
	}
	_, _ = pipe.Exec(ctx)
	for _, r := range batch {
		r.n, r.err = r.cmd.Result()
	}
}

// close stops starting flushers and waits up to grace for the one running, if any, to finish.
func (b *batcher) close(grace time.Duration) bool {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return wait.Timeout(&b.flusher, grace)
}
