package health

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/keyspace"
)

const (
	// logExpiry is Node Hydra's one-week expiry of the health log, refreshed with every snapshot.
	logExpiry = 7 * 24 * time.Hour
	// shutdownTTL is what Node leaves the health key on shutdown: it vanishes 3 s later.
	shutdownTTL = 3 * time.Second
	// shutdownTimeout bounds the last write in Stop when Redis is slow or gone.
	shutdownTimeout = 2 * time.Second
)

// Reporter writes an instance's health snapshot every interval. Node Hydra writes it every 5 s with a
// 3 s TTL, so the key is missing 40% of the time; a Reporter's TTL always exceeds its interval.
type Reporter struct {
	client   goredis.UniversalClient
	service  string
	instance string
	keys     keyspace.Scheme
	interval time.Duration
	ttl      time.Duration
	checker  *Checker
	logger   log.Logger
	now      func() time.Time
	hostName string

	mu      sync.Mutex
	started bool
	stopped bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewReporter returns a Reporter for the instance of service registered under instance (the
// registrar's instance ID). Call Start to begin reporting and Stop on shutdown.
func NewReporter(client goredis.UniversalClient, service, instance string, options ...ReporterOption) (*Reporter, error) {
	svc, err := keyspace.ValidateService(service)
	if err != nil {
		return nil, err
	}
	if err := keyspace.ValidateInstance(instance); err != nil {
		return nil, err
	}
	r := &Reporter{
		client:   client,
		service:  svc,
		instance: instance,
		keys:     keyspace.Default,
		interval: 5 * time.Second,
		logger:   log.NewNopLogger(),
		now:      time.Now,
		done:     make(chan struct{}),
	}
	for _, o := range options {
		o(r)
	}
	if r.interval <= 0 {
		return nil, fmt.Errorf("%w: interval %v", ErrInvalidOption, r.interval)
	}
	if r.ttl == 0 {
		r.ttl = defaultTTL(r.interval)
	}
	if r.ttl <= r.interval {
		return nil, fmt.Errorf("%w: TTL %v must exceed the interval %v, or the health key goes missing between writes",
			ErrInvalidOption, r.ttl, r.interval)
	}
	r.hostName, _ = os.Hostname()
	r.logger = log.With(r.logger, "service", r.service, "instance", r.instance)
	return r, nil
}

// defaultTTL outlives one missed write plus slack for a slow Redis round trip.
func defaultTTL(interval time.Duration) time.Duration { return 2*interval + 2*time.Second }

// Start writes a first snapshot and then one every interval, from a goroutine Stop waits for.
// Calling Start again, or after Stop, does nothing.
func (r *Reporter) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped {
		return
	}
	r.started = true
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.loop(ctx)
}

func (r *Reporter) loop(ctx context.Context) {
	defer close(r.done)
	ticker := time.NewTicker(r.interval)
	defer ticker.Stop()
	for {
		// Each round is bounded by the interval so a hung check or Redis never piles rounds up.
		rctx, cancel := context.WithTimeout(ctx, r.interval)
		if _, err := r.Report(rctx); err != nil && ctx.Err() == nil {
			_ = r.logger.Log("msg", "health report failed", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Stop ends reporting, waits for the reporting goroutine to exit, and leaves the health key to expire
// in 3 s as Node Hydra does on shutdown. It returns the error of that last write, if any.
func (r *Reporter) Stop() error {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return nil
	}
	r.stopped = true
	started := r.started
	r.mu.Unlock()
	if started {
		r.cancel()
		<-r.done
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	return r.client.Expire(ctx, r.keys.Health(r.service, r.instance), shutdownTTL).Err()
}

// Snapshot samples the process and runs the checks, without writing anything.
func (r *Reporter) Snapshot(ctx context.Context) Snapshot {
	now := r.now()
	s := sampleProcess(now, r.hostName)
	s.ServiceName = r.service
	s.InstanceID = r.instance
	s.Status = StatusOK
	if r.checker != nil {
		report := r.checker.Run(ctx)
		s.Status, s.Checks = report.Status, report.Checks
	}
	s.UpdatedOn = formatTime(r.now())
	return s
}

// Report takes a snapshot and writes it, with the refresh of the health log's one-week expiry, in one
// round trip. The loop started by Start calls it every interval; call it directly to report at once.
func (r *Reporter) Report(ctx context.Context) (Snapshot, error) {
	s := r.Snapshot(ctx)
	body, err := json.Marshal(s)
	if err != nil {
		return s, err
	}
	_, err = r.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, r.keys.Health(r.service, r.instance), body, r.ttl)
		p.Expire(ctx, r.keys.HealthLog(r.service, r.instance), logExpiry)
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("health: write snapshot: %w", err)
	}
	return s, nil
}
