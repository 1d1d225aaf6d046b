package redispubsub

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime/debug"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/umf"
)

const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// maxIdle bounds the workers parked between messages; more leave when their handler returns.
const maxIdle = 64

// defaultIdleRead is how long a read must have waited for its message for the Conn to count as idle:
// a message already buffered (a backlog) comes back in a few microseconds, one that had to be waited
// for takes a netpoll wake-up, tens of microseconds.
const defaultIdleRead = 20 * time.Microsecond

// worker reads the subscription while it holds the reader role. Exactly one worker reads at a time;
// each message that needs a handler is handled by the worker that read it, with no queue in between,
// and a handler never holds up reading for long:
//
//   - Under load (the message was already buffered, or other handlers are running), the worker passes
//     the reader role on at once, to a parked worker or a new one, then runs the handler.
//   - On an idle Conn it runs the handler inline, keeping the role, and reads again afterwards: no
//     goroutine wake-up on the request's path, which is what one request at a time costs otherwise.
//     The role is taken from an inline handler as soon as it waits for a reply on this Conn
//     (request), and by a watchdog once it has run for handOffAfter (ConnHandOffAfter), so a slow
//     handler delays other messages by at most that.
//
// A worker whose role was passed on parks until it gets the role again.
func (c *Conn) worker() {
	defer c.workers.Done()
	for {
		h, msg, waited := c.read()
		if h == nil {
			return // closed
		}
		// Each running handler holds a ConnConcurrency slot, and dispatch took this message's.
		if waited && c.handOffAfter > 0 && len(c.concurrency) == 1 {
			if c.serveInline(h, msg) {
				continue // still the reader
			}
		} else {
			c.passReader()
			c.serve(h, msg)
			<-c.concurrency
		}
		if c.idle.Add(1) > maxIdle {
			c.idle.Add(-1)
			return
		}
		select {
		case <-c.turn:
			c.idle.Add(-1)
		case <-c.done:
			c.idle.Add(-1)
			return
		}
	}
}

// passReader hands the reader role to a parked worker, or starts one. The caller keeps the workers
// count above zero while it runs (it is a worker, or took a count of its own).
func (c *Conn) passReader() {
	select {
	case c.turn <- struct{}{}:
	default:
		c.workers.Add(1)
		go c.worker()
	}
}

// serveInline runs a handler while keeping the reader role unless it is taken meanwhile (see
// takeReader), and reports whether the worker still holds the role.
func (c *Conn) serveInline(h Handler, msg *umf.Message) bool {
	episode := c.episodes.Add(1)
	c.inlineSince.Store(int64(time.Since(c.epoch)))
	c.inline.Store(episode)
	if c.watchdogArmed.CompareAndSwap(false, true) {
		c.watchdog.Reset(c.handOffAfter)
	}
	c.serve(h, msg)
	<-c.concurrency
	return c.inline.CompareAndSwap(episode, 0)
}

// takeReader takes the reader role from the handler running inline, if any, and passes it on.
func (c *Conn) takeReader() {
	episode := c.inline.Load()
	if episode == 0 {
		return
	}
	// Count the worker about to be started before the inline one can leave, and never after
	// Close has begun waiting for the workers.
	c.pmu.Lock()
	if c.closed {
		c.pmu.Unlock()
		return
	}
	c.workers.Add(1)
	c.pmu.Unlock()
	if c.inline.CompareAndSwap(episode, 0) {
		c.stats.handOffs.Add(1)
		c.passReader()
	}
	c.workers.Done()
}

// watch is the watchdog's timer function: it takes the reader role from an inline handler that has
// run for handOffAfter, and re-arms while handlers run inline. It costs nothing while no handler
// runs inline.
func (c *Conn) watch() {
	for !c.isClosed() {
		if c.inline.Load() == 0 {
			c.watchdogArmed.Store(false)
			// An episode that began just before the store saw the watchdog armed and left it to us.
			if c.inline.Load() == 0 || !c.watchdogArmed.CompareAndSwap(false, true) {
				return
			}
		}
		since := time.Since(c.epoch) - time.Duration(c.inlineSince.Load())
		if since < c.handOffAfter {
			c.watchdog.Reset(c.handOffAfter - since)
			return
		}
		c.takeReader()
	}
}

