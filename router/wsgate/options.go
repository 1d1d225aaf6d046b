package wsgate

import (
	"fmt"
	"path"
	"time"

	"github.com/go-kit/log"
)

// Defaults of the options; each bound is documented on its option and in the package doc.
const (
	DefaultMaxClients     = 10000
	DefaultMaxFrameSize   = 64 << 10
	DefaultSendQueue      = 64
	DefaultSendQueueBytes = 1 << 20
	DefaultMaxInFlight    = 32
	DefaultMaxInFlightAll = 4096
	DefaultReplyTimeout   = 30 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultQueueLimit     = 1000
	DefaultQueueTTL       = 24 * time.Hour
	DefaultMaxDirectory   = 100000
)

// GatewayOption configures a Gateway.
type GatewayOption func(*config)

type config struct {
	caller         HTTPCaller
	token          string
	logger         log.Logger
	origins        []string
	anyOrigin      bool
	requireSigned  bool
	maxClients     int
	maxFrame       int
	sendQueue      int
	sendQueueBytes int
	maxInFlight    int
	maxInFlightAll int
	replyTimeout   time.Duration
	writeTimeout   time.Duration
	queueLimit     int
	queueTTL       time.Duration
	maxDirectory   int
	err            error
}

func defaultConfig() config {
	return config{
		maxClients: DefaultMaxClients, maxFrame: DefaultMaxFrameSize,
		sendQueue: DefaultSendQueue, sendQueueBytes: DefaultSendQueueBytes,
		maxInFlight: DefaultMaxInFlight, maxInFlightAll: DefaultMaxInFlightAll,
		replyTimeout: DefaultReplyTimeout, writeTimeout: DefaultWriteTimeout,
		queueLimit: DefaultQueueLimit, queueTTL: DefaultQueueTTL, maxDirectory: DefaultMaxDirectory,
	}
}

// refuse records the first invalid option; New returns it.
func (c *config) refuse(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
}

func positive(c *config, name string, n int, set func()) {
	if n <= 0 {
		c.refuse("%s(%d): must be positive", name, n)
		return
	}
	set()
}

// GatewayHTTPCaller sets who makes the HTTP calls frames addressed svc:[method]/path ask for. Without
// one such frames are answered {"reason":"wsgate: no HTTP caller"}.
func GatewayHTTPCaller(c HTTPCaller) GatewayOption {
	return func(cfg *config) {
		if c == nil {
			cfg.refuse("GatewayHTTPCaller(nil)")
		}
		cfg.caller = c
	}
}

// GatewayRouterToken requires token (the router's routerToken) for frames to the router API
// (hydra-router:[method]/…) and to the broadcast address: the socket must have been opened with
// ?token=<token>. Empty (the default) leaves them open, as hydra-router with routerToken "".
func GatewayRouterToken(token string) GatewayOption { return func(cfg *config) { cfg.token = token } }

// GatewayLogger sets the logger (default the client's). Lines caused by input are rate limited.
func GatewayLogger(logger log.Logger) GatewayOption {
	return func(cfg *config) {
		if logger == nil {
			cfg.refuse("GatewayLogger(nil)")
		}
		cfg.logger = logger
	}
}

// GatewayOrigins allows browsers on other origins whose host (or scheme://host) matches one of the
// path.Match patterns, case-insensitively. By default only same-origin browser pages may connect
// (the Origin's host equals the request's Host); requests without an Origin header (programs, not
// browsers) are always accepted.
func GatewayOrigins(patterns ...string) GatewayOption {
	return func(cfg *config) {
		for _, p := range patterns {
			if _, err := path.Match(p, ""); err != nil {
				cfg.refuse("GatewayOrigins(%q): %v", p, err)
				return
			}
		}
		cfg.origins = append(cfg.origins, patterns...)
	}
}

// GatewayAnyOrigin accepts browser pages of every origin: any web page the user visits may then
// open a socket to the router with the user's cookies.
func GatewayAnyOrigin() GatewayOption { return func(cfg *config) { cfg.anyOrigin = true } }

