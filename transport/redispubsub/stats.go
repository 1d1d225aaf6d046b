package redispubsub

import "sync/atomic"

// Stats is a snapshot of a Conn's counters: what it dropped tells how to size ConnConcurrency
// (Rejected) and ConnMaxMessageSize (Malformed).
type Stats struct {
	Received   uint64 // payloads read from either channel (not the monitor's probes)
	Handled    uint64 // messages handed to a handler
	Replies    uint64 // replies matched to a waiting request
	Malformed  uint64 // dropped: not JSON, wrong types, no to, or over ConnMaxMessageSize
	Unhandled  uint64 // dropped: no handler for their route, and no default handler
	Orphans    uint64 // replies whose request had already ended (timeout, cancel, connection lost)
	Rejected   uint64 // dropped: ConnConcurrency handlers were busy
	Reconnects uint64 // new subscriptions after one was lost, went silent or sat on the wrong node
	Panics     uint64 // handlers that panicked (recovered and logged)
	Duplicates uint64 // dropped: a message whose mid this Conn handled moments ago (a resent PUBLISH)
	Pending    int    // requests waiting for a reply now
}

type counters struct {
	received, handled, replies, malformed, unhandled, orphans, rejected, reconnects, panics, duplicates atomic.Uint64
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
		Rejected: s.rejected.Load(), Reconnects: s.reconnects.Load(), Panics: s.panics.Load(),
		Duplicates: s.duplicates.Load(), Pending: pending,
	}
}
