package wsgate

import "sync/atomic"

// Stats counts what the gateway did since New.
type Stats struct {
	Clients        int    // sockets open now
	Accepted       uint64 // sockets accepted
	RefusedClients uint64 // upgrades answered 503 past GatewayMaxClients
	RefusedOrigins uint64 // upgrades refused (origin not allowed, or not a WebSocket handshake)
	FramesIn       uint64 // frames read
	FramesOut      uint64 // frames written
	Invalid        uint64 // frames answered with an error frame and a close
	Oversized      uint64 // sockets closed for a frame past GatewayMaxFrameSize
	Unsigned       uint64 // frames without a valid signature when signatures are required
	TokenRefused   uint64 // router API or broadcast frames from a socket without the router token
	Slow           uint64 // clients disconnected because their send queue was full
	Unanswered     uint64 // pub/sub messages without a reply within GatewayReplyTimeout
	Reconnects     uint64 // reconnect frames served
	Queued         uint64 // messages put in a reconnect queue
	QueueDropped   uint64 // oldest queued messages dropped past GatewayQueue's limit
	Delivered      uint64 // queued messages delivered after a reconnect
	Malformed      uint64 // queued messages that could not be read, dropped
	UnknownClients uint64 // messages for a client neither here, nor in the directory, nor known to have left
	Forwarded      uint64 // fwd messages sent to the router holding their client
	Broadcasts     uint64 // broadcasts sent to this router's clients
	DirectoryFull  uint64 // wsdir entries ignored past GatewayMaxDirectory
	Unroutable     uint64 // messages to hydra-router:/ naming no client
}

type counters struct {
	accepted, refusedClients, refusedOrigins, framesIn, framesOut, invalid, oversized, unsigned,
	tokenRefused, slow, unanswered, reconnects, queued, queueDropped, delivered, malformed,
	unknownClients, forwarded, broadcasts, directoryFull, unroutable atomic.Uint64
}

// Stats returns the gateway's counters.
func (g *Gateway) Stats() Stats {
	g.mu.Lock()
	n := len(g.clients)
	g.mu.Unlock()
	s := &g.stats
	return Stats{
		Clients: n, Accepted: s.accepted.Load(), RefusedClients: s.refusedClients.Load(),
		RefusedOrigins: s.refusedOrigins.Load(), FramesIn: s.framesIn.Load(), FramesOut: s.framesOut.Load(),
		Invalid: s.invalid.Load(), Oversized: s.oversized.Load(), Unsigned: s.unsigned.Load(),
		TokenRefused: s.tokenRefused.Load(), Slow: s.slow.Load(), Unanswered: s.unanswered.Load(),
		Reconnects: s.reconnects.Load(), Queued: s.queued.Load(), QueueDropped: s.queueDropped.Load(),
		Delivered: s.delivered.Load(), Malformed: s.malformed.Load(), UnknownClients: s.unknownClients.Load(),
		Forwarded: s.forwarded.Load(), Broadcasts: s.broadcasts.Load(), DirectoryFull: s.directoryFull.Load(),
		Unroutable: s.unroutable.Load(),
	}
}