// serve runs a handler; a panic is logged and counted, not allowed to take the process down with
// the message that caused it.
func (c *Conn) serve(h Handler, msg *umf.Message) {
	defer func() {
		if r := recover(); r != nil {
			c.stats.panics.Add(1)
			c.logger.Log("msg", "handler panicked", "mid", msg.MID, "err", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	h.ServeMessage(c.ctx, c, msg)
}

// read receives until a message needs a handler, or the Conn closes (nil); waited reports whether
// that message had to be waited for (see defaultIdleRead). go-redis re-dials and
// resubscribes by itself after a read error; read turns every such error into ErrConnectionLost for
// the requests in flight (their replies may be gone) and marks the Conn up again when the
// subscription confirmations return.
func (c *Conn) read() (h Handler, msg *umf.Message, waited bool) {
	for {
		var m any
		var err error
		start := time.Now()
		if c.awaitingPong {
			// Without a read timeout go-redis treats a deadline as a dead connection and re-dials,
			// which is what an unanswered ping means (a half-open TCP connection).
			ctx, cancel := context.WithTimeout(context.Background(), c.health)
			m, err = c.ps.Receive(ctx)
			cancel()
		} else {
			m, err = c.ps.ReceiveTimeout(context.Background(), c.health)
		}
		if err != nil {
			if c.isClosed() || errors.Is(err, goredis.ErrClosed) {
				return nil, nil, false
			}
			if !c.awaitingPong && isTimeout(err) {
				ctx, cancel := context.WithTimeout(context.Background(), c.health)
				err = c.ps.Ping(ctx)
				cancel()
				if err == nil {
					c.awaitingPong = true
					continue
				}
			}
			c.awaitingPong = false
			c.lost(err)
			select {
			case <-c.done:
				return nil, nil, false
			case <-time.After(c.backoff/2 + rand.N(c.backoff/2+1)):
			}
			c.backoff = min(2*c.backoff, maxBackoff)
			// Subscribe again: on a broken connection this re-dials (go-redis resubscribes), on a
			// healthy one Redis just confirms. Either way the confirmations mark the Conn up, even
			// after an error that go-redis did not treat as a dead connection.
			ctx, cancel := context.WithTimeout(context.Background(), c.health)
			_ = c.ps.Subscribe(ctx, c.channels[:]...)
			cancel()
			continue
		}
		c.awaitingPong, c.backoff = false, minBackoff
		switch m := m.(type) {
		case *goredis.Message:
			if h, msg := c.dispatch(m.Payload); h != nil {
				return h, msg, time.Since(start) > c.idleRead
			}
		case *goredis.Subscription:
			if m.Kind == "subscribe" && m.Count == len(c.channels) {
				c.resubscribed()
			}
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (c *Conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// lost marks the Conn down and fails the requests in flight.
func (c *Conn) lost(err error) {
	c.pmu.Lock()
	wasUp := c.up
	c.up = false
	c.failPendingLocked(ErrConnectionLost)
	c.pmu.Unlock()
	if wasUp {
		c.logger.Log("msg", "subscription connection lost", "err", err)
	}
}

func (c *Conn) resubscribed() {
	c.pmu.Lock()
	wasUp := c.up
	c.up = true
	c.pmu.Unlock()
	if !wasUp {
		c.stats.reconnects.Add(1)
		c.logger.Log("msg", "resubscribed")
	}
}

// dispatch delivers replies to their waiting request and returns the handler of other messages,
// with a ConnConcurrency slot taken for it. It never blocks.
func (c *Conn) dispatch(payload string) (Handler, *umf.Message) {
	c.stats.received.Add(1)
	if len(payload) > c.maxSize {
		c.stats.malformed.Add(1)
		c.logDropped("msg", "dropped oversized message", "size", len(payload))
		return nil, nil
	}
	// umf.Unmarshal copies what it keeps, so the bytes can come from (and go back to) a pool.
	bp := buffers.Get().(*[]byte)
	data := append((*bp)[:0], payload...)
	msg, err := umf.Unmarshal(data)
	if cap(data) <= 64<<10 {
		*bp = data
		buffers.Put(bp)
	}
	if err == nil && msg.To == "" {
		err = errors.New("no to")
	}
	if err != nil {
		c.stats.malformed.Add(1)
		c.logDropped("msg", "dropped malformed message", "err", err)
		return nil, nil
	}
	// A message with rmid is a reply. Never hand one to a handler: two echoing services would
	// otherwise bounce a late reply between them forever.
	if msg.RMID != "" {
		c.deliver(msg)
		return nil, nil
	}
	h := c.handler(msg)
	if h == nil {
		c.stats.unhandled.Add(1)
		c.logDropped("msg", "no handler", "mid", msg.MID, "to", msg.To, "typ", msg.Type)
		return nil, nil
	}
	select {
	case c.concurrency <- struct{}{}:
	default:
		c.stats.rejected.Add(1)
		c.logDropped("msg", "handlers busy, message dropped", "mid", msg.MID)
		return nil, nil
	}
	c.stats.handled.Add(1)
	return h, msg
}

// logDropped logs a dropped message, at most once per second: a flood of bad input must not turn
// into a flood of log lines (the counters in Stats count every one).
func (c *Conn) logDropped(keyvals ...any) {
	now := time.Now().UnixNano()
	last := c.lastDropLog.Load()
	if now-last < int64(time.Second) || !c.lastDropLog.CompareAndSwap(last, now) {
		return
	}
	c.logger.Log(keyvals...)
}

func (c *Conn) deliver(msg *umf.Message) {
	c.pmu.Lock()
	call := c.pending[msg.RMID]
	delete(c.pending, msg.RMID)
	c.pmu.Unlock()
	if call == nil {
		c.stats.orphans.Add(1)
		return
	}
	c.stats.replies.Add(1)
	call.ch <- result{msg: msg}
}
