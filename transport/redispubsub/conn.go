package redispubsub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/internal/trust"
	"github.com/hydrakit/hydrakit/internal/wait"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub/internal/conninfo"
	"github.com/hydrakit/hydrakit/umf"
)

// Conn is one service instance's messaging connection: ONE Redis subscription receiving both the
// service channel (broadcasts) and the instance channel (direct messages and replies), a dispatcher
// to handlers by route, and the table of requests waiting for their reply. On a Redis Cluster it
// subscribes with SSUBSCRIBE and sends with SPUBLISH (docs/wire.md). It watches its subscription (one
// probe a second, docs/transport.md) and subscribes anew when the connection is lost or silent, or
// when a failover moved its client to another node. Create it before the instance announces its
// presence, so that no message sent to it is lost; Close it after the presence is gone.
//
// Each handler runs on the goroutine that read its message, at most ConnConcurrency at once, after
// another goroutine has taken over reading; a message arriving while all slots are busy is dropped,
// counted as Busy and answered with a 503 error reply (ErrBusy).
//
// With the client's signing keys (hydrakit.WithSigning) everything the Conn sends is signed; with
// hydrakit.WithRequiredSignatures every message and reply it receives must carry a valid signature and
// a ts within trust's 2-minute replay window, or it is dropped and counted as Forged. A reply completes
// a request only when it comes from the instance the request was sent to (docs/transport.md, "Trust").
type Conn struct {
	hk       *hydrakit.Client
	client   goredis.UniversalClient
	from     string // iid@svc:/, the reply address of every request
	service  string // svc, lower-cased as registered
	keys     keyspace.Scheme
	channels [2]string
	sharded  bool // a Redis Cluster: SSUBSCRIBE and SPUBLISH on hash-tagged channels
	pub      *batcher
	logger   log.Logger
	disc     *discovery
	lookups  *lookups // service addresses named by the network (replies), and past MaxFollowed
	signing  *trust.Keys
	now      func() time.Time
	tr       connTrace

	refusals    chan refusal // error replies waiting for the refuser
	replyTokens tokens       // ConnErrorReplyRate

	maxPending  int
	maxSize     int
	probe       time.Duration
	closeGrace  time.Duration
	concurrency chan struct{}

	seen recentMIDs // mids handled lately: a message delivered twice runs once

	psMu sync.Mutex
	ps   *goredis.PubSub // nil once closed, and between a kick and the next subscription
	gen  uint64          // counts subscriptions, so that a kick never hits a newer one than it meant

	lmu       sync.Mutex
	listeners []listener // run after every resubscription

	wake  chan struct{} // pokes the monitor
	reads atomic.Uint64 // payloads and confirmations read, for the monitor's silence check
	bg    sync.WaitGroup

	hmu      sync.RWMutex
	routes   map[string]Handler
	fallback Handler

	channelCache channelCache

	pmu     sync.Mutex
	pending map[string]*call
	up      bool // subscribed: replies can arrive
	closed  bool
	calls   sync.Pool

	ctx       context.Context // handlers' base context, cancelled by Close
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	stats     counters
	mx        *connMetrics

	workers sync.WaitGroup // every reading or handling goroutine, see worker
	turn    chan struct{}  // passes the reader role to a parked worker
	idle    atomic.Int32   // parked workers

	lastDropLog atomic.Int64 // unix ns of the last "dropped" log line
}

func init() {
	conninfo.Client = func(c any) *hydrakit.Client {
		if conn, ok := c.(*Conn); ok && conn != nil {
			return conn.hk
		}
		return nil
	}
	conninfo.Ready = func(c any) error { return c.(*Conn).ready() }
	conninfo.OnResubscribe = func(c any, f func()) func() { return c.(*Conn).onResubscribe(f) }
	conninfo.CallerSide = func(err error) bool {
		var pe *publishError
		return errors.Is(err, ErrConnectionLost) || errors.Is(err, ErrClosed) || errors.Is(err, ErrTooManyPending) ||
			errors.As(err, &pe)
	}
}

// Handler handles one incoming UMF message; ctx is cancelled when the Conn closes. A Subscriber's
// ServeMessage is one; so is any function with its signature, and a wrapper around one adds what
// runs before or after every message (a parent context, a finalizer).
type Handler func(ctx context.Context, c *Conn, msg *umf.Message)

// call is a request waiting for its reply; service and instance name whom it was sent to (instance
// "" for a service address), the only senders whose reply completes it.
type call struct {
	ch                chan result
	service, instance string
}

type result struct {
	msg *umf.Message
	err error
}

