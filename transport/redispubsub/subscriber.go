package redispubsub

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/transport"
	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/umf"
)

// Subscriber serves an endpoint to UMF messages: register it on a Conn with Handle (by route) or
// HandleType (by typ). Replies follow Node's sendReplyMessage rules, so Node requesters get them; a
// message without frm or via is served fire-and-forget.
type Subscriber struct {
	e            endpoint.Endpoint
	dec          DecodeRequestFunc
	enc          EncodeResponseFunc
	before       []RequestFunc
	after        []SubscriberResponseFunc
	errorEncoder ErrorEncoder
	finalizer    []SubscriberFinalizerFunc
	errorHandler transport.ErrorHandler
	parent       context.Context

	merged   sync.Map                       // *Conn → parent joined with its context, see mergeParent
	deadline atomic.Pointer[sharedDeadline] // the latest shared deadline context
}

// sharedDeadline is a deadline context shared by the messages whose deadlines round to the same
// time: one runtime timer per deadlineSlot rather than one per message. It is cancelled (its timer
// stopped) once no message uses it and a newer one has replaced it, so a long tmo does not keep
// contexts alive.
type sharedDeadline struct {
	base   context.Context
	slot   int64 // the deadline's wall-clock time in deadlineSlot units
	ctx    context.Context
	cancel context.CancelFunc
	refs   atomic.Int64 // the messages using ctx, plus one while it is the Subscriber's latest
}

