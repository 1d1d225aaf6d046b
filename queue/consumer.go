package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

// Delivery is one message handed to a Handler.
type Delivery struct {
	Service string       // the queue's service
	Raw     []byte       // the exact bytes taken from the received list
	Message *umf.Message // Raw decoded
	Attempt int          // 1 on the first delivery, counted across retries
	// Recoveries counts how often the message was taken back from a consumer that died (or lost
	// Redis) while holding it, within the last week.
	Recoveries int

	token string // lease token
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

// Consumer is a pool of workers consuming one service's queue. Start it once and Stop it once.
type Consumer struct {
	client  goredis.UniversalClient
	service string
	handler Handler
	scheme  keyspace.Scheme
	keys    keys
	logger  log.Logger
	id      string // lease token prefix, unique per Consumer

	workers, prefetch, maxAttempts int
	maxRecoveries                  int
	lease, recoverEvery            time.Duration
	schedulerEvery, blockTimeout   time.Duration
	shutdownTimeout, orphanAfter   time.Duration
	backoff                        func(attempt int) time.Duration
	now                            func() time.Time

	mu      sync.Mutex
	started bool
	stopped bool

	held     heldSet               // leased messages not yet settled
	slots    chan struct{}         // one per held message: bounds fetching to workers+prefetch
	jobs     chan *Delivery        // fetcher → workers
	outcomes chan outcome          // workers → settler
	draining chan struct{}         // closed by Stop: workers hand back what they have not started
	cancels  [3]context.CancelFunc // fetch, handlers, background

	fetchWG, workWG, settleWG, bgWG sync.WaitGroup
}

// NewConsumer returns a Consumer of service's queue calling handler. It does nothing until Start.
func NewConsumer(client goredis.UniversalClient, service string, handler Handler, options ...ConsumerOption) (*Consumer, error) {
	name, err := keyspace.ValidateService(service)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	if client == nil || handler == nil {
		return nil, fmt.Errorf("queue: client and handler are required")
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	c := &Consumer{
		client: client, service: name, handler: handler, scheme: keyspace.Default,
		logger: log.NewNopLogger(), id: hex.EncodeToString(id[:]),
		workers: 8, prefetch: -1, maxAttempts: 5,
		lease: 25 * time.Second, recoverEvery: 5 * time.Second, schedulerEvery: time.Second,
		blockTimeout: 2 * time.Second, shutdownTimeout: 10 * time.Second,
		backoff: DefaultBackoff, now: time.Now,
	}
	for _, o := range options {
		o(c)
	}
	if c.prefetch < 0 {
		c.prefetch = max(c.workers, 32)
	}
	c.keys = newKeys(c.scheme, name)
	c.logger = log.With(c.logger, "service", name, "queue", c.keys.received)
	c.held = heldSet{m: map[string]*Delivery{}}
	return c, nil
}

// Start starts the fetcher, the workers, the settler, the heartbeat, the recoverer and the
// scheduler. It returns at once.
func (c *Consumer) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped || c.started {
		return ErrStopped
	}
	c.started = true
	capacity := c.workers + c.prefetch
	c.slots = make(chan struct{}, capacity)
	c.jobs = make(chan *Delivery, capacity)
	c.outcomes = make(chan outcome, capacity)
	c.draining = make(chan struct{})
	var fetchCtx, handlerCtx, bgCtx context.Context
	fetchCtx, c.cancels[0] = context.WithCancel(context.Background())
	handlerCtx, c.cancels[1] = context.WithCancel(context.Background())
	bgCtx, c.cancels[2] = context.WithCancel(context.Background())

	c.bgWG.Add(3)
	go func() { defer c.bgWG.Done(); c.heartbeatLoop(bgCtx) }()
	go func() { defer c.bgWG.Done(); c.recoverLoop(bgCtx) }()
	go func() { defer c.bgWG.Done(); c.scheduleLoop(bgCtx) }()
	c.settleWG.Add(1)
	go func() { defer c.settleWG.Done(); c.settleLoop(bgCtx) }()
	c.workWG.Add(c.workers)
	for range c.workers {
		go func() { defer c.workWG.Done(); c.workLoop(handlerCtx) }()
	}
	c.fetchWG.Add(1)
	go func() { defer c.fetchWG.Done(); c.fetchLoop(fetchCtx) }()
	return nil
}

// Stop shuts the pool down gracefully: it stops fetching, returns messages no worker has started
// to the received list, lets running handlers finish for the shutdown timeout, then cancels their
// contexts and returns their messages too. Nothing is dropped: whatever cannot be settled (Redis
// unreachable) keeps its lease and is recovered by another consumer when the lease expires.
func (c *Consumer) Stop() error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return ErrStopped
	}
	c.stopped = true
	started := c.started
	c.mu.Unlock()
	if !started {
		return nil
	}
	deadline := time.Now().Add(c.shutdownTimeout)
	close(c.draining)
	c.cancels[0]() // the fetcher returns after at most one block timeout, then closes jobs
	c.fetchWG.Wait()

	var err error
	if !waitTimeout(&c.workWG, time.Until(deadline)) {
		c.cancels[1]() // handlers see their context end; their messages are released, not retried
		if !waitTimeout(&c.workWG, c.shutdownTimeout/2+time.Second) {
			err = ErrShutdownTimeout
		}
	}
	c.cancels[1]()
	if err == nil {
		close(c.outcomes)
		// The settler gets the rest of the shutdown time (at least a second) to reach Redis.
		if !waitTimeout(&c.settleWG, max(time.Until(deadline), time.Second)) {
			c.cancels[2]()
			c.settleWG.Wait()
		}
	}
	c.cancels[2]()
	c.settleWG.Wait()
	if err != nil {
		c.releaseAll() // handlers still running: hand their messages back, their results will be refused
	}
	c.bgWG.Wait()
	return err
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
