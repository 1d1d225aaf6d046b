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

// worker reads the subscription while it holds the reader role. Exactly one worker reads at a time;
// each message that needs a handler is handled by the worker that read it, with no queue in between:
// the worker first passes the reader role on, to a parked worker or a new one, so a handler never
// holds up reading. A worker whose handler has returned parks until it gets the role again.
func (c *Conn) worker() {
	defer c.workers.Done()
	for {
		h, msg := c.read()
		if h == nil {
			return // closed
		}
		c.passReader()
		c.serve(h, msg)
		<-c.concurrency // taken by dispatch
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

// passReader hands the reader role to a parked worker, or starts one. The caller is a worker, so the
// workers count stays above zero while it runs.
func (c *Conn) passReader() {
	select {
	case c.turn <- struct{}{}:
	default:
		c.workers.Add(1)
		go c.worker()
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
	h(c.ctx, c, msg)
}

// read receives until a message needs a handler, or the Conn closes (nil). go-redis re-dials and
// resubscribes by itself after a read error; read turns every such error into ErrConnectionLost for
// the requests in flight (their replies may be gone) and marks the Conn up again when the
// subscription confirmations return.
func (c *Conn) read() (h Handler, msg *umf.Message) {
	for {
		var m any
		var err error
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
				return nil, nil
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
				return nil, nil
			case <-time.After(c.backoff/2 + rand.N(c.backoff/2+1)):
			}
			c.backoff = min(2*c.backoff, maxBackoff)
			// Subscribe again: on a broken connection this re-dials (go-redis resubscribes), on a
			// healthy one Redis just confirms. Either way the confirmations mark the Conn up, even
			// after an error that go-redis did not treat as a dead connection.
			ctx, cancel := context.WithTimeout(context.Background(), c.health)
			if c.sharded {
				_ = c.ps.SSubscribe(ctx, c.channels[:]...)
			} else {
				_ = c.ps.Subscribe(ctx, c.channels[:]...)
			}
			cancel()
			continue
		}
		c.awaitingPong, c.backoff = false, minBackoff
		switch m := m.(type) {
		case *goredis.Message:
			if h, msg := c.dispatch(m.Payload); h != nil {
				return h, msg
			}
		case *goredis.Subscription:
			if c.confirmed(m) {
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
