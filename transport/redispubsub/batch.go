package redispubsub

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// batcher coalesces concurrent PUBLISHes into pipelines without a goroutine of its own (flat
// combining): the first caller to find no flush running becomes the leader and sends its own PUBLISH
// plus everything queued meanwhile in one pipeline; when it is done it hands leadership to the oldest
// waiter, if any. With one request in flight this is a plain PUBLISH (no hand-off, no extra latency);
// with many, one round trip carries many messages.
type batcher struct {
	client  goredis.UniversalClient
	sharded bool          // SPUBLISH (a cluster) instead of PUBLISH
	timeout time.Duration // bounds one pipeline when the caller's context has no say (shared batch)
	max     int           // most messages per pipeline

	mu       sync.Mutex
	queue    []*pubReq
	flushing bool
	pool     sync.Pool

	batch []*pubReq // reused by the leader of the moment; leaders never overlap

	published, roundTrips atomic.Uint64
}

type pubReq struct {
	ctx     context.Context
	channel string
	payload []byte
	n       int64
	err     error
	done    chan bool // true: the result is in; false: you lead the next flush
	cmd     *goredis.IntCmd
}

func newBatcher(client goredis.UniversalClient, sharded bool, timeout time.Duration, max int) *batcher {
	b := &batcher{client: client, sharded: sharded, timeout: timeout, max: max}
	b.pool.New = func() any { return &pubReq{done: make(chan bool, 1)} }
	return b
}

// publish PUBLISHes (SPUBLISHes when sharded) payload on channel and returns the number of receivers. payload may be reused by
// the caller once publish returns. ctx bounds the PUBLISH when it goes alone; a pipeline of several
// is bounded by the batcher's timeout instead, since no one caller's context may cut the others off.
func (b *batcher) publish(ctx context.Context, channel string, payload []byte) (int64, error) {
	r := b.pool.Get().(*pubReq)
	r.ctx, r.channel, r.payload = ctx, channel, payload
	b.mu.Lock()
	b.queue = append(b.queue, r)
	lead := !b.flushing
	b.flushing = true
	b.mu.Unlock()
	if !lead {
		lead = !<-r.done
	}
	if lead {
		b.flush()
		<-r.done
	}
	n, err := r.n, r.err
	r.ctx, r.payload, r.cmd, r.err, r.n = nil, nil, nil, nil, 0
	b.pool.Put(r)
	return n, err
}

// flush sends what is queued (at most max messages, always including the leader's own), then passes
// leadership to the next waiter or ends the flushing state.
func (b *batcher) flush() {
	b.mu.Lock()
	n := min(len(b.queue), b.max)
	batch := append(b.batch[:0], b.queue[:n]...)
	rest := copy(b.queue, b.queue[n:])
	clear(b.queue[rest:])
	b.queue = b.queue[:rest]
	b.mu.Unlock()

	b.exec(batch)
	for i, r := range batch {
		batch[i] = nil
		r.done <- true
	}
	b.batch = batch

	b.mu.Lock()
	if len(b.queue) == 0 {
		b.flushing = false
		b.mu.Unlock()
		return
	}
	next := b.queue[0]
	b.mu.Unlock()
	next.done <- false
}

func (b *batcher) exec(batch []*pubReq) {
	b.published.Add(uint64(len(batch)))
	b.roundTrips.Add(1)
	if len(batch) == 1 {
		r := batch[0]
		if b.sharded {
			r.n, r.err = b.client.SPublish(r.ctx, r.channel, r.payload).Result()
		} else {
			r.n, r.err = b.client.Publish(r.ctx, r.channel, r.payload).Result()
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
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
