package redispubsub

import (
	"context"

	"github.com/hydrakit/hydrakit/umf"
)

// EncodeRequestFunc encodes a request into the outgoing UMF message, usually its body (SetBody).
// The message already has to, frm, mid, ts and ver.
type EncodeRequestFunc func(ctx context.Context, msg *umf.Message, request interface{}) error

// DecodeResponseFunc decodes the reply message into a response. Error replies (typ "error") never
// reach it: the Publisher returns them as *RemoteError.
type DecodeResponseFunc func(ctx context.Context, reply *umf.Message) (response interface{}, err error)

// DecodeRequestFunc decodes an incoming UMF message into a request for the endpoint.
type DecodeRequestFunc func(ctx context.Context, msg *umf.Message) (request interface{}, err error)

// EncodeResponseFunc encodes the endpoint's response into the reply message, usually its body. The
// Subscriber then applies Node's reply rules (umf.Reply) and publishes it.
type EncodeResponseFunc func(ctx context.Context, reply *umf.Message, response interface{}) error

// EncodeJSONRequest sets the message body to the request encoded as JSON.
func EncodeJSONRequest(_ context.Context, msg *umf.Message, request interface{}) error {
	return msg.SetBody(request)
}

// EncodeJSONResponse sets the reply body to the response encoded as JSON.
func EncodeJSONResponse(_ context.Context, reply *umf.Message, response interface{}) error {
	return reply.SetBody(response)
}
