package redispubsub

import "errors"

var (
	// ErrConfig is wrapped by every invalid argument or option of NewConn, NewPublisher and
	// NewSubscriber. An invalid service or instance name wraps keyspace.ErrInvalidName too, and an
	// unusable target address ErrBadAddress.
	ErrConfig = errors.New("redispubsub: invalid configuration")
	// ErrNoResponders is returned at once when PUBLISH (SPUBLISH on a cluster) reports that no one
	// listens on the target channel: nobody received the message, so a balancer can move on without
	// waiting for a timeout, and retrying cannot run a handler twice.
	ErrNoResponders = errors.New("redispubsub: no responders")
	// ErrConnectionLost fails every request in flight when the Conn's subscription is lost (the
	// connection dropped or went silent, or a failover left it on a node its client no longer
	// publishes to): its reply could not arrive. New requests fail with it until the Conn has
	// subscribed anew. The request may have been delivered and handled.
	ErrConnectionLost = errors.New("redispubsub: subscription connection lost")
	// ErrClosed is returned by a Conn after Close.
	ErrClosed = errors.New("redispubsub: conn closed")
	// ErrTooManyPending is returned when a new request would exceed ConnMaxPending.
	ErrTooManyPending = errors.New("redispubsub: too many pending requests")
	// ErrBadAddress wraps an unusable target or reply address.
	ErrBadAddress = errors.New("redispubsub: bad address")
	// ErrBusy is matched (errors.Is) by a *RemoteError with code 503: every handler slot of the
	// instance was taken (ConnConcurrency), and its Conn refused the message at once, unserved. An
	// endpoint whose error has StatusCode() 503 declares the same, so retrying elsewhere is safe.
	ErrBusy = errors.New("redispubsub: busy")
	// ErrNoInstances is returned when a message to a service address (svc:/route) finds no live
	// instance of the service.
	ErrNoInstances = errors.New("redispubsub: no instances")
)
