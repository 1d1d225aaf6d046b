package redispubsub

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/trust"
	"github.com/hydrakit/hydrakit/umf"
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

// serve runs a handler; a panic is logged (at the rate of dropped messages: input may cause it) and
// counted, not allowed to take the process down with the message that caused it.
func (c *Conn) serve(h Handler, msg *umf.Message) {
	defer func() {
		if r := recover(); r != nil {
			c.stats.panics.Add(1)
			c.logDropped("msg", "handler panicked", "mid", msg.MID, "err", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	ctx, span := c.startProcess(msg)
	defer c.endProcess(span)
	h(ctx, c, msg)
}

// read receives until a message needs a handler, or the Conn closes (nil). Whatever ends a receive
// (the connection dropped, a kick by the monitor, an error reply such as MOVED) is a lost
// subscription: the requests in flight fail with ErrConnectionLost (their replies may be gone) and the
// reader subscribes anew (reconnect) before it reads on. Redis ending the subscription itself
// (sunsubscribe, when a cluster slot moves to another master) is a loss too.
func (c *Conn) read() (h Handler, msg *umf.Message) {
	for {
		ps := c.current()
		if ps == nil {
			if c.isClosed() || !c.reconnect() {
				return nil, nil
			}
			continue
		}
		m, err := ps.Receive(context.Background())
		if err != nil {
			if c.isClosed() {
				return nil, nil
			}
			c.drop(ps)
			c.lost(err)
			c.refreshTopology()
			continue
		}
		c.reads.Add(1)
		switch m := m.(type) {
		case *goredis.Message:
			if m.Payload == probePayload {
				continue
			}
			if h, msg := c.dispatch(m.Payload, m.Channel == c.channels[1]); h != nil {
				return h, msg
			}
		case *goredis.Subscription:
			if m.Kind == "unsubscribe" || m.Kind == "sunsubscribe" {
				c.drop(ps)
				c.lost(fmt.Errorf("redis ended the subscription to %s (%s)", m.Channel, m.Kind))
				c.refreshTopology()
			}
		}
	}
}

// drop closes ps and forgets it if it is still the current subscription, so that the reader
// subscribes anew.
func (c *Conn) drop(ps *goredis.PubSub) {
	c.psMu.Lock()
	if c.ps == ps {
		c.ps = nil
	}
	c.psMu.Unlock()
	_ = ps.Close()
}

func (c *Conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// dispatch delivers replies to their waiting request and returns the handler of other messages,
// with a ConnConcurrency slot taken for it. It never blocks. direct tells a message sent to this
// instance from a broadcast: only the former get error replies when they cannot be served.
func (c *Conn) dispatch(payload string, direct bool) (Handler, *umf.Message) {
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
	if err != nil {
		c.stats.malformed.Add(1)
		c.logDropped("msg", "dropped malformed message", "err", err)
		return nil, nil
	}
	if c.signing.Requires() {
		if err := c.signing.Check(msg, c.now(), trust.ReplayWindow); err != nil {
			c.stats.forged.Add(1)
			c.logDropped("msg", "dropped message that failed the signature check", "mid", msg.MID, "err", err)
			return nil, nil
		}
	}
	if msg.To == "" {
		c.stats.malformed.Add(1)
		c.logDropped("msg", "dropped message without to", "mid", msg.MID)
		if msg.RMID == "" {
			c.refuse(msg, direct, http.StatusBadRequest, "redispubsub: message without to")
		}
		return nil, nil
	}
	// A message with rmid is a reply. Never hand one to a handler, nor answer it: two echoing
	// services would otherwise bounce a late reply between them forever.
	if msg.RMID != "" {
		c.deliver(msg)
		return nil, nil
	}
	// A signature covers to, so a message signed for another service cannot be moved onto this
	// one's channels and run here; without signatures anyone can write to, so the check would prove
	// nothing, and Node does not make it.
	if c.signing.Requires() && !addressedTo(msg.To, c.service) {
		c.stats.forged.Add(1)
		c.logDropped("msg", "dropped signed message addressed to another service", "mid", msg.MID, "to", msg.To)
		return nil, nil
	}
	if c.seen.add(msg.MID) {
		c.stats.duplicates.Add(1)
		c.logDropped("msg", "dropped duplicate message", "mid", msg.MID)
		return nil, nil
	}
	h := c.handler(msg)
	if h == nil {
		c.seen.forget(msg.MID) // not served: a resend may be, once a handler is there
		c.stats.unhandled.Add(1)
		c.logDropped("msg", "no handler", "mid", msg.MID, "to", msg.To, "typ", msg.Type)
		if _, err := umf.ParseAddress(msg.To); err != nil {
			c.refuse(msg, direct, http.StatusBadRequest, "redispubsub: unreadable to: "+err.Error())
		} else {
			c.refuse(msg, direct, http.StatusNotFound, "redispubsub: no handler for "+routeOf(msg.To))
		}
		return nil, nil
	}
	select {
	case c.concurrency <- struct{}{}:
	default:
		c.seen.forget(msg.MID) // not served: the sender may resend it after the 503
		c.stats.busy.Add(1)
		c.logDropped("msg", "handlers busy, message dropped", "mid", msg.MID)
		c.refuse(msg, direct, busyStatus, busyReason)
		return nil, nil
	}
	c.stats.handled.Add(1)
	return h, msg
}

// addressedTo reports whether a UMF address names service (as svc:… or inst@svc:…), without
// allocating. Service names are registered lower-cased; the comparison ignores case.
func addressedTo(to, service string) bool {
	head, _, ok := strings.Cut(to, ":")
	if !ok {
		return false
	}
	if _, svc, found := strings.Cut(head, "@"); found {
		head = svc
	}
	return strings.EqualFold(head, service)
}

// logDropped logs what input caused (a dropped message, a failed error reply, a panic), at most one
// line a second of the client's clock for all of them together: a flood of bad input must not turn
// into a flood of log lines (the counters in Stats count every one).
func (c *Conn) logDropped(keyvals ...any) {
	now := c.now().UnixNano()
	last := c.lastDropLog.Load()
	if now-last < int64(time.Second) || !c.lastDropLog.CompareAndSwap(last, now) {
		return
	}
	c.logger.Log(keyvals...)
}

// deliver completes the request msg replies to, if msg comes from whom the request was sent to.
// A reply from anyone else leaves the request waiting for its own. A replayed reply finds its request
// gone (the first copy ended it) and counts as an orphan: mids are never reused, so it cannot
// complete another request.
func (c *Conn) deliver(msg *umf.Message) {
	c.pmu.Lock()
	call := c.pending[msg.RMID]
	if call != nil && !call.answeredBy(msg.From) {
		c.pmu.Unlock()
		c.stats.foreign.Add(1)
		c.logDropped("msg", "dropped reply from another sender than the one asked", "rmid", msg.RMID, "frm", msg.From)
		return
	}
	delete(c.pending, msg.RMID)
	c.pmu.Unlock()
	if call == nil {
		c.stats.orphans.Add(1)
		return
	}
	c.stats.replies.Add(1)
	call.ch <- result{msg: msg}
}

// answeredBy reports whether a reply from frm may complete the call: Node's and hydrakit's replies
// carry frm = the request's to, so the same service and, when the request named one, the same
// instance.
func (cl *call) answeredBy(frm string) bool {
	instance, service := splitAddress(frm)
	return service == cl.service && (cl.instance == "" || instance == cl.instance)
}

// recentMIDs is the set of the mids a Conn handled most recently, in two generations of at most
// recentMIDsPerGeneration each (so at most twice that, about 600 KB, per Conn). A UMF mid names one
// message, so a mid seen again is the same message delivered twice: go-redis resends a PUBLISH whose
// reply was lost, and during a failover a PUBLISH may reach subscribers through the old primary and
// again through the new one. Dropping it keeps a handler from running twice for one request.
type recentMIDs struct {
	mu       sync.Mutex
	cur, old map[string]struct{}
}

const recentMIDsPerGeneration = 8192

// add records mid and reports whether it was already there. An empty mid is never a duplicate.
func (r *recentMIDs) add(mid string) (seen bool) {
	if mid == "" {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.cur[mid]; ok {
		return true
	}
	if _, ok := r.old[mid]; ok {
		return true
	}
	if r.cur == nil || len(r.cur) >= recentMIDsPerGeneration {
		r.old, r.cur = r.cur, make(map[string]struct{}, recentMIDsPerGeneration)
	}
	r.cur[mid] = struct{}{}
	return false
}

// forget removes mid, for a message that was refused unserved.
func (r *recentMIDs) forget(mid string) {
	r.mu.Lock()
	delete(r.cur, mid)
	delete(r.old, mid)
	r.mu.Unlock()
}
