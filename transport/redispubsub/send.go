package redispubsub

import (
	"context"
	"fmt"

	"github.com/hydrakit/hydrakit/internal/umftrace"
	"github.com/hydrakit/hydrakit/umf"
)

// Send delivers msg without waiting for any reply (Node's sendMessage): to the instance its to
// names, or, for a service address (svc:/route), to one live instance of the service found through
// discovery (ErrNoInstances when there is none). Missing mid, ts and ver are filled in; frm is left
// as it is, so without one a hydrakit Subscriber serves the message fire-and-forget. A reply to this
// Conn's Address is counted as an orphan, never handled: use Request to wait for one. Send returns
// ErrNoResponders when nobody received the message. It is a span of kind producer, "send
// <svc>:<route>", whose trace context goes in msg's hdr (docs/tracing.md).
func (c *Conn) Send(ctx context.Context, msg *umf.Message) (err error) {
	ctx, span := c.startSend(ctx, "send "+umftrace.Destination(msg.To), "send", umftrace.Producer, msg)
	defer func() { endSend(span, msg, err) }()
	channel, err := c.channelFor(ctx, msg.To)
	if err != nil {
		return err
	}
	c.fill(msg)
	c.tr.Inject(ctx, msg)
	return c.publish(ctx, channel, msg)
}

// Broadcast delivers msg to every instance of the service its to names, on the service channel
// (Node's sendBroadcastMessage), this one included if it belongs to that service. It returns
// ErrNoResponders when nobody received it. Missing mid, ts and ver are filled in. It is a span of
// kind producer, "broadcast <svc>:<route>", whose trace context goes in msg's hdr.
func (c *Conn) Broadcast(ctx context.Context, msg *umf.Message) (err error) {
	ctx, span := c.startSend(ctx, "broadcast "+umftrace.Destination(msg.To), "broadcast", umftrace.Producer, msg)
	defer func() { endSend(span, msg, err) }()
	a, err := umf.ParseAddress(msg.To)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadAddress, err)
	}
	c.fill(msg)
	c.tr.Inject(ctx, msg)
	return c.publish(ctx, c.keys.ServiceChannel(a.Service), msg)
}
