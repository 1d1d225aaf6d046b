package redispubsub

import (
	"context"

	"github.com/hydrakit/hydrakit/umf"
)

// RequestFunc may take information from a request message and put it into the context (Subscribers,
// before decoding), or write context values into the outgoing message's headers (Publishers, after
// encoding). hdr is a JSON object of the user's choosing; a request ID, for example, travels as
//
//	func(ctx context.Context, msg *umf.Message) context.Context { // PublisherBefore
//		if id, ok := ctx.Value(requestIDKey{}).(string); ok {
//			_ = msg.SetHeader("x-request-id", id)
//		}
//		return ctx
//	}
//
// and comes back into the context on the other side with msg.Header("x-request-id")
// (SubscriberBefore).
type RequestFunc func(ctx context.Context, msg *umf.Message) context.Context

// ResponseFunc runs on a reply: on the Subscriber's side it may change the reply message (its
// headers, typ...) after the endpoint ran and before the response is encoded (SubscriberAfter); on
// the Publisher's side it may take information from the reply into the context before the response
// is decoded (PublisherAfter).
type ResponseFunc func(ctx context.Context, reply *umf.Message) context.Context
