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
// goroutine re-reads the service's own keys every resync interval and whenever a Registrar announces
// a join or leave, and scans the nodes hash for Node-registered instances every nodesScan.
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
	var nodeIDs []string
	w.live, nodeIDs, w.err = w.read(ctx, nil, w.key.nodesScan > 0)
	if w.err != nil {
		w.logger.Log("msg", "initial lookup failed", "err", w.err)
	}
	go w.loop(ctx, nodeIDs)
}

func (w *watch) timeout() time.Duration { return max(w.key.resync, time.Second) }

// read returns the live instances among the indexed ones and nodeIDs. With scan it first refreshes
// nodeIDs from the nodes hash and re-reads every nodes entry; otherwise it re-reads only the entries of
// instances not in the last live set.
func (w *watch) read(ctx context.Context, nodeIDs []string, scan bool) ([]Instance, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, w.timeout())
	defer cancel()
	indexed, err := w.f.indexed(ctx)
	if err != nil {
		return nil, nodeIDs, err
	}
	var known map[string]Instance
	if scan {
		if nodeIDs, err = w.f.scanNodes(ctx); err != nil {
			return nil, nodeIDs, err
		}
	} else {
		known = w.known()
	}
	live, err := w.f.lookup(ctx, union(indexed, nodeIDs), known)
	return live, nodeIDs, err
}

// known returns the last live set by instance ID.
func (w *watch) known() map[string]Instance {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := make(map[string]Instance, len(w.live))
	for _, in := range w.live {
		m[in.ID] = in
	}
	return m
}

func (w *watch) loop(ctx context.Context, nodeIDs []string) {
	defer close(w.done)
	events := w.pubsub.Channel()
	next := time.NewTimer(w.key.resync)
	defer next.Stop()
	lastScan := time.Now()
	backoff := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-events:
		case <-next.C:
		}
		scan := w.key.nodesScan > 0 && time.Since(lastScan) >= w.key.nodesScan
		live, ids, err := w.read(ctx, nodeIDs, scan)
		if ctx.Err() != nil {
			return
		}
		nodeIDs = ids
		if err == nil && scan {
			lastScan = time.Now()
		}
		w.publish(live, err)
		wait := w.key.resync
		if err != nil {
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
