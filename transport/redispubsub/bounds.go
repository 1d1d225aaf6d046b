package redispubsub

import "time"

// The bounds of what messages from the network can make a Conn keep or do, beside the options
// (ConnConcurrency, ConnMaxPending, ConnMaxMessageSize). docs/transport.md, "Bounds", lists them all.
const (
	// MaxFollowed bounds the services a Conn follows with an Instancer, each holding a subscription
	// connection and a few goroutines until Close: those of the service addresses (svc:/route) the
	// application sends to. Past it, service addresses are resolved through the lookup cache: a Redis
	// read per LookupTTL more, never refused.
	MaxFollowed = 64
	// MaxLookups bounds the services whose live instances a Conn keeps from plain reads (for a reply
	// to a service address, which the network names, and past MaxFollowed); the least recently used
	// goes first. A read is kept for LookupTTL; concurrent lookups of one service share one read.
	MaxLookups = 1024
	LookupTTL  = 2 * time.Second
	// ErrorReplyQueue bounds the error replies (503 busy, 404, 400) waiting for the one goroutine that
	// sends them (at most ConnErrorReplyRate a second); the rest are dropped and counted in
	// Stats().ErrorRepliesDropped: the reader never waits for them.
	ErrorReplyQueue = 64
)
