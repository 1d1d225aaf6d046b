package redis

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"
)

// watchKey identifies a shared watch: one per client, key scheme, service and timing.
type watchKey struct {
	client      goredis.UniversalClient
	prefix      string
	clusterSafe bool
	service     string
	resync      time.Duration
	nodesScan   time.Duration
}

// watches holds the live watches; Instancers share them by reference count.
var watches = struct {
	sync.Mutex
	m map[watchKey]*watch
}{m: map[watchKey]*watch{}}

// listener receives every new state of a watch: the live instances, or the error of the last read.
type listener func([]Instance, error)

// watch keeps the live instances of one service in memory for all Instancers of one client. One
// goroutine checks the live instances' presence every resync interval, re-reads the index whenever a
// Registrar announces a join or leave, and scans the nodes hash for Node-registered instances every
// nodesScan (see readKind).
type watch struct {
	key    watchKey
	f      *finder
	logger log.Logger
	refs   int // guarded by watches

	mu        sync.Mutex
	listeners map[*Instancer]listener
	live      []Instance
	err       error

	pubsub *goredis.PubSub
	cancel context.CancelFunc
	ready  chan struct{} // closed once the first read is done
	done   chan struct{} // closed when the loop has ended
}

// acquire returns the shared watch for key, starting it (with a blocking first read, outside the
// registry's lock) when it is new, and adds l, which receives the current state before acquire returns.
func acquire(key watchKey, f *finder, logger log.Logger, owner *Instancer, l listener) *watch {
	watches.Lock()
	w := watches.m[key]
	if w == nil {
		w = &watch{
			key: key, f: f, logger: logger,
			listeners: map[*Instancer]listener{},
			ready:     make(chan struct{}), done: make(chan struct{}),
		}
		watches.m[key] = w
		w.refs++
		watches.Unlock()
		w.start()
	} else {
		w.refs++
		watches.Unlock()
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
	watches.Lock()
	w.refs--
	last := w.refs == 0
	if last {
		delete(watches.m, w.key)
	}
	watches.Unlock()
	if last {
		w.cancel()
		<-w.done
		_ = w.pubsub.Close()
	}
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
	if w.err != nil {
		w.logger.Log("msg", "initial lookup failed", "err", w.err)
	}
	go w.loop(ctx, w.live, w.err != nil)
}

func (w *watch) timeout() time.Duration { return max(w.key.resync, time.Second) }

func (w *watch) loop(ctx context.Context, live []Instance, failed bool) {
	defer close(w.done)
	events := w.pubsub.Channel()
	next := time.NewTimer(w.key.resync)
	defer next.Stop()
	lastFull := time.Now()
	backoff := time.Duration(0)
	for {
		kind := readPresence
		select {
		case <-ctx.Done():
			return
		case <-events:
			kind = readIndex
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
	if err != nil && w.err == nil {
		w.logger.Log("msg", "lookup failed", "err", err)
	} else if err == nil && w.err != nil {
		w.logger.Log("msg", "lookup recovered", "instances", len(live))
	}
	w.live, w.err = live, err
	for _, l := range w.listeners {
		l(live, err)
	}
}
