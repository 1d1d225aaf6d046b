package redispubsub

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

// Conn is one service instance's messaging connection: ONE Redis subscription receiving both the
// service channel (broadcasts) and the instance channel (direct messages and replies), a dispatcher
// to handlers by route or typ, and the table of requests waiting for their reply. Create it before
// the instance announces its presence, so that no message sent to it is lost; Close it after the
// presence is gone.
//
// Each handler runs on the goroutine that read its message, at most ConnConcurrency at once; a
// message arriving while all slots are busy is dropped and counted as Rejected. Under load another
// goroutine takes over reading before the handler runs; on an idle Conn it does so only once the
// handler has run for ConnHandOffAfter or waits for a reply on this Conn, so a slow handler holds up
// other messages and replies for at most that long.
type Conn struct {
	client   goredis.UniversalClient
	service  string
	instance string
	from     string // iid@svc:/, the reply address of every request
	keys     keyspace.Scheme
	channels [2]string
	ps       *goredis.PubSub
	pub      *batcher
	logger   log.Logger
	lister   InstanceLister

	maxPending  int
	maxSize     int
	health      time.Duration
	subTimeout  time.Duration
	pubTimeout  time.Duration
	maxBatch    int
	concurrency chan struct{}

	hmu      sync.RWMutex
	routes   map[string]Handler
	types    map[string]Handler
	fallback Handler

	channelCache channelCache

	pmu      sync.Mutex
	pending  map[string]*call
	up       bool // subscribed: replies can arrive
	closed   bool
	calls    sync.Pool
	expiry   *time.Timer // fails the requests past their deadline, see expire
	expiryAt time.Time   // when expiry fires; zero when it is not armed

	ctx    context.Context // handlers' base context, cancelled by Close
	cancel context.CancelFunc
	done   chan struct{}
	stats  counters

	workers sync.WaitGroup // every reading or handling goroutine, see worker
	turn    chan struct{}  // passes the reader role to a parked worker
	idle    atomic.Int32   // parked workers

	// Inline handling, see worker.
	handOffAfter  time.Duration
	idleRead      time.Duration // see defaultIdleRead
	episodes      atomic.Uint64 // numbers the inline runs
	inline        atomic.Uint64 // the inline run holding the reader role, 0 for none
	inlineSince   atomic.Int64  // its start, ns since epoch
	epoch         time.Time     // a monotonic origin for inlineSince
	watchdog      *time.Timer
	watchdogArmed atomic.Bool

	lastDropLog atomic.Int64 // unix ns of the last "dropped" log line

	// Reader state, touched only by the worker that reads.
	awaitingPong bool
	backoff      time.Duration
}

// Handler handles one incoming UMF message. ctx is cancelled when the Conn closes.
type Handler interface {
	ServeMessage(ctx context.Context, c *Conn, msg *umf.Message)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, c *Conn, msg *umf.Message)

// ServeMessage calls f.
func (f HandlerFunc) ServeMessage(ctx context.Context, c *Conn, msg *umf.Message) { f(ctx, c, msg) }

// InstanceLister lists the live instance IDs of a service. A Conn needs one only to send to a
// service address without an instance (svc:/route), as Node's sendMessage does, and to reply to such
// an address. sd/redis provides one.
type InstanceLister interface {
	Instances(ctx context.Context, service string) ([]string, error)
}

type call struct {
	ch       chan result
	deadline time.Time
}

type result struct {
	msg *umf.Message
	err error
}