// GatewayRequireSignatures refuses (error frame, then close) every frame without a valid signature
// made with the client's signing keys (hydrakit.WithSigning), as hydra-router's
// forceMessageSignature does. It is implied by hydrakit.WithRequiredSignatures; New fails without
// signing keys.
func GatewayRequireSignatures() GatewayOption { return func(cfg *config) { cfg.requireSigned = true } }

// GatewayMaxClients bounds the sockets open at once (default DefaultMaxClients); past it an upgrade
// is answered 503.
func GatewayMaxClients(n int) GatewayOption {
	return func(cfg *config) { positive(cfg, "GatewayMaxClients", n, func() { cfg.maxClients = n }) }
}

// GatewayMaxFrameSize bounds an incoming frame in bytes (default DefaultMaxFrameSize); a larger one
// closes the socket with status 1009 (message too big).
func GatewayMaxFrameSize(n int) GatewayOption {
	return func(cfg *config) { positive(cfg, "GatewayMaxFrameSize", n, func() { cfg.maxFrame = n }) }
}

// GatewaySendQueue bounds the frames waiting to be written to one socket, in number (default
// DefaultSendQueue) and in bytes (default DefaultSendQueueBytes). A client that lets it fill is
// disconnected (status 1008, "send queue full"); the messages meant for it that it had not read are
// kept in its reconnect queue.
func GatewaySendQueue(frames, bytes int) GatewayOption {
	return func(cfg *config) {
		positive(cfg, "GatewaySendQueue", frames, func() { cfg.sendQueue = frames })
		positive(cfg, "GatewaySendQueue", bytes, func() { cfg.sendQueueBytes = bytes })
	}
}

// GatewayMaxInFlight bounds the calls (HTTP or pub/sub) one socket has waiting for their answer
// (default DefaultMaxInFlight) and those of all sockets together (default DefaultMaxInFlightAll).
// At the bound the gateway stops reading the socket until a call ends: back-pressure, not an error.
func GatewayMaxInFlight(perClient, total int) GatewayOption {
	return func(cfg *config) {
		positive(cfg, "GatewayMaxInFlight", perClient, func() { cfg.maxInFlight = perClient })
		positive(cfg, "GatewayMaxInFlight", total, func() { cfg.maxInFlightAll = total })
	}
}

// GatewayReplyTimeout bounds the wait for a service's answer (default DefaultReplyTimeout): for an
// HTTP call it is answered {"reason":…} after it; a pub/sub message gets no answer (it may have been
// fire-and-forget) and a reply arriving later is dropped.
func GatewayReplyTimeout(d time.Duration) GatewayOption {
	return func(cfg *config) {
		if d <= 0 {
			cfg.refuse("GatewayReplyTimeout(%v): must be positive", d)
			return
		}
		cfg.replyTimeout = d
	}
}

// GatewayWriteTimeout bounds writing one frame to a socket (default DefaultWriteTimeout); a socket
// that does not take it in time is closed.
func GatewayWriteTimeout(d time.Duration) GatewayOption {
	return func(cfg *config) {
		if d <= 0 {
			cfg.refuse("GatewayWriteTimeout(%v): must be positive", d)
			return
		}
		cfg.writeTimeout = d
	}
}

// GatewayQueue bounds each disconnected client's reconnect queue in Redis: at most limit messages
// (default DefaultQueueLimit; the oldest are dropped, and counted) kept for ttl after the last one
// queued (default DefaultQueueTTL, hydra-router's 24 h).
func GatewayQueue(limit int, ttl time.Duration) GatewayOption {
	return func(cfg *config) {
		positive(cfg, "GatewayQueue", limit, func() { cfg.queueLimit = limit })
		if ttl < time.Second {
			cfg.refuse("GatewayQueue ttl %v: must be at least 1s", ttl)
			return
		}
		cfg.queueTTL = ttl
	}
}

// GatewayMaxDirectory bounds the clients of other routers this gateway remembers (default
// DefaultMaxDirectory); past it further wsdir.add announcements are ignored (and counted), and a fwd
// to such a client is refused as to an unknown one.
func GatewayMaxDirectory(n int) GatewayOption {
	return func(cfg *config) { positive(cfg, "GatewayMaxDirectory", n, func() { cfg.maxDirectory = n }) }
}
