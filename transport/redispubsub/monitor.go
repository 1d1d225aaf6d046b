package redispubsub

import (
	"context"
	"math/rand/v2"
	"time"
)

// probePayload is what the monitor publishes on the Conn's own instance channel. It is not JSON, so
// no UMF reader mistakes it for a message; the reader skips it without counting it.
const probePayload = "hydrakit:probe"

// The monitor's timing (docs/transport.md, "Failure detection"): a probe every second, jittered by
// 10 % so that a fleet does not probe in step; a subscription that has read nothing for 3/4 of that
// after a probe was counted is silent; probes that something suspicious asked for (a resubscription,
// a message nobody received) come at most every 250 ms.
const (
	probeInterval = time.Second
	probeMinGap   = 250 * time.Millisecond
)

// monitor checks that the Conn's subscription works and sits where its client publishes. Every
// probeInterval it publishes a probe on its own instance channel through the client, as any message
// is sent (SPUBLISH on a cluster):
//
//   - a count of 0 means the subscription is not on the node the client publishes to: a Sentinel
//     failover moved the client to the new primary, a cluster slot moved, or a managed Redis's
//     endpoint switched. Messages sent now would not reach this Conn, so it subscribes anew (kick),
//     which reaches the node of the moment, instead of waiting until the old node drops it;
//   - a count of 1 or more, but nothing read for 3/4 of the interval since, means the connection is
//     silent (half-open): the Conn subscribes anew;
//   - an error says nothing about the subscription (Redis is down for the client too, and the reader
//     sees its own loss); the next probe tries again.
//
// It runs until Close and is the Conn's only periodic Redis work: one PUBLISH a second.
func (c *Conn) monitor() {
	defer c.bg.Done()
	timer := time.NewTimer(jittered(c.probe))
	defer timer.Stop()
	var (
		last        time.Time // when the last probe was sent
		outstanding bool      // a counted probe has not been read yet
		sentAt      time.Time // ... sent then,
		readsAt     uint64    // ... when the reader had read this many payloads
		failing     bool      // the last probe failed (logged once, when it starts)
	)
	for {
		select {
		case <-c.done:
			return
		case <-timer.C:
		case <-c.wake:
			timer.Stop() // Go 1.23 timers: no stale value is delivered after Stop or Reset
		}
		now := time.Now()
		c.psMu.Lock()
		gen := c.gen
		c.psMu.Unlock()
		switch {
		case !c.isUp():
			outstanding = false // the reader is subscribing anew
		case outstanding && c.reads.Load() == readsAt && now.Sub(sentAt) >= c.probe*3/4:
			outstanding = false
			c.kick(gen, "subscription silent")
		case now.Sub(last) < probeMinGap:
			timer.Reset(probeMinGap - now.Sub(last))
			continue
		default:
			last = now
			reads := c.reads.Load()
			ctx, cancel := context.WithTimeout(c.ctx, c.probe)
			n, _, err := c.pub.publish(ctx, c.channels[1], []byte(probePayload))
			cancel()
			if err != nil && !failing {
				c.logger.Log("msg", "probe failed; failover and silence go unnoticed until it works", "err", err)
			}
			failing = err != nil
			switch {
			case err != nil:
				outstanding = false
			case n == 0:
				outstanding = false
				c.kick(gen, "the subscription is not on the node the client publishes to (failover?)")
			case !outstanding || c.reads.Load() != readsAt:
				outstanding, sentAt, readsAt = true, now, reads
			}
		}
		timer.Reset(jittered(c.probe))
	}
}

// poke asks the monitor to probe soon (within probeMinGap of the last probe).
func (c *Conn) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// jittered is d ± 10 %.
func jittered(d time.Duration) time.Duration {
	return d - d/10 + rand.N(d/5+1)
}