// NewConn subscribes to the service and instance channels of service/instanceID and returns once
// Redis has confirmed both subscriptions. The client stays the caller's: Close does not close it.
func NewConn(client goredis.UniversalClient, service, instanceID string, options ...ConnOption) (*Conn, error) {
	svc, err := keyspace.ValidateService(service)
	if err != nil {
		return nil, err
	}
	if err := keyspace.ValidateInstance(instanceID); err != nil {
		return nil, err
	}
	c := &Conn{
		client: client, service: svc, instance: instanceID,
		from:       instanceID + "@" + svc + ":/",
		keys:       keyspace.Default,
		logger:     log.NewNopLogger(),
		maxPending: 10000, maxSize: 1 << 20, maxBatch: 128,
		health: 3 * time.Second, subTimeout: 5 * time.Second, pubTimeout: 5 * time.Second,
		handOffAfter: 5 * time.Millisecond, idleRead: defaultIdleRead, epoch: time.Now(),
		concurrency: make(chan struct{}, 1024),
		routes:      map[string]Handler{}, types: map[string]Handler{},
		pending: map[string]*call{},
		done:    make(chan struct{}),
		turn:    make(chan struct{}),
		backoff: minBackoff,
	}
	for _, o := range options {
		o(c)
	}
	c.logger = log.With(c.logger, "service", svc, "instance", instanceID)
	c.calls.New = func() any { return &call{ch: make(chan result, 1)} }
	c.pub = newBatcher(client, c.pubTimeout, c.maxBatch)
	c.channels = [2]string{c.keys.ServiceChannel(svc), c.keys.InstanceChannel(svc, instanceID)}

	ctx, cancel := context.WithTimeout(context.Background(), c.subTimeout)
	defer cancel()
	c.ps = client.Subscribe(ctx, c.channels[:]...)
	if err := c.awaitSubscribed(ctx); err != nil {
		_ = c.ps.Close()
		return nil, fmt.Errorf("redispubsub: subscribe %s: %w", c.channels[1], err)
	}
	c.up = true
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.watchdog = time.AfterFunc(time.Hour, c.watch)
	c.watchdog.Stop()
	c.workers.Add(1)
	go c.worker()
	return c, nil
}

// awaitSubscribed reads until Redis has confirmed every channel.
func (c *Conn) awaitSubscribed(ctx context.Context) error {
	for {
		m, err := c.ps.Receive(ctx)
		if err != nil {
			return err
		}
		if s, ok := m.(*goredis.Subscription); ok && s.Kind == "subscribe" && s.Count == len(c.channels) {
			return nil
		}
	}
}

// Service is the Conn's service name; InstanceID its instance ID.
func (c *Conn) Service() string    { return c.service }
func (c *Conn) InstanceID() string { return c.instance }

// Address is the Conn's reply address, <iid>@<svc>:/, the frm of every request it sends.
func (c *Conn) Address() string { return c.from }

// Handle registers h for messages whose to has the route path (e.g. "/v1/add"; a [verb] prefix in
// to is ignored). A later registration for the same route replaces the earlier one.
func (c *Conn) Handle(route string, h Handler) {
	c.hmu.Lock()
	c.routes[route] = h
	c.hmu.Unlock()
}

// HandleType registers h for messages with typ t that match no route.
func (c *Conn) HandleType(t string, h Handler) {
	c.hmu.Lock()
	c.types[t] = h
	c.hmu.Unlock()
}

// HandleDefault registers h for messages that match no route and no typ.
func (c *Conn) HandleDefault(h Handler) {
	c.hmu.Lock()
	c.fallback = h
	c.hmu.Unlock()
}

func (c *Conn) handler(msg *umf.Message) Handler {
	c.hmu.RLock()
	defer c.hmu.RUnlock()
	if h, ok := c.routes[routeOf(msg.To)]; ok {
		return h
	}
	if h, ok := c.types[msg.Type]; ok && msg.Type != "" {
		return h
	}
	return c.fallback
}

// routeOf returns the route path of a UMF address without allocating: what follows the first ':',
// less a leading [verb].
func routeOf(to string) string {
	for i := 0; i < len(to); i++ {
		if to[i] == ':' {
			r := to[i+1:]
			if len(r) > 0 && r[0] == '[' {
				for j := 1; j < len(r); j++ {
					if r[j] == ']' {
						return r[j+1:]
					}
				}
			}
			return r
		}
	}
	return ""
}

// Close stops receiving, fails the requests still waiting with ErrClosed, cancels the handlers'
// context and waits until the receive loop and every handler have returned (so a handler must not
// call it: start the shutdown from another goroutine).
func (c *Conn) Close() error {
	c.pmu.Lock()
	if c.closed {
		c.pmu.Unlock()
		return nil
	}
	c.closed = true
	c.failPendingLocked(ErrClosed)
	if c.expiry != nil {
		c.expiry.Stop()
	}
	c.pmu.Unlock()
	c.watchdog.Stop()
	close(c.done)
	c.cancel()
	err := c.ps.Close()
	c.workers.Wait()
	return err
}

// failPendingLocked fails every waiting request; c.pmu is held.
func (c *Conn) failPendingLocked(err error) {
	for mid, call := range c.pending {
		delete(c.pending, mid)
		call.ch <- result{err: err}
	}
}
