package health

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/internal/ratelog"
	"github.com/hydrakit/hydrakit/internal/statcount"
	"github.com/hydrakit/hydrakit/keyspace"
)

// logEntries is Node Hydra's MAX_ENTRIES_IN_HEALTH_LOG: the list is trimmed to the newest 64.
const logEntries = 64

// RecorderStats counts a Recorder's entries since it was created.
type RecorderStats struct {
	Written uint64 // entries Redis accepted, drop notices included
	Dropped uint64 // entries lost: buffer full, or a write Redis failed
}

// Recorder is a go-kit log.Logger that copies events of chosen levels into Hydra's flight-recorder
// log (hydra:service:<svc>:<iid>:health:log, newest first, 64 entries, one-week expiry) and passes
// every event on to a next logger. Log never waits for Redis: entries go through a bounded buffer
// (1024 entries) that one goroutine drains; when the buffer is full they are dropped and counted, and
// the next entry written is preceded by one saying how many were lost.
type Recorder struct {
	redis     goredis.UniversalClient
	service   string
	key       string
	next      log.Logger
	logger    log.Logger
	levels    []string
	buffer    int
	timeout   time.Duration
	now       func() time.Time
	processID int
	err       error // invalid options, joined

	queue     chan Entry
	stop      chan struct{}
	done      chan struct{}
	deadline  time.Time // of the flush at Close; set before stop is closed
	flushErr  error     // set by the goroutine before done is closed
	closeOnce sync.Once
	closeErr  error
	closed    atomic.Bool
	unsaid    atomic.Uint64     // drops not yet reported in the log
	dropped   statcount.Counter // also metrics.Recorder.Dropped
	written   statcount.Counter // also metrics.Recorder.Entries
}

var (
	_ log.Logger = (*Recorder)(nil) // API check
	_ io.Closer  = (*Recorder)(nil)
)

// NewRecorder validates its arguments and options and returns a running Recorder for the instance of
// service registered under instance. Keys and entry timestamps are the client's; the recorder's own
// failures (Redis unreachable) go to the client's logger. Close it on shutdown. Errors wrap
// ErrConfig; an invalid name wraps keyspace.ErrInvalidName too.
func NewRecorder(client *hydrakit.Client, service, instance string, options ...RecorderOption) (*Recorder, error) {
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
	r := &Recorder{
		redis:     st.Redis,
		service:   svc,
		key:       st.Keys.HealthLog(svc, instance),
		next:      log.NewNopLogger(),
		levels:    []string{level.ErrorValue().String()},
		buffer:    recorderBuffer,
		timeout:   recorderTimeout,
		now:       st.Now,
		processID: os.Getpid(),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	r.dropped.Metric = st.Metrics.Recorder.Dropped.With("service", svc)
	r.written.Metric = st.Metrics.Recorder.Entries.With("service", svc)
	for _, o := range options {
		if o == nil {
			r.fail(configError("nil RecorderOption"))
			continue
		}
		o(r)
	}
	if r.err != nil {
		return nil, r.err
	}
	r.logger = ratelog.New(log.With(st.Logger, "component", "health", "service", svc, "instance", instance), logBurst)
	r.queue = make(chan Entry, r.buffer)
	go r.run()
	return r, nil
}

// Log queues the event for the health log if its level is recorded, then passes it to the next
// logger and returns that logger's error.
func (r *Recorder) Log(keyvals ...interface{}) error {
	if typ, ok := r.recordedLevel(keyvals); ok && !r.closed.Load() {
		e := Entry{TS: formatTime(r.now()), ServiceName: r.service, Type: typ, ProcessID: r.processID, Msg: message(keyvals)}
		select {
		case r.queue <- e:
		default:
			r.unsaid.Add(1)
			r.dropped.Add(1)
		}
	}
	return r.next.Log(keyvals...)
}

// Stats returns the counts of written and dropped entries.
func (r *Recorder) Stats() RecorderStats {
	return RecorderStats{Written: r.written.Load(), Dropped: r.dropped.Load()}
}

// Close stops recording, writes the entries still buffered and waits for the goroutine, all within
// 2 s: entries Redis has not taken by then are dropped. It returns the error of that last write, if
// any (failures before Close were logged to the client's logger and counted). Close is idempotent:
// later calls return the first call's result. Log keeps passing events to the next logger afterwards.
func (r *Recorder) Close() error {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		r.deadline = time.Now().Add(r.timeout)
		close(r.stop)
		<-r.done
		r.closeErr = r.flushErr
	})
	return r.closeErr
}

func (r *Recorder) run() {
	defer close(r.done)
	batch := make([]Entry, 0, logEntries)
	for {
		select {
		case <-r.stop: // before the queue, which may never be empty while Redis is slow
			r.flushErr = r.flush(batch)
			return
		default:
		}
		select {
		case <-r.stop:
			r.flushErr = r.flush(batch)
			return
		case e := <-r.queue:
			// Entries that arrived meanwhile go in the same round trip.
			batch = r.fill(append(batch[:0], e))
			ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
			if err := r.write(ctx, batch); err != nil {
				_ = r.logger.Log("msg", "flight recorder write failed", "err", err, "entries", len(batch))
			}
			cancel()
		}
	}
}

// fill adds queued entries to batch without waiting, up to its capacity.
func (r *Recorder) fill(batch []Entry) []Entry {
	for len(batch) < cap(batch) {
		select {
		case e := <-r.queue:
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// flush writes what is left in the queue at Close, before the deadline Close set, giving up at the
// first failed write; it returns that write's error.
func (r *Recorder) flush(batch []Entry) error {
	ctx, cancel := context.WithDeadline(context.Background(), r.deadline)
	defer cancel()
	for {
		batch = r.fill(batch[:0])
		if len(batch) == 0 {
			return nil
		}
		if err := r.write(ctx, batch); err != nil {
			n := uint64(len(r.queue))
			r.dropped.Add(n)
			for range n {
				<-r.queue
			}
			return fmt.Errorf("health: flight recorder: %d entries not written at close: %w", uint64(len(batch))+n, err)
		}
	}
}

// write pushes batch (oldest first, so the newest ends up at the head as Node's LPUSH per entry does),
// preceded by a notice of the entries dropped since the last successful write, then trims the list to
// Node's 64 entries and refreshes its one-week expiry. A failed batch is counted as dropped and
// announced by the next write.
func (r *Recorder) write(ctx context.Context, batch []Entry) error {
	unsaid := r.unsaid.Swap(0)
	values := make([]interface{}, 0, len(batch)+1)
	if unsaid > 0 {
		notice := Entry{
			TS: formatTime(r.now()), ServiceName: r.service, Type: level.WarnValue().String(), ProcessID: r.processID,
			Msg: fmt.Sprintf("flight recorder dropped %d entries (buffer full or Redis unavailable)", unsaid),
		}
		values = append(values, encodeEntry(notice))
	}
	for _, e := range batch {
		values = append(values, encodeEntry(e))
	}
	_, err := r.redis.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.LPush(ctx, r.key, values...)
		p.LTrim(ctx, r.key, 0, logEntries-1)
		p.Expire(ctx, r.key, logExpiry)
		return nil
	})
	if err != nil {
		r.unsaid.Add(unsaid + uint64(len(batch)))
		r.dropped.Add(uint64(len(batch)))
		return fmt.Errorf("health: write flight recorder: %w", err)
	}
	r.written.Add(uint64(len(values)))
	return nil
}
