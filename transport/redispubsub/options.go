package redispubsub

import (
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit/keyspace"
)

// ConnOption configures a Conn.
type ConnOption func(*Conn)

// ConnLogger sets the logger; the default discards.
func ConnLogger(logger log.Logger) ConnOption { return func(c *Conn) { c.logger = logger } }

// ConnKeyspace sets the key scheme; the default is Node Hydra's.
func ConnKeyspace(s keyspace.Scheme) ConnOption { return func(c *Conn) { c.keys = s } }

// ConnInstanceLister sets how instances of a service are found for service addresses.
func ConnInstanceLister(l InstanceLister) ConnOption { return func(c *Conn) { c.lister = l } }

// ConnMaxPending bounds the requests waiting for a reply (default 10000); past it requests fail
// with ErrTooManyPending.
func ConnMaxPending(n int) ConnOption { return func(c *Conn) { c.maxPending = n } }

// ConnConcurrency bounds the handlers running at once (default 1024).
func ConnConcurrency(n int) ConnOption {
	return func(c *Conn) { c.concurrency = make(chan struct{}, max(n, 1)) }
}

// ConnMaxMessageSize drops (and counts as malformed) payloads larger than n bytes (default 1 MiB).
func ConnMaxMessageSize(n int) ConnOption { return func(c *Conn) { c.maxSize = n } }

// ConnHealthCheck sets how long the connection may stay silent before it is pinged; an unanswered
// ping after as long again counts as a lost connection (default 3 s, as go-redis).
func ConnHealthCheck(d time.Duration) ConnOption { return func(c *Conn) { c.health = d } }

// ConnSubscribeTimeout bounds the wait for the subscription confirmation in NewConn (default 5 s).
func ConnSubscribeTimeout(d time.Duration) ConnOption { return func(c *Conn) { c.subTimeout = d } }

// ConnPublishTimeout bounds a pipeline of coalesced PUBLISHes (default 5 s). A PUBLISH that goes
// alone is bounded by its caller's context and the client's own timeouts.
func ConnPublishTimeout(d time.Duration) ConnOption { return func(c *Conn) { c.pubTimeout = d } }

// ConnMaxBatch bounds how many concurrent PUBLISHes share one pipeline (default 128).
func ConnMaxBatch(n int) ConnOption { return func(c *Conn) { c.maxBatch = max(n, 1) } }

// ConnHandOffAfter bounds how long a handler may run on the goroutine that reads the subscription
// before reading is handed to another goroutine (default 5 ms). On an idle Conn a message is handled
// by the reading goroutine itself, which saves a goroutine wake-up per request; a handler that runs
// longer, or waits for a reply on this Conn, has reading taken over, so no message waits more than
// about d behind it. 0 hands reading over before every handler.
func ConnHandOffAfter(d time.Duration) ConnOption {
	return func(c *Conn) { c.handOffAfter = max(d, 0) }
}
