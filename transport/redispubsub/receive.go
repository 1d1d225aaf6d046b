package redispubsub

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/umf"
)

const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// receive is the Conn's one reading goroutine. go-redis re-dials and resubscribes by itself after a
// read error; receive turns every such error into ErrConnectionLost for the requests in flight (their
// replies may be gone) and marks the Conn up again when the subscription confirmations return.
func (c *Conn) receive() {
	defer c.loop.Done()
	awaitingPong := false
	backoff := minBackoff
	for {
		var m any
		var err error
		if awaitingPong {
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
				return
			}
			if !awaitingPong && isTimeout(err) {
				ctx, cancel := context.WithTimeout(context.Background(), c.health)
				err = c.ps.Ping(ctx)
				cancel()
				if err == nil {
					awaitingPong = true
					continue
				}
			}
			awaitingPong = false
			c.lost(err)
			select {
			case <-c.done:
				return
			case <-time.After(backoff/2 + rand.N(backoff/2+1)):
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		awaitingPong, backoff = false, minBackoff
		switch m := m.(type) {
		case *goredis.Message:
			c.dispatch(m.Payload)
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

// dispatch routes one payload: replies to their waiting request, other messages to a handler
// goroutine. It never blocks on a handler.
func (c *Conn) dispatch(payload string) {
	c.stats.received.Add(1)
	if len(payload) > c.maxSize {
		c.stats.malformed.Add(1)
		c.logger.Log("msg", "dropped oversized message", "size", len(payload))
		return
	}
	msg, err := umf.Unmarshal([]byte(payload))
	if err == nil && msg.To == "" {
		err = errors.New("no to")
	}
	if err != nil {
		c.stats.malformed.Add(1)
		c.logger.Log("msg", "dropped malformed message", "err", err)
		return
	}
	// A message with rmid is a reply. Never hand one to a handler: two echoing services would
	// otherwise bounce a late reply between them forever.
	if msg.RMID != "" {
		c.deliver(msg)
		return
	}
	h := c.handler(msg)
	if h == nil {
		c.stats.unhandled.Add(1)
		c.logger.Log("msg", "no handler", "mid", msg.MID, "to", msg.To, "typ", msg.Type)
		return
	}
	select {
	case c.concurrency <- struct{}{}:
	default:
		c.stats.rejected.Add(1)
		c.logger.Log("msg", "handlers busy, message dropped", "mid", msg.MID)
		return
	}
	c.stats.handled.Add(1)
	c.work.Add(1)
	go func() {
		defer func() {
			<-c.concurrency
			c.work.Done()
		}()
		h.ServeMessage(c.ctx, c, msg)
	}()
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
