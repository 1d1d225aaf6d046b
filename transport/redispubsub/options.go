package redispubsub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/kit/sd"
)

// ConnOption configures a Conn. NewConn refuses an invalid one with an error wrapping ErrConfig.
type ConnOption func(*connConfig)

// connConfig is what the options set. Unexported fields without an option are the knobs no user
// should need to turn (see the constants below); internal tests set them with options of their own.
type connConfig struct {
	maxPending     int
	concurrency    int
	maxSize        int
	probe          time.Duration
	subTimeout     time.Duration
	pubTimeout     time.Duration
	maxBatch       int
	errorReplyRate int
	closeGrace     time.Duration
	newInstancer   func(service string) (sd.Instancer, error)                  // tests: discovery without Redis
	lookup         func(ctx context.Context, service string) ([]string, error) // tests: reply lookups without Redis
	err            error
}

// The Conn's fixed settings. They bound failure detection and batching, and no workload we measured
// is better served by other values (docs/transport.md explains each):
const (
	// subscribeTimeout bounds the wait for the subscription confirmations in NewConn and in every
	// attempt to subscribe again after a loss.
	subscribeTimeout = 5 * time.Second
	// publishTimeout bounds a pipeline of coalesced PUBLISHes; a PUBLISH that goes alone is bounded by
	// its caller's context and the go-redis client's own timeouts.
	publishTimeout = 5 * time.Second
	// maxBatch bounds how many concurrent PUBLISHes share one pipeline.
	maxBatch = 128
	// closeGrace is how long Close waits for handlers after cancelling their context.
	closeGrace = 10 * time.Second
)

func defaultConnConfig() connConfig {
	return connConfig{
		maxPending: 10000, concurrency: 1024, maxSize: 1 << 20,
		probe: probeInterval, subTimeout: subscribeTimeout, pubTimeout: publishTimeout, maxBatch: maxBatch,
		closeGrace: closeGrace, errorReplyRate: 1000,
	}
}

func (c *connConfig) refuse(format string, args ...any) {
	c.err = errors.Join(c.err, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
}

// ConnMaxPending bounds the requests waiting for a reply (default 10000); past it requests fail
// with ErrTooManyPending. Zero or less is refused.
func ConnMaxPending(n int) ConnOption {
	return func(c *connConfig) {
		if n <= 0 {
			c.refuse("ConnMaxPending(%d): must be positive", n)
		}
		c.maxPending = n
	}
}

// ConnConcurrency bounds the handlers running at once (default 1024); a message arriving while all
// are busy is dropped, counted in Stats().Busy and answered with a 503 error reply (ErrBusy). Zero or
// less is refused.
func ConnConcurrency(n int) ConnOption {
	return func(c *connConfig) {
		if n <= 0 {
			c.refuse("ConnConcurrency(%d): must be positive", n)
		}
		c.concurrency = n
	}
}

// ConnErrorReplyRate bounds the error replies the Conn sends by itself (503 when busy, 404 for a route
// nobody handles, 400 for a to it cannot read) to perSecond a second, with a burst of as many (default
// 1000): each answers one message that reached this instance and is about its size, so they can never
// amplify a flood, and this bounds what a flood of unservable messages costs. Over it, the caller
// waits for its own deadline. 0 sends none (Node services answer nothing either); less is refused.
func ConnErrorReplyRate(perSecond int) ConnOption {
	return func(c *connConfig) {
		if perSecond < 0 {
			c.refuse("ConnErrorReplyRate(%d): must not be negative", perSecond)
		}
		c.errorReplyRate = perSecond
	}
}

// ConnMaxMessageSize drops (and counts in Stats().Malformed) payloads larger than n bytes (default
// 1 MiB). Zero or less is refused.
func ConnMaxMessageSize(n int) ConnOption {
	return func(c *connConfig) {
		if n <= 0 {
			c.refuse("ConnMaxMessageSize(%d): must be positive", n)
		}
		c.maxSize = n
	}
}
