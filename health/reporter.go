package health

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/metrics"
)

const (
	// logExpiry is Node Hydra's one-week expiry of the health log, refreshed with every snapshot.
	logExpiry = 7 * 24 * time.Hour
	// shutdownTTL is what Node leaves the health key on shutdown: it vanishes 3 s later.
	shutdownTTL = 3 * time.Second
)

// Reporter writes an instance's health snapshot every interval. Node Hydra writes it every 5 s with a
// 3 s TTL, so the key is missing 40% of the time; a Reporter's TTL always exceeds its interval.
type Reporter struct {
	redis     goredis.UniversalClient
	service   string
	instance  string
	key       string // the health key
	logKey    string // the health log, whose expiry every write refreshes
	interval  time.Duration
	ttl       time.Duration
	checker   *Checker
	logger    log.Logger
	now       func() time.Time
	hostName  string
	err       error // invalid options, joined
	closeWait time.Duration
	mx        *metrics.Health

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// NewReporter validates its arguments and options, writes a first snapshot for the instance of
// service registered under instance (the registrar's instance ID) and writes one every interval
// until Close. Keys, clock and logger are the client's; failures to write (Redis unreachable) are
// logged, never returned, and the snapshot is back with the first round after Redis is: like a
// registrar, a Reporter does not keep a service from starting while Redis is down. Errors wrap
// ErrConfig; an invalid name wraps keyspace.ErrInvalidName too.
func NewReporter(client *hydrakit.Client, service, instance string, options ...ReporterOption) (*Reporter, error) {
	st := fleet.Of(client)
	if st == nil {
		return nil, configError("nil client")
	}
	svc, err := keyspace.ValidateService(service)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := keyspace.ValidateInstance(instance); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	r := &Reporter{
		redis:     st.Redis,
		service:   svc,
		instance:  instance,
		key:       st.Keys.Health(svc, instance),
		logKey:    st.Keys.HealthLog(svc, instance),
		interval:  defaultInterval,
		now:       st.Now,
		closeWait: closeTimeout,
		mx:        &st.Metrics.Health,
		done:      make(chan struct{}),
	}
	for _, o := range options {
		if o == nil {
			r.fail(configError("nil ReporterOption"))
			continue
		}
		o(r)
	}
	if r.err != nil {
		return nil, r.err
	}
	r.ttl = reporterTTL(r.interval)
	r.hostName, _ = os.Hostname()
	r.logger = log.With(st.Logger, "component", "health", "service", r.service, "instance", r.instance)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.round(ctx)
	go r.loop(ctx)
	return r, nil
}

// round writes one snapshot, bounded by the interval so that a hung check or Redis never piles
// rounds up, and logs a failure.
func (r *Reporter) round(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, r.interval)
	defer cancel()
	if _, err := r.Report(rctx); err != nil && ctx.Err() == nil {
		_ = r.logger.Log("msg", "health report failed", "err", err)
	}
}

func (r *Reporter) loop(ctx context.Context) {
	defer close(r.done)
	ticker := time.NewTicker(r.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			r.round(ctx)
		}
	}
}

// Close ends reporting (a round in progress is cancelled), waits for the reporting goroutine to exit
// and leaves the health key to expire in 3 s, as Node Hydra does on shutdown. It returns the error of
// that last write, which is bounded by 2 s. Close is idempotent: later calls return the first call's
// result. Do not call Report after Close: it would write the key again with its full TTL.
func (r *Reporter) Close() error {
	r.closeOnce.Do(func() {
		r.cancel()
		<-r.done
		ctx, cancel := context.WithTimeout(context.Background(), r.closeWait)
		defer cancel()
		if err := r.redis.Expire(ctx, r.key, shutdownTTL).Err(); err != nil {
			r.closeErr = fmt.Errorf("health: expire the health key at close: %w", err)
		}
	})
	return r.closeErr
}

// snapshot samples the process and runs the checks, without writing anything.
func (r *Reporter) snapshot(ctx context.Context) Snapshot {
	s := sampleProcess(r.now(), r.hostName)
	s.ServiceName = r.service
	s.InstanceID = r.instance
	s.Status = StatusOK
	if r.checker != nil {
		report := r.checker.Run(ctx)
		s.Status, s.Checks = report.Status, report.Checks
	}
	s.UpdatedOn = formatTime(r.now())
	r.observe(s)
	return s
}

// Report takes a snapshot (process figures and the checker's results) and writes it at once, with
// the refresh of the health log's one-week expiry, in one round trip, and returns it. The Reporter
// calls it every interval; call it to publish a change without waiting for the next round.
func (r *Reporter) Report(ctx context.Context) (Snapshot, error) {
	s := r.snapshot(ctx)
	body, err := json.Marshal(s)
	if err != nil {
		return s, fmt.Errorf("health: encode snapshot: %w", err)
	}
	_, err = r.redis.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, r.key, body, r.ttl)
		p.Expire(ctx, r.logKey, logExpiry)
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("health: write snapshot: %w", err)
	}
	return s, nil
}

var _ io.Closer = (*Reporter)(nil) // API check
