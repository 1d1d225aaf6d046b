package redispubsub

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// lookups resolves service addresses that the network names (the frm or via of a request whose reply
// goes to "svc:/") with a plain read of the service's live instances: no subscription, no goroutine,
// nothing kept past MaxLookups services or LookupTTL. Concurrent lookups of one service share one
// read, which is bounded by the context of the caller that started it; if that context ends first, a
// caller still waiting reads itself.
type lookups struct {
	read func(ctx context.Context, service string) ([]string, error) // live instance IDs
	now  func() time.Time
	max  int
	ttl  time.Duration

	mu    sync.Mutex
	byKey map[string]*list.Element // of *lookup
	lru   list.List                // most recently used first
}

type lookup struct {
	service string
	done    chan struct{} // closed when the read is over
	at      time.Time     // when the read ended
	ids     []string
	err     error
	retry   bool // the reader's context ended: waiters read again
}

func newLookups(read func(context.Context, string) ([]string, error), now func() time.Time) *lookups {
	return &lookups{read: read, now: now, max: MaxLookups, ttl: LookupTTL, byKey: map[string]*list.Element{}}
}

// instances returns the live instance IDs of service, from a read at most ttl old.
func (l *lookups) instances(ctx context.Context, service string) ([]string, error) {
	for {
		lk, mine := l.start(service)
		if mine {
			ids, err := l.read(ctx, service)
			l.finish(lk, ids, err, ctx.Err() != nil)
			return ids, err
		}
		select {
		case <-lk.done:
			if !lk.retry {
				return lk.ids, lk.err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// start returns the entry of service, or a new one (mine) that the caller must read and finish.
func (l *lookups) start(service string) (lk *lookup, mine bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.byKey[service]; ok {
		lk := e.Value.(*lookup)
		select {
		case <-lk.done:
			if l.now().Sub(lk.at) >= l.ttl {
				l.lru.Remove(e)
				delete(l.byKey, service)
				break
			}
			l.lru.MoveToFront(e)
			return lk, false
		default:
			return lk, false // being read
		}
	}
	lk = &lookup{service: service, done: make(chan struct{})}
	l.byKey[service] = l.lru.PushFront(lk)
	for l.lru.Len() > l.max {
		last := l.lru.Back()
		l.lru.Remove(last)
		delete(l.byKey, last.Value.(*lookup).service)
	}
	return lk, true
}

// finish publishes a read. A failed read is not kept (the next caller reads again); one cut short by
// its reader's context makes the waiters read themselves.
func (l *lookups) finish(lk *lookup, ids []string, err error, cut bool) {
	l.mu.Lock()
	lk.ids, lk.err, lk.at, lk.retry = ids, err, l.now(), err != nil && cut
	if err != nil {
		if e, ok := l.byKey[lk.service]; ok && e.Value == lk {
			l.lru.Remove(e)
			delete(l.byKey, lk.service)
		}
	}
	l.mu.Unlock()
	close(lk.done)
}
