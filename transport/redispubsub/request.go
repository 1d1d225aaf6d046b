package redispubsub

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/hydrakit/hydrakit/internal/umftrace"
	"github.com/hydrakit/hydrakit/umf"
)

var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// defaultTimeout bounds a Publisher call without PublisherTimeout and a Request whose context has no
// deadline.
const defaultTimeout = 10 * time.Second

// Request sends msg to the instance its to names (or, for a service address svc:/route, to one live
// instance of the service, found through discovery) and waits for the reply whose rmid is msg's mid
// and whose frm names that instance (for a service address: any instance of the service), until ctx
// ends or, when ctx has no deadline, at most 10 s. Missing frm, mid, ts and ver are filled in; frm
// defaults to the Conn's Address so that the reply comes back here. Leave mid to Request, or make it
// unique: a reply is matched by it. A reply with typ "error" is returned as it is, not as a
// *RemoteError (that is the Publisher's reading of it; a 503 refusal from a busy instance is one).
//
// The request is a span of kind client, "request <svc>:<route>", whose trace context goes in msg's
// hdr (docs/tracing.md).
func (c *Conn) Request(ctx context.Context, msg *umf.Message) (reply *umf.Message, err error) {
	_, service := splitAddress(msg.To)
	m := c.mx.request(service)
	defer m.end(m.begin(), &reply, &err)
	ctx, span := c.startSend(ctx, requestName(msg.To), "request", umftrace.Client, msg)
	defer func() { endSend(span, msg, err) }()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	channel, err := c.channelFor(ctx, msg.To)
	if err != nil {
		return nil, err
	}
	if msg.From == "" {
		msg.From = c.from
	}
	c.fill(msg)
	c.tr.Inject(ctx, msg)
	instance, service := splitAddress(msg.To)
	if reply, err = c.request(ctx, channel, msg, service, instance); err == nil {
		c.linkReply(ctx, span, reply)
	}
	return reply, err
}

// splitAddress returns the instance (with its -subID, if any) and the service of a UMF address,
// without allocating; "" for what it lacks. Addresses were parsed before they got here, or, for a
// reply's frm, are compared with ones that were.
func splitAddress(addr string) (instance, service string) {
	i := strings.IndexByte(addr, ':')
	if i < 0 {
		return "", ""
	}
	head := addr[:i]
	if at := strings.IndexByte(head, '@'); at >= 0 {
		return head[:at], head[at+1:]
	}
	return "", head
}

// fill sets a missing mid, ts and ver as Node's createMessage does.
func (c *Conn) fill(msg *umf.Message) {
	if msg.MID == "" {
		msg.MID = newMID()
	}
	if msg.Timestamp == "" {
		msg.Timestamp = timestamp(c.now())
	}
	if msg.Version == "" {
		msg.Version = umf.Version
	}
}

// request publishes msg on channel and waits until ctx ends for its reply from service (and from
// instance, unless it is "").
func (c *Conn) request(ctx context.Context, channel string, msg *umf.Message, service, instance string) (*umf.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cl := c.calls.Get().(*call)
	cl.service, cl.instance = service, instance
	var err error
	c.pmu.Lock()
	switch {
	case c.closed:
		err = ErrClosed
	case !c.up:
		err = ErrConnectionLost
	case len(c.pending) >= c.maxPending:
		err = ErrTooManyPending
	case c.pending[msg.MID] != nil:
		err = fmt.Errorf("redispubsub: a request with mid %q is already waiting", msg.MID)
	default:
		c.pending[msg.MID] = cl
	}
	c.pmu.Unlock()
	if err != nil {
		c.calls.Put(cl)
		return nil, err
	}
	if err := c.publish(ctx, channel, msg); err != nil {
		c.forget(msg.MID, cl)
		return nil, err
	}
	select {
	case r := <-cl.ch:
		c.calls.Put(cl)
		return r.msg, r.err
	case <-ctx.Done():
		c.forget(msg.MID, cl)
		return nil, fmt.Errorf("redispubsub: no reply to %s: %w", msg.MID, ctx.Err())
	}
}

// forget removes a request that ended without its reply. If the receive loop took it first (a reply,
// a lost connection, Close), its result is on the way: drain it so that the call can be reused.
func (c *Conn) forget(mid string, cl *call) {
	c.pmu.Lock()
	mine := c.pending[mid] == cl
	if mine {
		delete(c.pending, mid)
	}
	c.pmu.Unlock()
	if !mine {
		<-cl.ch
	}
	c.calls.Put(cl)
}

