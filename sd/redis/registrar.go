package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/keyspace"
)

var _ sd.Registrar = (*Registrar)(nil) // API check

// Registrar registers one instance exactly as Node Hydra 1.9.3 does and keeps it registered until
// Deregister. It also announces joins and leaves to Instancers, and runs the fleet's janitor.
type Registrar struct {
	client   goredis.UniversalClient
	keys     keyspace.Scheme
	svc      Service
	logger   log.Logger
	interval time.Duration
	ttl      time.Duration
	grace    time.Duration
	now      func() time.Time

	janitorTicks <-chan time.Time // tests: when the janitor sweeps, instead of every grace/2

	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup

	routesMu sync.Mutex
	routes   []string // as last given to RegisterRoutes; nil before
}

// NewRegistrar validates the service and options and fills in the service's defaults as Node's init
// does (see Service); nothing is written before Register. Errors wrap ErrConfig (and
// keyspace.ErrInvalidName for an invalid name or ID).
func NewRegistrar(client *hydrakit.Client, service Service, logger log.Logger, options ...RegistrarOption) (*Registrar, error) {
	f := fleet.Of(client)
	if f == nil {
		return nil, fmt.Errorf("%w: nil client", ErrConfig)
	}
	r := &Registrar{
		client: f.Redis, keys: f.Keys, svc: service,
		interval: DefaultRefreshInterval, ttl: DefaultTTL, grace: DefaultJanitorGrace, now: f.Now,
	}
	for _, o := range options {
		o(r)
	}
	var err error
	if r.svc, err = service.withDefaults(); err != nil {
		return nil, err
	}
	switch {
	case r.interval <= 0:
		return nil, fmt.Errorf("%w: refresh interval %v", ErrConfig, r.interval)
	case r.ttl <= 2*r.interval:
		return nil, fmt.Errorf("%w: TTL %v must exceed two refresh intervals (%v)", ErrConfig, r.ttl, 2*r.interval)
	case r.grace < 0 || r.grace != 0 && r.grace < MinJanitorGrace:
		return nil, fmt.Errorf("%w: janitor grace %v is below %v", ErrConfig, r.grace, MinJanitorGrace)
	}
	if logger == nil {
		logger = log.NewNopLogger()
	}
	r.logger = log.With(logger, "service", r.svc.Name, "instance", r.svc.ID)
	return r, nil
}

// ID is the registered instance ID.
func (r *Registrar) ID() string { return r.svc.ID }

// Register writes the service record, the instance's presence and nodes entry and the routes given
// to RegisterRoutes (if it was called first), announces the join and starts refreshing. It is idempotent. When Redis cannot be reached it logs and keeps trying in the
// background: the instance appears as soon as Redis answers.
func (r *Registrar) Register() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	err := r.announce(ctx)
	if err != nil {
		r.logger.Log("msg", "register failed; retrying", "err", err)
	} else {
		r.logger.Log("msg", "registered")
	}
	r.wg.Add(1)
	go r.loop(ctx, err == nil)
	if r.grace > 0 {
		j := &janitor{client: r.client, keys: r.keys, owner: r.svc.ID, grace: r.grace, now: r.now, logger: r.logger, ticks: r.janitorTicks}
		r.wg.Add(1)
		go func() { defer r.wg.Done(); j.run(ctx) }()
	}
}

// Deregister stops refreshing, waits for the background work to end, then removes the presence key
// at once and announces the leave. The service record, routes and nodes entry stay: other instances
// share them, and the janitor removes the entry after its grace period.
func (r *Registrar) Deregister() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
	r.cancel = nil
	ctx, cancel := context.WithTimeout(context.Background(), r.interval+time.Second)
	defer cancel()
	pipe := r.client.Pipeline()
	pipe.Del(ctx, r.keys.Presence(r.svc.Name, r.svc.ID))
	pipe.SRem(ctx, indexKey(r.keys, r.svc.Name), r.svc.ID)
	pipe.Publish(ctx, eventsChannel(r.keys, r.svc.Name), r.event("leave"))
	if _, err := pipe.Exec(ctx); err != nil {
		r.logger.Log("msg", "deregister failed; presence expires within its TTL", "err", err)
		return
	}
	r.logger.Log("msg", "deregistered")
}

