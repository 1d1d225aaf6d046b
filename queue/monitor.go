package queue

import (
	"context"
	"fmt"
	"sync"
	"time"

	kitmetrics "github.com/go-kit/kit/metrics"
	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/keyspace"
)

// MaxMonitored bounds the queues one Monitor reads: each costs a round trip per interval and a
// handful of series.
const MaxMonitored = 256

// Monitor reads the lengths of named queues and the ages of their oldest messages into the client's
// metrics (metrics.Queue.Depth and OldestAge) every interval, with one Inspector.Stats round trip
// per queue. The queues are the application's own list: nothing read from Redis adds a series.
type Monitor struct {
	inspector *Inspector
	queues    []monitored
	interval  time.Duration
	logger    log.Logger

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

type monitored struct {
	name  string
	depth [4]kitmetrics.Gauge // received, in_progress, incomplete, delayed
	age   [2]kitmetrics.Gauge // received, in_progress
}

// MonitorOption configures a Monitor.
type MonitorOption func(*monitorConfig)

type monitorConfig struct {
	interval time.Duration
	err      error
}

// MonitorInterval sets how often the queues are read (default 15 s, a common scrape interval);
// zero or less is refused.
func MonitorInterval(d time.Duration) MonitorOption {
	return func(c *monitorConfig) {
		if d <= 0 {
			c.err = configError("MonitorInterval(%v): must be positive", d)
		}
		c.interval = d
	}
}

// NewMonitor validates its arguments, reads every queue once before it returns, and then reads them
// every interval until Close. Failed reads are logged to the client's logger and leave the gauges as
// they were. Errors wrap ErrConfig (no queue, more than MaxMonitored, an invalid name).
func NewMonitor(client *hydrakit.Client, queues []string, options ...MonitorOption) (*Monitor, error) {
	st := fleet.Of(client)
	if st == nil {
		return nil, configError("nil client")
	}
	if len(queues) == 0 || len(queues) > MaxMonitored {
		return nil, configError("%d queues: between 1 and %d", len(queues), MaxMonitored)
	}
	cfg := monitorConfig{interval: 15 * time.Second}
	for _, o := range options {
		if o == nil {
			return nil, configError("nil MonitorOption")
		}
		o(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	inspector, err := NewInspector(client)
	if err != nil {
		return nil, err
	}
	set := &st.Metrics.Queue
	m := &Monitor{inspector: inspector, interval: cfg.interval, done: make(chan struct{}),
		logger: log.With(st.Logger, "component", "queue")}
	for _, q := range queues {
		name, err := keyspace.ValidateService(q)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		mq := monitored{name: name}
		for i, list := range []string{"received", "in_progress", "incomplete", "delayed"} {
			mq.depth[i] = set.Depth.With("queue", name, "list", list)
			if i < len(mq.age) {
				mq.age[i] = set.OldestAge.With("queue", name, "list", list)
			}
		}
		m.queues = append(m.queues, mq)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.read(ctx)
	go m.loop(ctx)
	return m, nil
}

// read reads every queue once, each within the interval.
func (m *Monitor) read(ctx context.Context) {
	for _, q := range m.queues {
		rctx, cancel := context.WithTimeout(ctx, m.interval)
		s, err := m.inspector.Stats(rctx, q.name)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				m.logger.Log("msg", "queue stats failed", "queue", q.name, "err", err)
			}
			continue
		}
		for i, n := range []int64{s.Received, s.InProgress, s.Incomplete, s.Delayed} {
			q.depth[i].Set(float64(n))
		}
		q.age[0].Set(s.OldestReceived.Seconds())
		q.age[1].Set(s.OldestInProgress.Seconds())
	}
}

func (m *Monitor) loop(ctx context.Context) {
	defer close(m.done)
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.read(ctx)
		}
	}
}

// Close stops the Monitor and waits for its goroutine (a read in progress is cancelled). It is
// idempotent.
func (m *Monitor) Close() error {
	m.closeOnce.Do(func() {
		m.cancel()
		<-m.done
	})
	return nil
}
