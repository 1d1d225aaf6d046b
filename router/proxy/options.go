package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker"
)

// ErrConfig is returned by New for an invalid argument or option.
var ErrConfig = errors.New("proxy: invalid configuration")

// Defaults of the options.
const (
	DefaultTimeout             = 5 * time.Second // hydra-router's requestTimeout
	DefaultAttempts            = 3
	DefaultRetryBuffer         = 1 << 20 // 1 MiB
	DefaultMaxEnvelope         = 8 << 20 // 8 MiB
	DefaultMaxServices         = 256
	DefaultMaxConnsPerInstance = 512
)

// ProxyOption configures a Proxy.
type ProxyOption func(*config)

type config struct {
	registerer  prometheus.Registerer
	timeout     time.Duration
	cors        []corsHeader
	attempts    int
	retryBuffer int
	maxEnvelope int
	maxServices int
	maxConns    int
	breaker     func(instance string) gobreaker.Settings
	afterFunc   func(time.Duration, func()) progressTimer // time.AfterFunc; tests fire it themselves
	errs        []string
}

// progressTimer is the timer of a call's time without progress: a *time.Timer.
type progressTimer interface {
	Stop() bool
	Reset(time.Duration) bool
}

func afterFunc(d time.Duration, f func()) progressTimer { return time.AfterFunc(d, f) }

func (c *config) refuse(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// ProxyRegisterer registers the Proxy's metrics on r instead of nowhere; several Proxies need
// registerers of their own.
func ProxyRegisterer(r prometheus.Registerer) ProxyOption {
	return func(c *config) {
		if r == nil {
			c.refuse("nil Registerer")
		}
		c.registerer = r
	}
}

// ProxyTimeout is how long a request may go without progress: until the service's answer begins,
// and then between two reads of its body (hydra's socket timeout, hydra-router's requestTimeout).
// Default DefaultTimeout.
func ProxyTimeout(d time.Duration) ProxyOption {
	return func(c *config) {
		if d <= 0 {
			c.refuse("timeout %v", d)
		}
		c.timeout = d
	}
}

// ProxyCORS sets the headers added to every answer, routed or the Proxy's own, as hydra-router adds
// its config's cors block: keys are written as spelled here, replacing the service's.
func ProxyCORS(h http.Header) ProxyOption {
	return func(c *config) {
		c.cors = c.cors[:0]
		for k, v := range h {
			c.cors = append(c.cors, corsHeader{canonical: http.CanonicalHeaderKey(k), name: k, values: slices.Clone(v)})
		}
	}
}

// corsHeader is a configured CORS header with its canonical name worked out once: every answer sets
// the whole block, and canonicalising an odd-case name on each one is an allocation.
type corsHeader struct {
	canonical, name string
	values          []string
}

// ProxyAttempts is how many instances one request may be sent to (default DefaultAttempts); only an
// idempotent request, or one that was not sent at all, is tried again.
func ProxyAttempts(n int) ProxyOption {
	return func(c *config) {
		if n < 1 {
			c.refuse("attempts %d", n)
		}
		c.attempts = n
	}
}

// ProxyRetryBuffer is how much of an idempotent request's body is kept in memory so that it can be
// sent again (default DefaultRetryBuffer). 0 keeps nothing: only requests without a body, or not
// sent at all, are retried.
func ProxyRetryBuffer(n int) ProxyOption {
	return func(c *config) {
		if n < 0 {
			c.refuse("retry buffer %d", n)
		}
		c.retryBuffer = n
	}
}

// ProxyMaxEnvelope is the largest JSON answer merged into hydra's envelope (default
// DefaultMaxEnvelope); a longer one passes through raw. It also bounds what CallHTTP reads.
func ProxyMaxEnvelope(n int) ProxyOption {
	return func(c *config) {
		if n < 1 {
			c.refuse("max envelope %d", n)
		}
		c.maxEnvelope = n
	}
}

// ProxyMaxServices bounds the services followed at once (default DefaultMaxServices).
func ProxyMaxServices(n int) ProxyOption {
	return func(c *config) {
		if n < 1 {
			c.refuse("max services %d", n)
		}
		c.maxServices = n
	}
}

// ProxyMaxConnsPerInstance bounds the connections to one instance (default
// DefaultMaxConnsPerInstance); requests past it wait for one.
func ProxyMaxConnsPerInstance(n int) ProxyOption {
	return func(c *config) {
		if n < 1 {
			c.refuse("max conns %d", n)
		}
		c.maxConns = n
	}
}

// ProxyBreaker sets the settings of each instance's breaker (instance is its host:port). The default
// opens after 3 consecutive failures to connect or answer, for 5 s, then lets one request through.
// A service's answer, whatever its status, is no failure of the instance.
func ProxyBreaker(f func(instance string) gobreaker.Settings) ProxyOption {
	return func(c *config) {
		if f == nil {
			c.refuse("nil breaker settings")
		}
		c.breaker = f
	}
}

func defaultBreaker(instance string) gobreaker.Settings {
	return gobreaker.Settings{
		Name:        instance,
		MaxRequests: 1,
		Timeout:     5 * time.Second,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 3 },
	}
}