// publish signs msg (with signing keys), marshals it and PUBLISHes it on channel; no receiver is
// ErrNoResponders.
func (c *Conn) publish(ctx context.Context, channel string, msg *umf.Message) error {
	if err := c.signing.Sign(msg); err != nil {
		return fmt.Errorf("redispubsub: sign %s: %w", msg.MID, err)
	}
	bp := buffers.Get().(*[]byte)
	b, err := msg.AppendMarshal((*bp)[:0])
	if err != nil {
		buffers.Put(bp)
		return fmt.Errorf("redispubsub: encode %s: %w", msg.MID, err)
	}
	return c.send(ctx, channel, bp, b, "", msg.MID)
}

// send PUBLISHes b, which lives in the pooled buffer bp, and returns bp to the pool. what and mid
// name the message in errors.
func (c *Conn) send(ctx context.Context, channel string, bp *[]byte, b []byte, what, mid string) error {
	n, released, err := c.pub.publish(ctx, channel, b)
	if released && cap(b) <= 64<<10 { // keep the pool from pinning huge buffers
		*bp = b
		buffers.Put(bp)
	}
	if err != nil {
		return &publishError{fmt.Errorf("redispubsub: publish %s%s: %w", what, mid, err)}
	}
	if n == 0 {
		c.poke() // a failover may have moved this Conn's client: the monitor checks at once
		return fmt.Errorf("%w on %s", ErrNoResponders, channel)
	}
	return nil
}

// publishError is a PUBLISH that failed on the sender's side (Redis unreachable, a timeout): the
// message may or may not have been delivered, and it says nothing about the receiver.
type publishError struct{ error }

func (e *publishError) Unwrap() error { return e.error }

// Reply sends resp as the reply to orig following Node's sendReplyMessage rules (umf.Reply): to the
// requester's frm, or its via when set, with rmid = orig's mid; signed with the client's signing
// keys. A reply to a service address (svc:/, no instance) goes to one live instance of it, found in
// the Conn's bounded lookup cache (MaxLookups, LookupTTL), never by following the service.
//
// The trace context of ctx goes in the reply's hdr when it is sampled (resp is left as it is); a
// request hdr that holds only trace context is not copied back (docs/tracing.md).
func (c *Conn) Reply(ctx context.Context, orig, resp *umf.Message) error {
	resp = c.withTraceContext(ctx, resp)
	// resp's body replaces orig's in any case: spare umf.Reply a look at a request body that may
	// be large.
	dropBody := isObjectOrArray(resp.Body) && len(orig.Body) > 0
	dropHdr := len(resp.Headers) == 0 && c.tr.OnlyContext(orig.Headers)
	if dropBody || dropHdr {
		o := *orig
		if dropBody {
			o.Body = nil
		}
		if dropHdr {
			o.Headers = nil
		}
		orig = &o
	}
	bp := buffers.Get().(*[]byte)
	to, b, err := c.signing.AppendReply((*bp)[:0], orig, resp)
	if err != nil {
		buffers.Put(bp)
		return fmt.Errorf("redispubsub: encode the reply to %s: %w", orig.MID, err)
	}
	channel, err := c.replyChannel(ctx, to)
	if err != nil {
		buffers.Put(bp)
		return err
	}
	return c.send(ctx, channel, bp, b, "the reply to ", orig.MID)
}

// isObjectOrArray reports whether raw JSON is an object or an array, which JavaScript always finds
// truthy.
func isObjectOrArray(raw []byte) bool {
	for _, b := range raw {
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// channelFor returns the instance channel for a UMF address the application names, choosing a
// random live instance when the address names only a service (as Node's sendMessage does), through
// discovery.
func (c *Conn) channelFor(ctx context.Context, to string) (string, error) {
	return c.channel(ctx, to, c.disc.instances)
}

// replyChannel is channelFor for an address a message named (its frm or via): a service address is
// looked up in the bounded cache, or taken from discovery if the application follows it anyway.
func (c *Conn) replyChannel(ctx context.Context, to string) (string, error) {
	return c.channel(ctx, to, func(ctx context.Context, service string) ([]string, error) {
		if ids, ok := c.disc.known(service); ok {
			return ids, nil
		}
		return c.lookups.instances(ctx, service)
	})
}

func (c *Conn) channel(ctx context.Context, to string, instances func(context.Context, string) ([]string, error)) (string, error) {
	if ch, ok := c.channelCache.get(to); ok {
		return ch, nil
	}
	a, err := umf.ParseAddress(to)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadAddress, err)
	}
	if a.Instance != "" {
		ch := c.keys.InstanceChannel(a.Service, a.Instance)
		c.channelCache.put(to, ch)
		return ch, nil
	}
	ids, err := instances(ctx, a.Service)
	if err != nil {
		return "", fmt.Errorf("redispubsub: instances of %s: %w", a.Service, err)
	}
	if len(ids) == 0 {
		return "", fmt.Errorf("%w: %s", ErrNoInstances, a.Service)
	}
	return c.keys.InstanceChannel(a.Service, ids[rand.IntN(len(ids))]), nil
}
