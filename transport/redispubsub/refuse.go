package redispubsub

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/hydrakit/hydrakit/umf"
)

// errorReplyTimeout bounds the sending of one error reply (including the lookup of a service-addressed
// frm).
const errorReplyTimeout = time.Second

// refusal is a message the Conn answers with an error reply instead of a handler.
type refusal struct {
	msg    *umf.Message
	code   int
	reason string
}

// refuse queues an error reply to msg, if msg can have one: it was sent to this instance (a broadcast
// would be answered by every instance), it has a mid to reply to and a frm or via to reply at. It
// never blocks: over ConnErrorReplyRate or with the queue full, the reply is dropped and counted.
func (c *Conn) refuse(msg *umf.Message, direct bool, code int, reason string) {
	if !direct || msg.MID == "" || !wantsReply(msg) {
		return
	}
	if !c.replyTokens.take(c.now()) {
		c.stats.errorRepliesDropped.Add(1)
		return
	}
	select {
	case c.refusals <- refusal{msg: msg, code: code, reason: reason}:
	default:
		c.stats.errorRepliesDropped.Add(1)
	}
}

// refuser sends the queued error replies until Close.
func (c *Conn) refuser() {
	defer c.bg.Done()
	for {
		select {
		case <-c.done:
			return
		case r := <-c.refusals:
			reply := newReply(c.now())
			reply.Type = typeError
			_ = reply.SetBody(newErrorBody(r.code, r.reason)) // a struct of strings and an int always encodes
			ctx, cancel := context.WithTimeout(c.ctx, errorReplyTimeout)
			err := c.Reply(ctx, r.msg, reply)
			cancel()
			if err != nil {
				c.stats.errorRepliesDropped.Add(1)
				c.logDropped("msg", "error reply not sent", "mid", r.msg.MID, "status", r.code, "err", err)
				continue
			}
			c.stats.errorReplies.Add(1)
		}
	}
}

// busyReason is the reason of the 503 reply to a message that found every handler slot taken.
const busyReason = "busy: every handler slot is taken, try another instance or later"

// busyStatus is the statusCode of that reply; a *RemoteError with it matches ErrBusy.
const busyStatus = http.StatusServiceUnavailable

// tokens is a token bucket: rate tokens a second, at most rate at once.
type tokens struct {
	rate float64

	mu   sync.Mutex
	have float64
	last time.Time
}

// take takes a token if there is one.
func (t *tokens) take(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last.IsZero() {
		t.have, t.last = t.rate, now
	} else if d := now.Sub(t.last); d > 0 {
		t.have, t.last = min(t.rate, t.have+d.Seconds()*t.rate), now
	}
	if t.have < 1 {
		return false
	}
	t.have--
	return true
}
