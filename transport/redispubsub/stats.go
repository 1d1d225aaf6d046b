package redispubsub

import "github.com/hydrakit/hydrakit/internal/statcount"

// Stats is a snapshot of a Conn's counters. What it dropped tells how to size ConnConcurrency (Busy)
// and ConnMaxMessageSize (Malformed), and what a hostile or misconfigured peer sent (Forged, Foreign).
// Every counter only grows, except Pending.
type Stats struct {
	Received  uint64 // payloads read from either channel (not the monitor's probes)
	Handled   uint64 // messages handed to a handler
	Replies   uint64 // replies matched to a waiting request
	Malformed uint64 // dropped: not JSON, wrong types, no to, or over ConnMaxMessageSize
	Unhandled uint64 // dropped: no handler for their route, and no default handler (answered 404)
	Orphans   uint64 // replies whose request had already ended (timeout, cancel, connection lost)
	// Busy counts messages dropped because ConnConcurrency handlers were busy (answered 503, see
	// ErrorReplies). It was called Rejected before.
	Busy uint64
	// Forged counts messages and replies dropped by the signature check (hydrakit.WithRequiredSignatures):
	// unsigned, signed with no accepted secret, or with a ts outside trust's 2-minute replay window.
	Forged uint64
	// Foreign counts replies dropped because their frm is not the instance the request was sent to
	// (or, for a request to a service address, not an instance of that service). The request goes on
	// waiting for its own reply.
	Foreign    uint64
	Reconnects uint64 // new subscriptions after one was lost, went silent or sat on the wrong node
	Panics     uint64 // handlers that panicked (recovered and logged)
	Duplicates uint64 // dropped: a message whose mid this Conn handled moments ago (a resent PUBLISH)
	// ErrorReplies counts the error replies the Conn sent itself, without a handler: 503 when busy,
	// 404 for a route nobody handles, 400 for a to it cannot read. ErrorRepliesDropped counts those it
	// did not send: over ConnErrorReplyRate, the queue of ErrorReplyQueue full, or the send failed.
	ErrorReplies, ErrorRepliesDropped uint64
	Pending                           int // requests waiting for a reply now
}

// counters are the Conn's Stats; most report to the client's metrics too (bindMetrics).
type counters struct {
	received, handled, replies, malformed, unhandled, orphans, busy, forged, foreign, reconnects, panics,
	duplicates, errorReplies, errorRepliesDropped statcount.Counter
}

// Stats returns the counters.
func (c *Conn) Stats() Stats {
	c.pmu.Lock()
	pending := len(c.pending)
	c.pmu.Unlock()
	s := &c.stats
	return Stats{
		Received: s.received.Load(), Handled: s.handled.Load(), Replies: s.replies.Load(),
		Malformed: s.malformed.Load(), Unhandled: s.unhandled.Load(), Orphans: s.orphans.Load(),
		Busy: s.busy.Load(), Forged: s.forged.Load(), Foreign: s.foreign.Load(),
		Reconnects: s.reconnects.Load(), Panics: s.panics.Load(), Duplicates: s.duplicates.Load(),
		ErrorReplies: s.errorReplies.Load(), ErrorRepliesDropped: s.errorRepliesDropped.Load(),
		Pending: pending,
	}
}
