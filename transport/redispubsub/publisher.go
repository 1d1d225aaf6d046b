package redispubsub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/hydrakit/hydrakit/internal/umftrace"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/umf"
)

// Publisher is the client side of a remote endpoint reached over pub/sub: one target address, its
// encoder and decoder.
type Publisher struct {
	conn     *Conn
	to       string
	channel  string // "" when to names only a service: chosen per request
	service  string // whom replies must come from: service,
	instance string // ... and instance unless it is ""
	enc      EncodeRequestFunc
	dec      DecodeResponseFunc
	before   []RequestFunc
	after    []ResponseFunc
	timeout  time.Duration
	span     string // the name of its requests' spans
	mx       *requestMetrics
	err      error // an invalid option, see NewPublisher
}

// NewPublisher returns a Publisher that sends requests to the UMF address to through conn and waits
// for the reply. to is <iid>@<svc>:<route> for one instance, or <svc>:<route> to let the Conn's
// discovery pick a live instance of the service per request, as Node's sendMessage does. Only a reply
// from that instance (from an instance of that service) is taken; see Conn.
//
// Arguments and options are validated here: errors wrap ErrConfig, an unusable address ErrBadAddress
// too, and an invalid service or instance name in it keyspace.ErrInvalidName.
func NewPublisher(conn *Conn, to string, enc EncodeRequestFunc, dec DecodeResponseFunc, options ...PublisherOption) (*Publisher, error) {
	switch {
	case conn == nil:
		return nil, fmt.Errorf("%w: nil Conn", ErrConfig)
	case enc == nil:
		return nil, fmt.Errorf("%w: nil EncodeRequestFunc", ErrConfig)
	case dec == nil:
		return nil, fmt.Errorf("%w: nil DecodeResponseFunc", ErrConfig)
	}
	a, err := umf.ParseAddress(to)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: %w", ErrConfig, ErrBadAddress, err)
	}
	if _, err := keyspace.ValidateService(a.Service); err != nil {
		return nil, fmt.Errorf("%w: %w: %w", ErrConfig, ErrBadAddress, err)
	}
	p := &Publisher{conn: conn, to: to, enc: enc, dec: dec, timeout: defaultTimeout, span: requestName(to)}
	p.instance, p.service = splitAddress(to)
	p.mx = conn.mx.request(p.service)
	if a.Instance != "" {
		if err := keyspace.ValidateInstance(a.Instance); err != nil {
			return nil, fmt.Errorf("%w: %w: %w", ErrConfig, ErrBadAddress, err)
		}
		p.channel = conn.keys.InstanceChannel(a.Service, a.Instance)
	}
	for _, o := range options {
		if o == nil {
			p.refuse("nil PublisherOption")
			continue
		}
		o(p)
	}
	if p.err != nil {
		return nil, p.err
	}
	return p, nil
}

func (p *Publisher) refuse(what string) {
	p.err = errors.Join(p.err, fmt.Errorf("%w: %s", ErrConfig, what))
}

// PublisherOption sets an optional parameter of a Publisher.
type PublisherOption func(*Publisher)

// PublisherBefore adds RequestFuncs run on the outgoing message after it is encoded, e.g. to copy
// context values into hdr. A nil func is refused.
func PublisherBefore(before ...RequestFunc) PublisherOption {
	return func(p *Publisher) {
		for _, f := range before {
			if f == nil {
				p.refuse("nil PublisherBefore func")
			}
		}
		p.before = append(p.before, before...)
	}
}

// PublisherAfter adds ResponseFuncs run on the reply before it is decoded. A nil func is refused.
func PublisherAfter(after ...ResponseFunc) PublisherOption {
	return func(p *Publisher) {
		for _, f := range after {
			if f == nil {
				p.refuse("nil PublisherAfter func")
			}
		}
		p.after = append(p.after, after...)
	}
}

// PublisherTimeout bounds each call (default 10 s); zero or less is refused. The remaining time
// travels in the message's tmo, and a hydrakit Subscriber ends the handler's context then.
func PublisherTimeout(d time.Duration) PublisherOption {
	return func(p *Publisher) {
		if d <= 0 {
			p.refuse(fmt.Sprintf("PublisherTimeout(%v): must be positive", d))
		}
		p.timeout = d
	}
}

// Endpoint returns an endpoint that calls the remote endpoint. The encoder, the PublisherBefore and
// PublisherAfter funcs and the decoder see the caller's context with PublisherTimeout applied. Its
// errors: the context's error,
// wrapped (context.DeadlineExceeded when PublisherTimeout ran out); ErrNoResponders when no one
// listens on the target's channel; ErrNoInstances when a service address finds no live instance;
// ErrConnectionLost, ErrTooManyPending, ErrClosed; a *RemoteError for an error reply; or the
// encoder's or decoder's error as it is.
//
// Each call is a span of kind client, "request <svc>:<route>", a child of the span in the caller's
// context; the encoder, the PublisherBefore and PublisherAfter funcs and the decoder see it in their
// context, and its trace context goes in hdr (docs/tracing.md).
func (p *Publisher) Endpoint() endpoint.Endpoint {
	return func(ctx context.Context, request interface{}) (response interface{}, err error) {
		var reply *umf.Message
		defer p.mx.end(p.mx.begin(), &reply, &err)
		ctx, cancel := context.WithTimeout(ctx, p.timeout)
		defer cancel()
		deadline, _ := ctx.Deadline()
		tmo := time.Until(deadline)
		msg := &umf.Message{To: p.to, From: p.conn.from, Timeout: float64(tmo.Milliseconds()) / 1000}
		ctx, span := p.conn.startSend(ctx, p.span, "request", umftrace.Client, msg)
		defer func() { endSend(span, msg, err) }()
		p.conn.fill(msg)
		if err := p.enc(ctx, msg, request); err != nil {
			return nil, err
		}
		p.conn.tr.Inject(ctx, msg)
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
		reply, err = p.conn.request(ctx, channel, msg, p.service, p.instance)
		if err != nil {
			return nil, err
		}
		p.conn.linkReply(ctx, span, reply)
		for _, f := range p.after {
			ctx = f(ctx, reply)
		}
		if reply.Type == typeError {
			return nil, remoteError(reply, msg.MID)
		}
		return p.dec(ctx, reply)
	}
}
