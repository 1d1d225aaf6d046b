package redis

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/metrics"
)

// watchKey identifies a shared watch of one client: one per service and timing.
type watchKey struct {
	service   string
	resync    time.Duration
	nodesScan time.Duration
}

// registry holds the live watches of one hydrakit.Client; Instancers share them by reference count.
// The client owns it: closing the client stops the watches left.
type registry struct {
	client goredis.UniversalClient
	keys   keyspace.Scheme
	logger log.Logger
	mx     *metrics.Discovery

	mu sync.Mutex
	m  map[watchKey]*watch
}

type registryKey struct{}

func registryOf(state *fleet.State) (*registry, error) {
	v, err := state.Shared(registryKey{}, func() (any, func() error) {
		r := &registry{
			client: state.Redis, keys: state.Keys, m: map[watchKey]*watch{},
			logger: log.With(state.Logger, "component", "sd/redis"), mx: &state.Metrics.Discovery,
		}
		return r, r.close
	})
	if err != nil {
		return nil, err
	}
	return v.(*registry), nil
}

// close stops every watch still running, for a client closed before its Instancers.
func (r *registry) close() error {
	r.mu.Lock()
	left := make([]*watch, 0, len(r.m))
	for _, w := range r.m {
		left = append(left, w)
	}
	r.m = map[watchKey]*watch{}
	r.mu.Unlock()
	for _, w := range left {
		w.stop()
	}
	return nil
}

// listener receives every new state of a watch: the live instances, or the error of the last read.
// It is called under the watch's lock, so it must not block: an Instancer's cache never waits for a
// subscriber, so one slow subscriber cannot hold up the watch and every other Instancer on it.
type listener func([]Instance, error)

// watch keeps the live instances of one service in memory for all Instancers of one client. One
// goroutine checks the live instances' presence every resync interval, re-reads the index whenever a
// Registrar announces a join or leave, and scans the nodes hash for Node-registered instances every
// nodesScan (see readKind).
type watch struct {
	key    watchKey
	reg    *registry
	f      *finder
	logger log.Logger
	mx     watchMetrics
	refs   int // guarded by reg.mu

	mu        sync.Mutex
	listeners map[*Instancer]listener
	live      []Instance
	err       error

	pubsub   *goredis.PubSub
	cancel   context.CancelFunc
	ready    chan struct{} // closed once the first read is done
	done     chan struct{} // closed when the loop has ended
	stopOnce sync.Once
}

// acquire returns the shared watch for key, starting it (with a blocking first read, outside the
// registry's lock) when it is new, and adds l, which receives the current state before acquire returns.
func (r *registry) acquire(key watchKey, owner *Instancer, l listener) *watch {
	r.mu.Lock()
	w := r.m[key]
	if w == nil {
		w = &watch{
			key: key, reg: r, logger: log.With(r.logger, "service", key.service),
			f:         &finder{client: r.client, keys: r.keys, service: key.service},
			listeners: map[*Instancer]listener{}, mx: newWatchMetrics(r.mx, key.service),
			ready: make(chan struct{}), done: make(chan struct{}),
		}
		r.m[key] = w
		w.refs++
		r.mu.Unlock()
		w.start()
	} else {
		w.refs++
		r.mu.Unlock()
		<-w.ready
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.listeners[owner] = l
	l(w.live, w.err)
	return w
}

// release removes owner's listener and, when it was the last one, stops the watch and waits for its
// goroutine to end.
func (w *watch) release(owner *Instancer) {
	w.mu.Lock()
	delete(w.listeners, owner)
	w.mu.Unlock()
	r := w.reg
	r.mu.Lock()
	w.refs--
	last := w.refs == 0
	if last && r.m[w.key] == w {
		delete(r.m, w.key)
	}
	r.mu.Unlock()
	if last {
		w.stop()
	}
}

// stop ends the loop and waits for it; it may be called more than once.
func (w *watch) stop() {
	w.stopOnce.Do(func() {
		<-w.ready
		w.cancel()
		<-w.done
		_ = w.pubsub.Close()
	})
}

// start subscribes to announcements, reads the live set once and starts the loop.
func (w *watch) start() {
	defer close(w.ready)
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	// Subscribe before the first read, so that no announcement falls between the two.
	w.pubsub = w.f.client.Subscribe(ctx, eventsChannel(w.f.keys, w.f.service))
	rctx, rcancel := context.WithTimeout(ctx, w.timeout())
	if _, err := w.pubsub.Receive(rctx); err != nil {
		w.logger.Log("msg", "subscribe failed; relying on resync", "err", err)
	}
	rcancel()
	w.live, w.err = w.read(ctx, readFull, nil)
	w.mx.observe(w.live, w.err)
	go w.loop(ctx, w.live, w.err != nil)
}

func (w *watch) timeout() time.Duration { return max(w.key.resync, time.Second) }

func (w *watch) loop(ctx context.Context, live []Instance, failed bool) {
	defer close(w.done)
	// With the subscriptions: go-redis resubscribes after a lost connection, and the confirmation
	// tells that announcements may have been missed meanwhile.
	events := w.pubsub.ChannelWithSubscriptions()
	next := time.NewTimer(w.key.resync)
	defer next.Stop()
	lastFull := time.Now()
	backoff := time.Duration(0)
	for {
		kind := readPresence
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			kind = readIndex
			if _, ok := ev.(*goredis.Subscription); ok {
				w.mx.reconnect.Add(1)
			}
		case <-next.C:
		}
		if failed || time.Since(lastFull) >= w.fullEvery() {
			kind = readFull
		}
		got, err := w.read(ctx, kind, live)
		if ctx.Err() != nil {
			return
		}
		failed = err != nil
		if !failed {
			live = got
			if kind == readFull {
				lastFull = time.Now()
			}
		}
		w.publish(got, err)
		wait := w.key.resync
		if failed {
			// Capped, jittered backoff: quick retries after a blip, no hammering of a Redis that is down.
			backoff = min(max(2*backoff, 50*time.Millisecond), w.key.resync)
			wait = backoff/2 + rand.N(backoff/2+1)
		} else {
			backoff = 0
		}
		if !next.Stop() {
			select {
			case <-next.C:
			default:
			}
		}
		next.Reset(wait)
	}
}

func (w *watch) publish(live []Instance, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.live, w.err = live, err
	w.mx.observe(live, err)
	for _, l := range w.listeners {
		l(live, err)
	}
}
