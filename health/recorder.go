package health

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	goredis "github.com/redis/go-redis/v9"

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
// that one goroutine drains; when the buffer is full they are dropped and counted, and the next entry
// written is preceded by one saying how many were lost.
type Recorder struct {
	client    goredis.UniversalClient
	service   string
	instance  string
	key       string
	keys      keyspace.Scheme
	next      log.Logger
	logger    log.Logger
	levels    []string
	buffer    int
	timeout   time.Duration
	now       func() time.Time
	processID int

	queue   chan Entry
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once
	closed  atomic.Bool
	unsaid  atomic.Uint64 // drops not yet reported in the log
	dropped atomic.Uint64
	written atomic.Uint64
}

var _ log.Logger = (*Recorder)(nil) // API check

// NewRecorder returns a running Recorder for the instance of service registered under instance.
// Close it on shutdown: Close writes what is still buffered and waits for the goroutine.
func NewRecorder(client goredis.UniversalClient, service, instance string, options ...RecorderOption) (*Recorder, error) {
	svc, err := keyspace.ValidateService(service)
	if err != nil {
		return nil, err
	}
	if err := keyspace.ValidateInstance(instance); err != nil {
		return nil, err
	}
	r := &Recorder{
		client:    client,
		service:   svc,
		instance:  instance,
		keys:      keyspace.Default,
		next:      log.NewNopLogger(),
		logger:    log.NewNopLogger(),
		levels:    []string{level.ErrorValue().String()},
		buffer:    1024,
		timeout:   2 * time.Second,
		now:       time.Now,
		processID: os.Getpid(),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	for _, o := range options {
		o(r)
	}
	if r.buffer < 1 || r.timeout <= 0 {
		return nil, fmt.Errorf("%w: buffer %d, timeout %v", ErrInvalidOption, r.buffer, r.timeout)
	}
	r.key = r.keys.HealthLog(r.service, r.instance)
	r.logger = log.With(r.logger, "service", r.service, "instance", r.instance)
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

// Close stops recording, writes the entries still buffered (within one write timeout) and waits for
// the goroutine. Log keeps passing events to the next logger afterwards.
func (r *Recorder) Close() error {
	r.closing.Do(func() {
		r.closed.Store(true)
		close(r.stop)
	})
	<-r.done
	return nil
}

func (r *Recorder) run() {
	defer close(r.done)
	batch := make([]Entry, 0, logEntries)
	for {
		select {
		case <-r.stop: // before the queue, which may never be empty while Redis is slow
			r.flush(batch)
			return
		default:
		}
		select {
		case <-r.stop:
			r.flush(batch)
			return
		case e := <-r.queue:
			// Entries that arrived meanwhile go in the same round trip.
			r.write(r.fill(append(batch[:0], e)))
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

// flush writes what is left in the queue at Close, giving up at the first failed write.
func (r *Recorder) flush(batch []Entry) {
	for {
		batch = r.fill(batch[:0])
		if len(batch) == 0 {
			return
		}
		if !r.write(batch) {
			n := uint64(len(r.queue))
			r.dropped.Add(n)
			for range n {
				<-r.queue
			}
			return
		}
	}
}

// write pushes batch (oldest first, so the newest ends up at the head as Node's LPUSH per entry does),
// preceded by a notice of the entries dropped since the last successful write, then trims the list to
// Node's 64 entries and refreshes its one-week expiry. It reports whether Redis took the entries; a
// failed batch is counted as dropped and announced by the next write.
func (r *Recorder) write(batch []Entry) bool {
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
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	_, err := r.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.LPush(ctx, r.key, values...)
		p.LTrim(ctx, r.key, 0, logEntries-1)
		p.Expire(ctx, r.key, logExpiry)
		return nil
	})
	if err != nil {
		r.unsaid.Add(unsaid + uint64(len(batch)))
		r.dropped.Add(uint64(len(batch)))
		_ = r.logger.Log("msg", "flight recorder write failed", "err", err, "entries", len(batch))
		return false
	}
	r.written.Add(uint64(len(values)))
	return true
}
