package dashboard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/internal/ratelog"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/queue"
)

// ErrConfig is returned by New for an invalid argument or option.
var ErrConfig = errors.New("dashboard: invalid configuration")

// Traffic is a service's cumulative request and error counts at this router; the dashboard turns
// them into rates.
type Traffic struct {
	Service  string
	Requests uint64
	Errors   uint64
}

// Dashboard serves the page, its assets and its event stream. One goroutine reads the fleet and
// builds snapshots; each open event stream is served by its own request's goroutine.
type Dashboard struct {
	client    *hydrakit.Client
	rdb       goredis.UniversalClient
	keys      keyspace.Scheme
	now       func() time.Time
	inspector *queue.Inspector
	cfg       config
	logger    log.Logger
	hub       *hub

	kick   chan struct{} // a live set changed: push a snapshot now
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu   sync.Mutex // guards live, written by the followers' goroutines
	live map[string]liveSet

	// Owned by the snapshot loop.
	followers map[string]*follower
	view      view
	lastPoll  time.Time
}

// New returns a Dashboard reading the fleet through client, and starts following it. Close stops it.
func New(client *hydrakit.Client, options ...DashboardOption) (*Dashboard, error) {
	state := fleet.Of(client)
	if state == nil {
		return nil, fmt.Errorf("%w: nil client", ErrConfig)
	}
	cfg := config{
		interval: DefaultInterval, resync: DefaultResync, writeTimeout: DefaultWriteTimeout,
		maxServices: DefaultMaxServices, maxStreams: DefaultMaxStreams, logger: state.Logger,
	}
	cfg.host, _ = os.Hostname()
	for _, o := range options {
		o(&cfg)
	}
	switch {
	case cfg.interval <= 0, cfg.resync <= 0, cfg.writeTimeout <= 0:
		return nil, fmt.Errorf("%w: interval %v, resync %v and write timeout %v must be positive",
			ErrConfig, cfg.interval, cfg.resync, cfg.writeTimeout)
	case cfg.maxServices < 1, cfg.maxStreams < 1:
		return nil, fmt.Errorf("%w: max services %d and max streams %d must be at least 1",
			ErrConfig, cfg.maxServices, cfg.maxStreams)
	case cfg.logger == nil:
		return nil, fmt.Errorf("%w: nil logger", ErrConfig)
	}
	inspector, err := queue.NewInspector(client)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dashboard{
		client: client, rdb: state.Redis, keys: state.Keys, now: state.Now, inspector: inspector, cfg: cfg,
		logger: ratelog.New(log.With(cfg.logger, "component", "dashboard"), 1),
		hub:    newHub(cfg.maxStreams),
		kick:   make(chan struct{}, 1), cancel: cancel, done: make(chan struct{}),
		live: map[string]liveSet{}, followers: map[string]*follower{},
	}
	d.view.init()
	go d.run(ctx)
	return d, nil
}

// run is the snapshot loop: it reads the fleet every interval and whenever a live set changed, and
// fans each snapshot out to the event streams.
func (d *Dashboard) run(ctx context.Context) {
	defer close(d.done)
	defer func() {
		for name, f := range d.followers {
			f.close()
			delete(d.followers, name)
		}
	}()
	tick := time.NewTicker(d.cfg.interval)
	defer tick.Stop()
	d.poll(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			d.poll(ctx)
		case <-d.kick:
			// A new instance: read its nodes entry and health now, but not more often than presence
			// is checked, whatever its entry holds.
			if time.Since(d.lastPoll) >= d.cfg.resync && d.unknownLive() {
				d.poll(ctx)
				continue
			}
			d.publish()
		}
	}
}

// poll reads the fleet's records, follows the services it names, and publishes a snapshot.
func (d *Dashboard) poll(ctx context.Context) {
	d.lastPoll = time.Now()
	ctx, cancel := context.WithTimeout(ctx, max(d.cfg.interval, time.Second))
	defer cancel()
	err := d.read(ctx)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return // closing
	}
	if err != nil {
		d.logger.Log("msg", "reading the fleet failed", "err", err)
	}
	d.view.err = err
	d.publish()
}

// unknownLive reports whether a live instance has no nodes entry in the last read.
func (d *Dashboard) unknownLive() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, set := range d.live {
		for id := range set.ids {
			if _, ok := d.view.nodes[id]; !ok {
				return true
			}
		}
	}
	return false
}

// publish builds a snapshot and sends it to every stream.
func (d *Dashboard) publish() {
	d.mu.Lock()
	snap := d.view.snapshot(d.live, d.routerInfo(), d.now())
	d.mu.Unlock()
	if d.cfg.clients != nil {
		ids := d.cfg.clients()
		snap.Clients.Total = len(ids)
		snap.Clients.IDs = append([]string{}, ids[:min(len(ids), MaxClients)]...)
	}
	d.hub.broadcast(encodeEvent(snap))
}

func (d *Dashboard) routerInfo() RouterInfo {
	return RouterInfo{InstanceID: d.cfg.instanceID, Version: d.cfg.version, Host: d.cfg.host}
}

// Close ends every event stream and stops the dashboard: when it returns, no goroutine of it is left
// and every ServeHTTP streaming events has returned. It may be called more than once.
func (d *Dashboard) Close() error {
	d.once.Do(func() {
		d.cancel()
		<-d.done
		d.hub.close()
	})
	return nil
}