func (r *Registrar) loop(ctx context.Context, healthy bool) {
	defer r.wg.Done()
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		existed, err := r.refresh(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if healthy {
				r.logger.Log("msg", "refresh failed; re-registering when Redis answers", "err", err)
			}
			healthy = false
		case !healthy || !existed:
			// After an outage, a pause longer than the TTL or a Redis that lost its data, the service
			// record may be gone too, and watchers should hear of the instance at once.
			if err := r.announce(ctx); err != nil {
				healthy = false
				continue
			}
			reason := "presence had expired"
			if !healthy {
				reason = "Redis answers again"
			}
			r.logger.Log("msg", "re-registered", "reason", reason)
			healthy = true
		}
	}
}

// announce writes the service record, refreshes presence, writes the routes (if RegisterRoutes was
// called) and announces the join.
func (r *Registrar) announce(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.interval+time.Second)
	defer cancel()
	record, err := json.Marshal(serviceRecord{ServiceName: r.svc.Name, Type: r.svc.Type, RegisteredOn: r.now().UTC().Format(timeLayout)})
	if err != nil {
		return err
	}
	if err := r.client.Set(ctx, r.keys.Service(r.svc.Name), record, 0).Err(); err != nil {
		return fmt.Errorf("redis: write service record: %w", err)
	}
	if _, err := r.refresh(ctx); err != nil {
		return err
	}
	if err := r.writeRoutes(ctx); err != nil {
		return err
	}
	if err := r.client.Publish(ctx, eventsChannel(r.keys, r.svc.Name), r.event("join")).Err(); err != nil {
		return fmt.Errorf("redis: announce join: %w", err)
	}
	return nil
}

// refresh pipelines what Node's _updatePresence writes, plus the index entry, and reports whether the
// presence key still existed (SET ... GET returns its old value, nil when there was none). Each
// command's error is checked: the pipeline's first error may be that nil while a later write failed
// (on a cluster, the shard holding the nodes hash may refuse writes that the service's shard took).
func (r *Registrar) refresh(ctx context.Context) (existed bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.interval)
	defer cancel()
	entry, err := json.Marshal(nodeEntry{
		ServiceName: r.svc.Name, ServiceDescription: r.svc.Description, Version: r.svc.Version,
		InstanceID: r.svc.ID, UpdatedOn: r.now().UTC().Format(timeLayout), ProcessID: flexibleInt(os.Getpid()),
		IP: r.svc.IP, Port: flexibleInt(r.svc.Port), HostName: r.svc.HostName,
	})
	if err != nil {
		return false, err
	}
	pipe := r.client.Pipeline()
	old := pipe.SetArgs(ctx, r.keys.Presence(r.svc.Name, r.svc.ID), r.svc.ID, goredis.SetArgs{TTL: r.ttl, Get: true})
	hset := pipe.HSet(ctx, r.keys.Nodes(), r.svc.ID, entry)
	sadd := pipe.SAdd(ctx, indexKey(r.keys, r.svc.Name), r.svc.ID)
	_, _ = pipe.Exec(ctx) // the errors that count are each command's
	for _, c := range []struct {
		what string
		err  error
	}{{"presence", old.Err()}, {"nodes entry", hset.Err()}, {"index", sadd.Err()}} {
		if c.err != nil && !errors.Is(c.err, goredis.Nil) {
			return false, fmt.Errorf("redis: refresh %s: %w", c.what, c.err)
		}
	}
	return old.Err() == nil, nil
}

// serviceRecord is the :service key, as Node's registerService writes it.
type serviceRecord struct {
	ServiceName  string `json:"serviceName"`
	Type         string `json:"type,omitempty"`
	RegisteredOn string `json:"registeredOn"`
}

// event is the payload of a join or leave announcement; watchers only need to know that something
// changed, the instance ID and kind help whoever else listens.
func (r *Registrar) event(kind string) string {
	return `{"event":"` + kind + `","instanceID":"` + r.svc.ID + `"}`
}
