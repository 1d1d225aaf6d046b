package redispubsub

import (
	"context"
	"fmt"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/hydrakit/hydrakit/umf"
)

// Publisher is the client side of a remote endpoint reached over pub/sub: one target address, its
// encoder and decoder.
type Publisher struct {
	conn    *Conn
	to      string
	channel string // "" when to names only a service: chosen per request
	err     error  // a bad target, returned by every call
	enc     EncodeRequestFunc
	dec     DecodeResponseFunc
	before  []RequestFunc
	after   []PublisherResponseFunc
	timeout time.Duration
}

// NewPublisher returns a Publisher that sends requests to the UMF address to through conn and waits
// for the reply. to is iid@svc:/route for one instance (what the balanced client's factory makes),
// or svc:/route to let the Conn's InstanceLister pick a live instance per request.
func NewPublisher(conn *Conn, to string, enc EncodeRequestFunc, dec DecodeResponseFunc, options ...PublisherOption) *Publisher {
	p := &Publisher{conn: conn, to: to, enc: enc, dec: dec, timeout: DefaultTimeout}
	for _, o := range options {
		o(p)
	}
	a, err := umf.ParseAddress(to)
	switch {
	case err != nil:
		p.err = fmt.Errorf("%w: %w", ErrBadAddress, err)
	case a.Instance != "":
		p.channel = conn.keys.InstanceChannel(a.Service, a.Instance)
	}
	return p
}

// InstanceAddress returns the UMF address of one instance's route: iid@svc:route.
func InstanceAddress(service, instanceID, route string) string {
	return instanceID + "@" + service + ":" + route
}

// PublisherOption sets an optional parameter of a Publisher.
type PublisherOption func(*Publisher)

// PublisherBefore adds RequestFuncs run on the outgoing message after it is encoded, e.g. to copy
// context values into hdr (SetRequestID, ContextToHeader).
func PublisherBefore(before ...RequestFunc) PublisherOption {
	return func(p *Publisher) { p.before = append(p.before, before...) }
}

// PublisherAfter adds funcs run on the reply before it is decoded.
func PublisherAfter(after ...PublisherResponseFunc) PublisherOption {
	return func(p *Publisher) { p.after = append(p.after, after...) }
}

// PublisherTimeout bounds each call (default 10 s). The remaining time travels in the message's tmo,
// and a hydrakit Subscriber ends the handler's context then.
func PublisherTimeout(d time.Duration) PublisherOption {
	return func(p *Publisher) { p.timeout = d }
}

// Endpoint returns an endpoint that calls the remote endpoint. Errors: the caller's context error
// (wrapped), ErrNoResponders when no one listens on the target's channel, ErrConnectionLost,
// ErrTooManyPending, ErrClosed, a *RemoteError for an error reply, or the decoder's error.
func (p *Publisher) Endpoint() endpoint.Endpoint {
	return func(ctx context.Context, request interface{}) (interface{}, error) {
		if p.err != nil {
			return nil, p.err
		}
		// The deadline is enforced by the Conn (request), not by a context with a timer of its own.
		deadline, tmo := time.Now().Add(p.timeout), p.timeout
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline, tmo = d, time.Until(d)
		}
		msg := &umf.Message{To: p.to, From: p.conn.from, Timeout: float64(tmo.Milliseconds()) / 1000}
		p.conn.fill(msg)
		if err := p.enc(ctx, msg, request); err != nil {
			return nil, err
		}
		for _, f := range p.before {
			ctx = f(ctx, msg)
		}
		channel := p.channel
		if channel == "" {
			var err error
			if channel, err = p.conn.channelFor(ctx, p.to); err != nil {
				return nil, err
			}
		}
		reply, err := p.conn.request(ctx, channel, msg, deadline)
		if err != nil {
			return nil, err
		}
		for _, f := range p.after {
			ctx = f(ctx, reply)
		}
		if reply.Type == TypeError {
			return nil, remoteError(reply, msg.MID)
		}
		return p.dec(ctx, reply)
	}
}
