package redispubsub

import (
	"context"
	"fmt"
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
	if s.parent != nil {
		pctx, pcancel := context.WithCancel(s.parent)
		defer pcancel()
		defer context.AfterFunc(ctx, pcancel)()
		ctx = pctx
	}
	if msg.Timeout > 0 {
		var cancel context.CancelFunc
		tmo := min(msg.Timeout, maxTimeout.Seconds()) // a huge tmo must not overflow into "expired"
		ctx, cancel = context.WithTimeout(ctx, time.Duration(tmo*float64(time.Second)))
		defer cancel()
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
