package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hydrakit/hydrakit/internal/ratelog"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/internal/trust"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

// Delivery is one message handed to a Handler.
type Delivery struct {
	Service string       // the queue's service
	Raw     []byte       // the exact bytes taken from the received list
	Message *umf.Message // Raw decoded
	// Attempt is 1 on the first delivery, counted across retries in hydrakit's keys (the message's
	// bytes never change), so it survives restarts.
	Attempt int
	// Recoveries counts how often the message was taken back from a consumer that died (or lost
	// Redis) while holding it. Counts are per message and last a week after its last change.
	Recoveries int

	token   string    // lease token
	fetched time.Time // when it was fetched, for its fetch span
}

// Handler processes deliveries. A nil error completes the message; an error wrapped by Permanent
// moves it to the incomplete list; any other error retries it with backoff up to the attempt limit.
type Handler interface {
	Handle(ctx context.Context, d *Delivery) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, d *Delivery) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, d *Delivery) error { return f(ctx, d) }

// Consumer is a pool of workers consuming one service's queue. NewConsumer starts it; Close stops it.
type Consumer struct {
	rdb     goredis.UniversalClient
	service string
	handler Handler
	keys    keys
	logger  log.Logger
	// inputLog is logger for lines that messages trigger, at most logBurst a second.
	inputLog log.Logger
	now      func() time.Time
	signing  *trust.Keys // checks every message when signatures are required
	trace    consumerTrace
	id       string // lease token prefix, unique per Consumer
	err      error  // from the options

	workers, prefetch, maxAttempts int
	maxRecoveries                  int
	lease, shutdownTimeout         time.Duration
	orphanAfter                    time.Duration
	backoff                        func(attempt int) time.Duration
	// Timing that is constant outside tests (options.go); recoverEvery 0 means lease/5, at most 5 s.
	blockTimeout, recoverEvery, schedulerEvery time.Duration
	maxCounted                                 int   // maxCounted outside tests
	hand                                       *hand // waits a test took over (pace.go); nil outside tests

	closeOnce sync.Once
	closeErr  error

	held     heldSet               // leased messages not yet settled
	slots    chan struct{}         // one per held message: bounds fetching to workers+prefetch
	jobs     chan *Delivery        // fetcher → workers
	outcomes chan outcome          // workers → settler
	draining chan struct{}         // closed by Close: workers hand back what they have not started
	given    chan struct{}         // closed by Close when it gives up on handlers: they drop their results
	cancels  [3]context.CancelFunc // fetch, handlers, background

	// Close waits for the workers and the settler through channels, not WaitGroups, so that a wait it
	// gives up on leaves no goroutine behind.
	working                 atomic.Int32  // workers still running
	workersDone, settleDone chan struct{} // closed by the last worker, by the settler
	fetchWG, bgWG           sync.WaitGroup

	rejected, badDelayed atomic.Uint64
	mx                   consumerMetrics
}

// ConsumerStats counts what a Consumer refused since it started.
type ConsumerStats struct {
	// Rejected counts messages moved to the incomplete list unhandled because signatures are required
	// (hydrakit.WithRequiredSignatures) and theirs was missing or wrong.
	Rejected uint64
	// BadDelayed counts entries of the delayed set that held no message (not "<id>|<raw>"), moved to
	// the incomplete list unchanged.
	BadDelayed uint64
}

// Stats returns the consumer's counters.
func (c *Consumer) Stats() ConsumerStats {
	return ConsumerStats{Rejected: c.rejected.Load(), BadDelayed: c.badDelayed.Load()}
}

func (c *Consumer) fail(err error) { c.err = errors.Join(c.err, err) }

// NewConsumer validates its arguments and options and starts a pool consuming service's queue on
// client: a fetcher, the workers calling handler, a settler, the heartbeat, the recoverer and the
// scheduler. Errors wrap ErrConfig (and keyspace.ErrInvalidName for an invalid service name). The pool
// logs to the client's logger with "component", "queue", "queue", service. With the client's
// signatures required (hydrakit.WithRequiredSignatures), a message without a valid signature goes to
// the incomplete list unhandled, with bdy.reason "rejected: unsigned" or "rejected: bad signature"
// (a queued message has no age limit: it may wait for days).
func NewConsumer(client *hydrakit.Client, service string, handler Handler, options ...ConsumerOption) (*Consumer, error) {
	c, err := newConsumer(client, service, handler, options...)
	if err != nil {
		return nil, err
	}
	c.start()
	return c, nil
}

