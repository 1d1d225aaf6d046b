package queue

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/go-kit/kit/transport"

	"github.com/hydrakit/hydrakit/umf"
)

type job struct {
	N int `json:"n"`
}

type failedResponse struct{ err error }

func (r failedResponse) Failed() error { return r.err }

type ctxKey struct{}

func TestSubscriberResultDecidesFate(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name          string
		body          string
		endpointErr   error
		response      any
		wantErr       error
		wantPermanent bool
		wantAfter     bool
	}{
		{name: "success completes", body: `{"n":1}`, response: "ok", wantAfter: true},
		{name: "endpoint error retries", body: `{"n":1}`, endpointErr: boom, wantErr: boom},
		{name: "permanent dead-letters", body: `{"n":1}`, endpointErr: Permanent(boom), wantErr: boom, wantPermanent: true},
		{name: "failed response retries", body: `{"n":1}`, response: failedResponse{boom}, wantErr: boom},
		{name: "decode error dead-letters", body: `{"n":"x"}`, wantPermanent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotReq any
			var handled []error
			var after, finalized bool
			e := func(ctx context.Context, req any) (any, error) {
				equal(t, "before", ctx.Value(ctxKey{}))
				gotReq = req
				return tc.response, tc.endpointErr
			}
			s, err := NewSubscriber(e, DecodeJSONBody[job],
				SubscriberBefore(func(ctx context.Context, d *Delivery) context.Context {
					return context.WithValue(ctx, ctxKey{}, "before")
				}),
				SubscriberAfter(func(ctx context.Context, _ any) context.Context { after = true; return ctx }),
				SubscriberErrorHandler(transport.ErrorHandlerFunc(func(_ context.Context, err error) {
					handled = append(handled, err)
				})),
				SubscriberFinalizer(func(_ context.Context, _ *Delivery, err error) { finalized = true }),
			)
			must(t, err)
			m, err := umf.New("svc:/", "t:/", nil)
			must(t, err)
			m.Body = []byte(tc.body)
			err = s.Handle(context.Background(), &Delivery{Message: m, Attempt: 1})
			equal(t, tc.wantPermanent, errors.Is(err, ErrPermanent))
			if tc.wantErr != nil {
				isErr(t, err, tc.wantErr)
			}
			equal(t, err == nil, len(handled) == 0)
			equal(t, tc.wantAfter, after)
			equal(t, true, finalized)
			if err == nil {
				equal(t, any(job{N: 1}), gotReq)
			}
		})
	}
}

func TestPermanent(t *testing.T) {
	equal(t, nil, Permanent(nil))
	base := errors.New("x")
	err := Permanent(base)
	isErr(t, err, base)
	equal(t, "x", err.Error()) // the dead letter's reason
	isErr(t, err, ErrPermanent)
	isErr(t, errors.Join(errors.New("y"), err), ErrPermanent)
	isErr(t, fmt.Errorf("wrapped: %w", err), ErrPermanent)
	equal(t, false, errors.Is(base, ErrPermanent))
}

// A nil argument or option of NewSubscriber is refused (ErrConfig), and NewConsumer refuses a nil
// Subscriber.
func TestSubscriberRefusesNils(t *testing.T) {
	e := func(context.Context, any) (any, error) { return nil, nil }
	for name, make := range map[string]func() (*Subscriber, error){
		"nil endpoint":      func() (*Subscriber, error) { return NewSubscriber(nil, DecodeJSONBody[job]) },
		"nil decoder":       func() (*Subscriber, error) { return NewSubscriber(e, nil) },
		"nil option":        func() (*Subscriber, error) { return NewSubscriber(e, DecodeJSONBody[job], nil) },
		"nil before":        func() (*Subscriber, error) { return NewSubscriber(e, DecodeJSONBody[job], SubscriberBefore(nil)) },
		"nil after":         func() (*Subscriber, error) { return NewSubscriber(e, DecodeJSONBody[job], SubscriberAfter(nil)) },
		"nil error handler": func() (*Subscriber, error) { return NewSubscriber(e, DecodeJSONBody[job], SubscriberErrorHandler(nil)) },
		"nil finalizer":     func() (*Subscriber, error) { return NewSubscriber(e, DecodeJSONBody[job], SubscriberFinalizer(nil)) },
	} {
		s, err := make()
		if !errors.Is(err, ErrConfig) || s != nil {
			t.Errorf("%s: want ErrConfig and no Subscriber, have %v", name, err)
		}
	}
	var nilSub *Subscriber
	if _, err := NewConsumer(miniFleet(t), "svc", nilSub); !errors.Is(err, ErrConfig) {
		t.Errorf("NewConsumer with a nil Subscriber: want ErrConfig, have %v", err)
	}
}
