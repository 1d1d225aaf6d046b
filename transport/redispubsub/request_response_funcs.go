package redispubsub

import (
	"context"

	"github.com/hydrakit/hydrakit/umf"
)

// RequestFunc may take information from a request message and put it into a request context
// (Subscribers, before decoding), or write context values into the outgoing message's headers
// (Publishers, after encoding).
type RequestFunc func(context.Context, *umf.Message) context.Context

// SubscriberResponseFunc may take information from the request context and use it to change the
// reply message (its headers, typ...) after the endpoint ran and before the reply is encoded.
type SubscriberResponseFunc func(ctx context.Context, reply *umf.Message) context.Context

// PublisherResponseFunc may take information from a reply message and put it into the context
// before the response is decoded.
type PublisherResponseFunc func(ctx context.Context, reply *umf.Message) context.Context

// HeaderRequestID is the hdr field that carries a request ID across the transport.
const HeaderRequestID = "x-request-id"

type requestIDKey struct{}

// ContextWithRequestID returns ctx carrying a request ID.
func ContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFromContext returns the request ID in ctx, if any.
func RequestIDFromContext(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(requestIDKey{}).(string)
	return id, ok && id != ""
}

// SetRequestID is a PublisherBefore func: it writes the context's request ID (ContextWithRequestID)
// into hdr["x-request-id"]; without one it uses the message's mid, so the two sides log the same ID.
func SetRequestID(ctx context.Context, msg *umf.Message) context.Context {
	id, ok := RequestIDFromContext(ctx)
	if !ok {
		id = msg.MID
		ctx = ContextWithRequestID(ctx, id)
	}
	_ = msg.SetHeader(HeaderRequestID, id)
	return ctx
}

// ExtractRequestID is a SubscriberBefore (or PublisherAfter) func: it puts hdr["x-request-id"]
// into the context, where RequestIDFromContext finds it.
func ExtractRequestID(ctx context.Context, msg *umf.Message) context.Context {
	if id, ok := msg.Header(HeaderRequestID); ok {
		return ContextWithRequestID(ctx, id)
	}
	return ctx
}

// SetHeader returns a RequestFunc that writes a fixed header, e.g. an API version.
func SetHeader(name, value string) RequestFunc {
	return func(ctx context.Context, msg *umf.Message) context.Context {
		_ = msg.SetHeader(name, value)
		return ctx
	}
}

// ContextToHeader returns a PublisherBefore func that writes the string context value under key
// (when present) into hdr[name]; HeaderToContext restores it on the other side.
func ContextToHeader(key any, name string) RequestFunc {
	return func(ctx context.Context, msg *umf.Message) context.Context {
		if v, ok := ctx.Value(key).(string); ok {
			_ = msg.SetHeader(name, v)
		}
		return ctx
	}
}

// HeaderToContext returns a SubscriberBefore func that puts the string hdr[name] (when present)
// into the context under key.
func HeaderToContext(name string, key any) RequestFunc {
	return func(ctx context.Context, msg *umf.Message) context.Context {
		if v, ok := msg.Header(name); ok {
			return context.WithValue(ctx, key, v)
		}
		return ctx
	}
}