// newConsumer is NewConsumer without starting anything.
func newConsumer(client *hydrakit.Client, service string, handler Handler, options ...ConsumerOption) (*Consumer, error) {
	st := fleet.Of(client)
	if st == nil {
		return nil, configError("nil client")
	}
	name, err := keyspace.ValidateService(service)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if sub, ok := handler.(*Subscriber); handler == nil || ok && sub == nil {
		return nil, configError("nil handler")
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	logger := log.With(st.Logger, "component", "queue", "queue", name)
	c := &Consumer{
		rdb: st.Redis, service: name, handler: handler, keys: newKeys(st.Keys, name),
		logger: logger, inputLog: ratelog.New(logger, logBurst),
		now: st.Now, signing: st.Signing, id: hex.EncodeToString(id[:]), trace: newConsumerTrace(st, name),
		workers: 8, prefetch: -1, maxAttempts: 5,
		lease: 25 * time.Second, shutdownTimeout: 10 * time.Second, backoff: defaultBackoff,
		blockTimeout: blockTimeout, schedulerEvery: schedulerInterval, maxCounted: maxCounted,
		mx: newConsumerMetrics(&st.Metrics.Queue, name),
	}
	for _, o := range options {
		if o == nil {
			c.fail(configError("nil option"))
			continue
		}
		o(c)
	}
	if c.err != nil {
		return nil, c.err
	}
	if c.prefetch < 0 {
		c.prefetch = max(c.workers, 32)
	}
	if c.recoverEvery == 0 {
		c.recoverEvery = min(c.lease/5, maxRecoverInterval)
	}
	c.held = heldSet{m: map[string]*Delivery{}}
	return c, nil
}

// start starts the fetcher, the workers, the settler, the heartbeat, the recoverer and the
// scheduler.
func (c *Consumer) start() {
	capacity := c.workers + c.prefetch
	c.slots = make(chan struct{}, capacity)
	c.jobs = make(chan *Delivery, capacity)
	c.outcomes = make(chan outcome, capacity)
	c.draining, c.given = make(chan struct{}), make(chan struct{})
	c.workersDone, c.settleDone = make(chan struct{}), make(chan struct{})
	var fetchCtx, handlerCtx, bgCtx context.Context
	fetchCtx, c.cancels[0] = context.WithCancel(context.Background())
	handlerCtx, c.cancels[1] = context.WithCancel(context.Background())
	bgCtx, c.cancels[2] = context.WithCancel(context.Background())

	c.bgWG.Add(3)
	go func() { defer c.bgWG.Done(); c.heartbeatLoop(bgCtx) }()
	go func() { defer c.bgWG.Done(); c.recoverLoop(bgCtx) }()
	go func() { defer c.bgWG.Done(); c.scheduleLoop(bgCtx) }()
	go func() { defer close(c.settleDone); c.settleLoop(bgCtx) }()
	c.working.Store(int32(c.workers))
	for range c.workers {
		go func() {
			defer func() {
				if c.working.Add(-1) == 0 {
					close(c.workersDone)
				}
			}()
			c.workLoop(handlerCtx)
		}()
	}
	c.fetchWG.Add(1)
	go func() { defer c.fetchWG.Done(); c.fetchLoop(fetchCtx) }()
}

// Close shuts the pool down gracefully: it stops fetching (waiting for the current blocking wait,
// at most 2 s), returns messages no worker has started to the received list, lets running handlers
// finish for the shutdown timeout, then cancels their contexts and returns their messages too.
// Nothing is dropped: whatever cannot be settled (Redis unreachable) keeps its lease and is
// recovered by another consumer when the lease expires. Close waits for every goroutine of the pool
// and returns nil, or ErrShutdownTimeout when handlers ignored their cancelled context for another
// half shutdown timeout (and a second). Then it hands their messages back to the received list at
// once (another consumer may handle them while they still run) and returns with nothing of the pool
// running but those handlers' goroutines, which Go cannot stop: each exits as soon as its handler
// returns, dropping the late result without touching Redis. Close is idempotent: later calls
// return the first call's result.
func (c *Consumer) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.shutdown() })
	return c.closeErr
}

func (c *Consumer) shutdown() error {
	deadline := time.Now().Add(c.shutdownTimeout)
	close(c.draining)
	c.cancels[0]() // the fetcher returns after at most one block timeout, then closes jobs
	c.fetchWG.Wait()

	var err error
	if !c.within(waitShutdown, c.workersDone, time.Until(deadline)) {
		c.cancels[1]() // handlers see their context end; their messages are released, not retried
		if !c.within(waitGiveUp, c.workersDone, c.shutdownTimeout/2+time.Second) {
			err = ErrShutdownTimeout
			close(c.given)
		}
	}
	c.cancels[1]()
	if err == nil {
		close(c.outcomes)
		// The settler gets the rest of the shutdown time (at least a second) to reach Redis.
		if !c.within(waitSettle, c.settleDone, max(time.Until(deadline), time.Second)) {
			c.cancels[2]()
		}
	}
	c.cancels[2]()
	<-c.settleDone
	if err != nil {
		c.releaseAll() // handlers still running: hand their messages back, their results are dropped
		c.abandonOutcomes()
	}
	c.bgWG.Wait()
	return err
}
