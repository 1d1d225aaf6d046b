package redispubsub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/transport"
	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/umf"
)

// Subscriber serves an endpoint to UMF messages: register its ServeMessage on a Conn with Handle (by
// route) or HandleDefault. Replies follow Node's sendReplyMessage rules, so Node requesters get them;
// a message without frm or via is served fire-and-forget.
type Subscriber struct {
	e            endpoint.Endpoint
	dec          DecodeRequestFunc
	enc          EncodeResponseFunc
	before       []RequestFunc
	after        []ResponseFunc
	errorEncoder ErrorEncoder
	errorHandler transport.ErrorHandler
	err          error // an invalid option, see NewSubscriber
}

// NewSubscriber returns a Subscriber serving e. Arguments and options are validated here: errors
// wrap ErrConfig.
func NewSubscriber(e endpoint.Endpoint, dec DecodeRequestFunc, enc EncodeResponseFunc, options ...SubscriberOption) (*Subscriber, error) {
	switch {
	case e == nil:
		return nil, fmt.Errorf("%w: nil endpoint", ErrConfig)
	case dec == nil:
		return nil, fmt.Errorf("%w: nil DecodeRequestFunc", ErrConfig)
	case enc == nil:
		return nil, fmt.Errorf("%w: nil EncodeResponseFunc", ErrConfig)
	}
	s := &Subscriber{
		e: e, dec: dec, enc: enc,
		errorEncoder: defaultErrorEncoder,
		errorHandler: transport.NewLogErrorHandler(log.NewNopLogger()),
	}
	for _, o := range options {
		if o == nil {
			s.refuse("nil SubscriberOption")
			continue
		}
		o(s)
	}
	if s.err != nil {
		return nil, s.err
	}
	return s, nil
}

func (s *Subscriber) refuse(what string) {
	s.err = errors.Join(s.err, fmt.Errorf("%w: %s", ErrConfig, what))
}

// SubscriberOption sets an optional parameter of a Subscriber.
type SubscriberOption func(*Subscriber)

// SubscriberBefore adds RequestFuncs run on the incoming message before it is decoded. A nil func
// is refused.
func SubscriberBefore(before ...RequestFunc) SubscriberOption {
	return func(s *Subscriber) {
		for _, f := range before {
			if f == nil {
				s.refuse("nil SubscriberBefore func")
			}
		}
		s.before = append(s.before, before...)
	}
}

// SubscriberAfter adds ResponseFuncs run on the reply message after the endpoint, before encoding.
// A nil func is refused.
func SubscriberAfter(after ...ResponseFunc) SubscriberOption {
	return func(s *Subscriber) {
		for _, f := range after {
			if f == nil {
				s.refuse("nil SubscriberAfter func")
			}
		}
		s.after = append(s.after, after...)
	}
}

// SubscriberErrorEncoder sets how errors become reply messages (default: typ "error" and Node
// Hydra's error body, see ErrorEncoder). nil is refused.
func SubscriberErrorEncoder(ee ErrorEncoder) SubscriberOption {
	return func(s *Subscriber) {
		if ee == nil {
			s.refuse("nil ErrorEncoder")
		}
		s.errorEncoder = ee
	}
}

// SubscriberErrorHandler sets the handler of every error (decode, endpoint, encode, reply); by
// default they are discarded. nil is refused.
func SubscriberErrorHandler(h transport.ErrorHandler) SubscriberOption {
	return func(s *Subscriber) {
		if h == nil {
			s.refuse("nil ErrorHandler")
		}
		s.errorHandler = h
	}
}

// ServeMessage runs before → decode → endpoint → after → encode and publishes the reply; it is the
// Handler to register on a Conn. The context ends when the request's tmo runs out or the Conn
// closes.
func (s *Subscriber) ServeMessage(ctx context.Context, c *Conn, msg *umf.Message) {
	if msg.Timeout > 0 {
		tmo := time.Duration(min(msg.Timeout, maxTimeout.Seconds()) * float64(time.Second)) // a huge tmo must not overflow into "expired"
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, tmo)
		defer cancel()
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
	reply := newReply(c.now())
	for _, f := range s.after {
		ctx = f(ctx, reply)
	}
	if !wantsReply(msg) {
		return
	}
	if err := s.enc(ctx, reply, response); err != nil {
		s.errorHandler.Handle(ctx, err)
		reply = newReply(c.now())
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
	failSpan(ctx, err)
	s.errorHandler.Handle(ctx, err)
	if !wantsReply(msg) {
		return
	}
	reply := newReply(c.now())
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
func newReply(now time.Time) *umf.Message {
	return &umf.Message{MID: newMID(), Timestamp: timestamp(now), Version: umf.Version}
}