// acquire takes a reference unless the context was already released for good.
func (d *sharedDeadline) acquire() bool {
	for {
		r := d.refs.Load()
		if r == 0 {
			return false
		}
		if d.refs.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

func (d *sharedDeadline) release() {
	if d.refs.Add(-1) == 0 {
		d.cancel()
	}
}

var _ Handler = (*Subscriber)(nil) // API check

// SubscriberFinalizerFunc runs at the end of every message, after the reply was sent.
type SubscriberFinalizerFunc func(ctx context.Context, msg *umf.Message)

// NewSubscriber returns a Subscriber serving e.
func NewSubscriber(e endpoint.Endpoint, dec DecodeRequestFunc, enc EncodeResponseFunc, options ...SubscriberOption) *Subscriber {
	s := &Subscriber{
		e: e, dec: dec, enc: enc,
		errorEncoder: DefaultErrorEncoder,
		errorHandler: transport.NewLogErrorHandler(log.NewNopLogger()),
	}
	for _, o := range options {
		o(s)
	}
	return s
}

// SubscriberOption sets an optional parameter of a Subscriber.
type SubscriberOption func(*Subscriber)

// SubscriberBefore adds RequestFuncs run on the incoming message before it is decoded.
func SubscriberBefore(before ...RequestFunc) SubscriberOption {
	return func(s *Subscriber) { s.before = append(s.before, before...) }
}

// SubscriberAfter adds funcs run on the reply message after the endpoint, before encoding.
func SubscriberAfter(after ...SubscriberResponseFunc) SubscriberOption {
	return func(s *Subscriber) { s.after = append(s.after, after...) }
}

// SubscriberErrorEncoder sets how errors become reply messages (default DefaultErrorEncoder).
func SubscriberErrorEncoder(ee ErrorEncoder) SubscriberOption {
	return func(s *Subscriber) { s.errorEncoder = ee }
}

// SubscriberErrorHandler sets the handler of every error (decode, endpoint, encode, reply); by
// default they are discarded.
func SubscriberErrorHandler(h transport.ErrorHandler) SubscriberOption {
	return func(s *Subscriber) { s.errorHandler = h }
}

// SubscriberFinalizer adds funcs run at the end of every message.
func SubscriberFinalizer(f ...SubscriberFinalizerFunc) SubscriberOption {
	return func(s *Subscriber) { s.finalizer = append(s.finalizer, f...) }
}

// SubscriberContext sets a parent context for every message: cancelling it (shutdown) cancels the
// work in flight. The Conn's own context, cancelled by Close, applies too.
func SubscriberContext(ctx context.Context) SubscriberOption {
	return func(s *Subscriber) { s.parent = ctx }
}

// ServeMessage runs before → decode → endpoint → after → encode and publishes the reply. The
// context ends when the request's tmo runs out, the Conn closes, or the parent context ends.
func (s *Subscriber) ServeMessage(ctx context.Context, c *Conn, msg *umf.Message) {
	// Contexts are shared between messages only when they derive from the Conn's own context (the
	// usual case; ServeMessage may also be called with any context).
	shared := c != nil && ctx == c.ctx
	if s.parent != nil {
		if shared {
			ctx = s.mergeParent(c)
		} else {
			pctx, pcancel := context.WithCancel(s.parent)
			defer pcancel()
			defer context.AfterFunc(ctx, pcancel)()
			ctx = pctx
		}
	}
	if msg.Timeout > 0 {
		tmo := time.Duration(min(msg.Timeout, maxTimeout.Seconds()) * float64(time.Second)) // a huge tmo must not overflow into "expired"
		if shared && tmo >= minSharedTimeout {
			d := s.sharedDeadline(ctx, tmo)
			defer d.release()
			ctx = d.ctx
		} else {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, tmo)
			defer cancel()
		}
	}
	if len(s.finalizer) > 0 {
		defer func() {
			for _, f := range s.finalizer {
				f(ctx, msg)
			}
		}()
	}
	for _, f := range s.before {
		ctx = f(ctx, msg)
	}
	request, err := s.dec(ctx, msg)
	if err != nil {
		s.fail(ctx, c, msg, decodeError{err})
		return
	}
	response, err := s.endpoint(ctx, c, msg, request)
	if err != nil {
		s.fail(ctx, c, msg, err)
		return
	}
	reply := newReply()
	for _, f := range s.after {
		ctx = f(ctx, reply)
	}
	if !wantsReply(msg) {
		return
	}
	if err := s.enc(ctx, reply, response); err != nil {
		s.errorHandler.Handle(ctx, err)
		reply = newReply()
		s.errorEncoder(ctx, err, reply)
	}
	if err := c.Reply(ctx, msg, reply); err != nil {
		s.errorHandler.Handle(ctx, err)
	}
}

// mergeParent returns the parent context joined with c's context: made once per Conn, and
// forgotten when the Conn closes.
func (s *Subscriber) mergeParent(c *Conn) context.Context {
	if ctx, ok := s.merged.Load(c); ok {
		return ctx.(context.Context)
	}
	ctx, cancel := context.WithCancel(s.parent)
	if actual, loaded := s.merged.LoadOrStore(c, ctx); loaded {
		cancel()
		return actual.(context.Context)
	}
	context.AfterFunc(c.ctx, func() {
		s.merged.Delete(c)
		cancel()
	})
	return ctx
}

// Deadlines of at least minSharedTimeout are rounded down to deadlineSlot (at most 1 % early) so
// that the messages arriving within one slot share a context and its timer: a runtime timer armed
// and stopped per message costs more than the rest of the Subscriber's bookkeeping.
const (
	deadlineSlot     = 10 * time.Millisecond
	minSharedTimeout = time.Second
)

// sharedDeadline returns, with a reference taken, a context of base with a deadline tmo from now,
// rounded down to deadlineSlot and shared with the other messages of the same slot. base must be
// comparable.
func (s *Subscriber) sharedDeadline(base context.Context, tmo time.Duration) *sharedDeadline {
	at := time.Now().Add(tmo)
	slot := at.UnixNano() / int64(deadlineSlot)
	if d := s.deadline.Load(); d != nil && d.base == base && d.slot == slot && d.acquire() {
		return d
	}
	// Rounded with Add, not Truncate, so that the deadline keeps the monotonic clock reading.
	ctx, cancel := context.WithDeadline(base, at.Add(-time.Duration(at.UnixNano()%int64(deadlineSlot))))
	d := &sharedDeadline{base: base, slot: slot, ctx: ctx, cancel: cancel}
	d.refs.Store(2) // the caller's, and the latest one's
	if old := s.deadline.Swap(d); old != nil {
		old.release()
	}
	return d
}

// endpoint calls the endpoint; if it panics the requester gets a 500 reply at once, then the panic
// goes on to the Conn, which logs and counts it.
func (s *Subscriber) endpoint(ctx context.Context, c *Conn, msg *umf.Message, request interface{}) (interface{}, error) {
	defer func() {
		if r := recover(); r != nil {
			s.fail(ctx, c, msg, fmt.Errorf("redispubsub: endpoint panicked: %v", r))
			panic(r)
		}
	}()
	return s.e(ctx, request)
}

func (s *Subscriber) fail(ctx context.Context, c *Conn, msg *umf.Message, err error) {
	s.errorHandler.Handle(ctx, err)
	if !wantsReply(msg) {
		return
	}
	reply := newReply()
	s.errorEncoder(ctx, err, reply)
	if err := c.Reply(ctx, msg, reply); err != nil {
		s.errorHandler.Handle(ctx, err)
	}
}

// maxTimeout caps the deadline a request's tmo can set.
const maxTimeout = 24 * time.Hour

// wantsReply: Node replies go to frm, or to via when set; without either there is nowhere to reply.
func wantsReply(msg *umf.Message) bool { return msg.From != "" || msg.Via != "" }

// newReply is the response Node's sendReplyMessage overlays on the request: its own mid, ts, ver.
func newReply() *umf.Message {
	return &umf.Message{MID: newMID(), Timestamp: timestamp(), Version: umf.Version}
}