// NewConn subscribes to the service and instance channels of service/instanceID and returns once
// Redis has confirmed both subscriptions. The keyspace, the logger, the clock and the signing keys
// are the client's. The Conn sends to a service address (svc:/route, no instance) that the
// application names through discovery that it starts on first use for each service (an sd/redis
// Instancer made with the client, for at most MaxFollowed services) and stops at Close; a reply to a
// service address (a request's frm or via) through a bounded, expiring cache of plain reads
// (MaxLookups, LookupTTL).
//
// Arguments and options are validated first: errors wrap ErrConfig, and an invalid service or
// instance name keyspace.ErrInvalidName too. Close the Conn before the client.
func NewConn(client *hydrakit.Client, service, instanceID string, options ...ConnOption) (*Conn, error) {
	st := fleet.Of(client)
	if st == nil {
		return nil, fmt.Errorf("%w: nil client", ErrConfig)
	}
	svc, err := keyspace.ValidateService(service)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := keyspace.ValidateInstance(instanceID); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	cfg := defaultConnConfig()
	for _, o := range options {
		if o == nil {
			cfg.refuse("nil ConnOption")
			continue
		}
		o(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	if cc, ok := st.Redis.(*goredis.ClusterClient); ok && cc.Options().ReadOnly {
		// Subscriptions would sit on replicas, whose subscribers SPUBLISH on the master does not
		// count: every delivery count would be a lie.
		return nil, fmt.Errorf("%w: a cluster client with ReadOnly, RouteByLatency or RouteRandomly subscribes on replicas; give the Conn a client without", ErrConfig)
	}
	logger := log.With(st.Logger, "component", "redispubsub", "service", svc, "instance", instanceID)
	c := &Conn{
		hk: client, client: st.Redis, from: instanceID + "@" + svc + ":/", service: svc, keys: st.Keys, logger: logger,
		sharded: st.Cluster, signing: st.Signing, now: st.Now, tr: newConnTrace(st, svc),
		maxPending: cfg.maxPending, maxSize: cfg.maxSize, probe: cfg.probe, closeGrace: cfg.closeGrace,
		concurrency: make(chan struct{}, cfg.concurrency),
		routes:      map[string]Handler{},
		pending:     map[string]*call{},
		done:        make(chan struct{}),
		turn:        make(chan struct{}),
		wake:        make(chan struct{}, 1),
		refusals:    make(chan refusal, ErrorReplyQueue),
		replyTokens: tokens{rate: float64(cfg.errorReplyRate)},
	}
	read := cfg.lookup
	if read == nil {
		read = func(ctx context.Context, service string) ([]string, error) {
			if _, err := keyspace.ValidateService(service); err != nil {
				return nil, err
			}
			// Every registered service has its record (Node's and ours): one EXISTS spares a name
			// nobody runs the nodes-hash scan that finding Node's instances takes.
			if n, err := c.client.Exists(ctx, c.keys.Service(service)).Result(); err != nil || n == 0 {
				return nil, err
			}
			live, err := sdredis.ListInstances(ctx, client, service)
			ids := make([]string, len(live))
			for i, in := range live {
				ids[i] = in.ID
			}
			return ids, err
		}
	}
	c.lookups = newLookups(read, c.now)
	c.disc = newDiscovery(client, log.With(st.Logger, "component", "redispubsub"), c.lookups) // sd/redis adds the service
	if cfg.newInstancer != nil {
		c.disc.newInstancer = cfg.newInstancer
	}
	c.calls.New = func() any { return &call{ch: make(chan result, 1)} }
	c.pub = newBatcher(c.client, c.sharded, cfg.pubTimeout, cfg.maxBatch)
	c.channels = [2]string{c.keys.ServiceChannel(svc), c.keys.InstanceChannel(svc, instanceID)}
	c.bindMetrics(&st.Metrics.Transport)

	ctx, cancel := context.WithTimeout(context.Background(), cfg.subTimeout)
	defer cancel()
	ps, err := c.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("redispubsub: subscribe %s: %w", c.channels[1], err)
	}
	c.ps, c.gen, c.up = ps, 1, true
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.workers.Add(1)
	go c.worker()
	c.bg.Add(2)
	go c.monitor()
	go c.refuser()
	return c, nil
}

// Address is the Conn's reply address, <iid>@<svc>:/: the frm of every request it sends, and the frm
// to give a message sent with Send or Broadcast when its receiver should be able to message this Conn
// back (such messages go to the Conn's handlers; a reply, with rmid, only ever completes a Request).
func (c *Conn) Address() string { return c.from }

// Handle registers h for messages whose to has the route path (e.g. "/v1/add"; a [verb] prefix in
// to is ignored). A later registration for the same route replaces the earlier one; a nil h removes
// it.
func (c *Conn) Handle(route string, h Handler) {
	c.hmu.Lock()
	if h == nil {
		delete(c.routes, route)
	} else {
		c.routes[route] = h
	}
	c.hmu.Unlock()
}

// HandleDefault registers h for the messages that match no route (nil: none; they are dropped,
// counted as Unhandled and answered with a 404 error reply). Dispatch on typ, as Node services do, belongs here: switch on msg.Type.
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

// Close stops receiving, fails the requests still waiting with ErrClosed, stops the Conn's discovery
// and its monitor, cancels the handlers' context and waits until the reader, the monitor and every
// handler have returned. A handler that ignores its context is waited for 10 s; Close then returns an
// error wrapping context.DeadlineExceeded and leaves it running. Close is idempotent: later calls
// return the first call's result. A handler must not call it (it would wait for itself): start the
// shutdown from another goroutine.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *Conn) close() error {
	c.pmu.Lock()
	c.closed = true
	c.failPendingLocked(ErrClosed)
	c.pmu.Unlock()
	c.psMu.Lock()
	close(c.done)
	ps := c.ps
	c.ps = nil
	c.psMu.Unlock()
	c.cancel()
	var err error
	if ps != nil {
		err = ps.Close()
	}
	c.bg.Wait()
	c.disc.close()
	if !wait.Timeout(&c.workers, c.closeGrace) {
		c.tr.live.endAll() // exported, though their handlers have not returned
		err = errors.Join(err, fmt.Errorf("redispubsub: close: handlers still running %v after their context ended: %w",
			c.closeGrace, context.DeadlineExceeded))
	}
	if !c.pub.close(c.closeGrace) {
		err = errors.Join(err, fmt.Errorf("redispubsub: close: PUBLISH pipeline still running after %v: %w",
			c.closeGrace, context.DeadlineExceeded))
	}
	return err
}

// failPendingLocked fails every waiting request; c.pmu is held.
func (c *Conn) failPendingLocked(err error) {
	for mid, call := range c.pending {
		delete(c.pending, mid)
		call.ch <- result{err: err}
	}
}
