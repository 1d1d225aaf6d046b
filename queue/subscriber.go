package queue

import (
	"context"
	"fmt"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/transport"
	"github.com/go-kit/log"
)

// DecodeRequestFunc turns a delivery into an endpoint request. A decode error is permanent: the
// message goes to the incomplete list, since retrying cannot make it decodable.
type DecodeRequestFunc func(ctx context.Context, d *Delivery) (request any, err error)

// RequestFunc may take information from a delivery into the context before decoding.
type RequestFunc func(ctx context.Context, d *Delivery) context.Context

// SubscriberResponseFunc may act on the endpoint's response before the message is settled.
type SubscriberResponseFunc func(ctx context.Context, response any) context.Context

// SubscriberFinalizerFunc runs last, with the error Handle returns (nil: the message completes).
type SubscriberFinalizerFunc func(ctx context.Context, d *Delivery, err error)

// Subscriber is a Handler that runs a go-kit endpoint: decode → endpoint → after. The endpoint's
// result decides the message's fate: success completes it, an error (or a response whose Failed()
// is non-nil, see endpoint.Failer) retries it, and an error wrapped by Permanent dead-letters it.
type Subscriber struct {
	e            endpoint.Endpoint
	dec          DecodeRequestFunc
	before       []RequestFunc
	after        []SubscriberResponseFunc
	finalizer    []SubscriberFinalizerFunc
	errorHandler transport.ErrorHandler
	err          error // the first nil argument or option, returned by NewSubscriber
}

var _ Handler = (*Subscriber)(nil) // API check

// SubscriberOption configures a Subscriber.
type SubscriberOption func(*Subscriber)

// SubscriberBefore adds functions run on the context before decoding. A nil function is refused.
func SubscriberBefore(before ...RequestFunc) SubscriberOption {
	return func(s *Subscriber) {
		for _, f := range before {
			if f == nil {
				s.fail("nil before function")
			}
		}
		s.before = append(s.before, before...)
	}
}

// SubscriberAfter adds functions run after the endpoint succeeded. A nil function is refused.
func SubscriberAfter(after ...SubscriberResponseFunc) SubscriberOption {
	return func(s *Subscriber) {
		for _, f := range after {
			if f == nil {
				s.fail("nil after function")
			}
		}
		s.after = append(s.after, after...)
	}
}

// SubscriberErrorHandler receives every decode, endpoint and business error (default: ignored;
// the consumer logs what it does with the message anyway). A nil handler is refused.
func SubscriberErrorHandler(h transport.ErrorHandler) SubscriberOption {
	return func(s *Subscriber) {
		if h == nil {
			s.fail("nil error handler")
		}
		s.errorHandler = h
	}
}

// SubscriberFinalizer adds functions run at the end of every Handle. A nil function is refused.
func SubscriberFinalizer(f ...SubscriberFinalizerFunc) SubscriberOption {
	return func(s *Subscriber) {
		for _, fn := range f {
			if fn == nil {
				s.fail("nil finalizer")
			}
		}
		s.finalizer = append(s.finalizer, f...)
	}
}

// NewSubscriber returns a Handler that decodes deliveries with dec and calls e. A nil e, dec or
// option value is refused with an error wrapping ErrConfig.
func NewSubscriber(e endpoint.Endpoint, dec DecodeRequestFunc, options ...SubscriberOption) (*Subscriber, error) {
	s := &Subscriber{e: e, dec: dec, errorHandler: transport.NewLogErrorHandler(log.NewNopLogger())}
	if e == nil {
		s.fail("nil endpoint")
	}
	if dec == nil {
		s.fail("nil decoder")
	}
	for _, o := range options {
		if o == nil {
			s.fail("nil option")
			continue
		}
		o(s)
	}
	if s.err != nil {
		return nil, s.err
	}
	return s, nil
}

func (s *Subscriber) fail(what string) {
	if s.err == nil {
		s.err = configError("subscriber: %s", what)
	}
}

// Handle implements Handler.
func (s *Subscriber) Handle(ctx context.Context, d *Delivery) (err error) {
	if len(s.finalizer) > 0 {
		defer func() {
			for _, f := range s.finalizer {
				f(ctx, d, err)
			}
		}()
	}
	for _, f := range s.before {
		ctx = f(ctx, d)
	}
	request, err := s.dec(ctx, d)
	if err != nil {
		s.errorHandler.Handle(ctx, err)
		return Permanent(fmt.Errorf("decode: %w", err))
	}
	response, err := s.e(ctx, request)
	if err != nil {
		s.errorHandler.Handle(ctx, err)
		return err
	}
	if f, ok := response.(endpoint.Failer); ok && f.Failed() != nil {
		s.errorHandler.Handle(ctx, f.Failed())
		return f.Failed()
	}
	for _, f := range s.after {
		ctx = f(ctx, response)
	}
	return nil
}

// DecodeJSONBody is a DecodeRequestFunc that decodes the message body into a new T and returns it
// (a T, not a *T).
func DecodeJSONBody[T any](_ context.Context, d *Delivery) (any, error) {
	var v T
	if err := d.Message.DecodeBody(&v); err != nil {
		return nil, err
	}
	return v, nil
}
