package router

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/hydrakit/hydrakit/router/dashboard"
	"github.com/hydrakit/hydrakit/router/wsgate"
)

// ErrConfig is returned by New for an invalid argument or option.
var ErrConfig = errors.New("router: invalid configuration")

// Defaults and bounds.
const (
	DefaultTimeout    = 5 * time.Second  // hydra-router's requestTimeout default
	DefaultRouteWatch = 5 * time.Second  // how often the whole route table is re-read
	MaxServices       = 1024             // services in the route table; more are left out (logged)
	MaxRoutes         = 1024             // routes of one service; more are left out (logged)
	MaxAPIBody        = 1 << 20          // bytes of a POST to the router API
	StreamMaxLen      = 100000           // approximate length /v1/router/stream/:name trims streams to
	statsServices     = 256              // services counted per stats table; more are not counted
	logEntries        = 100              // entries of /v1/router/log
	clearAfter        = 5 * time.Second  // /v1/router/clear drops nodes entries older than this
	loadTimeout       = 10 * time.Second // one read of the route table
)

// DefaultCORS is the cors block of hydra-router's sample config, keys as written there (the odd-case
// access-control-Max-Age included): hydra-router adds it to every answer it writes itself.
func DefaultCORS() map[string]string {
	return map[string]string{
		"access-control-allow-origin":      "*",
		"access-control-allow-methods":     "GET, POST, PUT, DELETE, OPTIONS",
		"access-control-allow-headers":     "accept, authorization, cache-control, content-type, x-requested-with",
		"access-control-allow-credentials": "true",
		"access-control-Max-Age":           "10",
	}
}

// forwarder is what the router needs from package router/proxy: presence, forwarding, the HTTP
// calls of WebSocket frames, the instances balanced over, and traffic counts for the dashboard.
type forwarder interface {
	Live(ctx context.Context, service string) bool
	Forward(w http.ResponseWriter, r *http.Request, service, target string)
	CallHTTP(ctx context.Context, service, method, target string, header http.Header, body []byte) (wsgate.HTTPResponse, error)
	Instances(service string) []string
	Traffic() []dashboard.Traffic
	Close() error
}

type config struct {
	token      string
	disableAPI bool
	cors       map[string]string
	timeout    time.Duration
	ip         string
	port       int
	external   map[string][]string
	watch      time.Duration
	forwarder  forwarder
}

// RouterOption configures a Router.
type RouterOption func(*config) error

// RouterToken protects the router API and the dashboard as hydra-router's routerToken does: every
// call needs ?token=<token>. It must be a version 4 UUID, or empty for no protection (the default).
func RouterToken(token string) RouterOption {
	return func(c *config) error {
		if token != "" {
			u, err := uuid.Parse(token)
			if err != nil || u.Version() != 4 || len(token) != 36 {
				return fmt.Errorf("%w: routerToken must be a version 4 UUID or empty", ErrConfig)
			}
		}
		c.token = token
		return nil
	}
}

// RouterDisableAPI makes the router API (/v1/router/…) and the dashboard answer 404, as
// hydra-router's disableRouterEndpoint does.
func RouterDisableAPI() RouterOption {
	return func(c *config) error { c.disableAPI = true; return nil }
}

// RouterCORS replaces the CORS headers the router adds to the answers it writes itself and to
// routed answers; keys are written exactly as given. Default DefaultCORS(); an empty map sends none.
func RouterCORS(headers map[string]string) RouterOption {
	return func(c *config) error {
		c.cors = make(map[string]string, len(headers))
		for k, v := range headers {
			if k == "" {
				return fmt.Errorf("%w: empty CORS header name", ErrConfig)
			}
			c.cors[k] = v
		}
		return nil
	}
}

// RouterTimeout bounds a routed request (hydra-router's requestTimeout). Default DefaultTimeout.
func RouterTimeout(d time.Duration) RouterOption {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: timeout %v", ErrConfig, d)
		}
		c.timeout = d
		return nil
	}
}

// RouterAdvertise sets the address the router registers (ip and port in its nodes entry), where
// other routers, hydra-cli and the dashboard reach it. Default: this host's address, port 0.
func RouterAdvertise(ip string, port int) RouterOption {
	return func(c *config) error {
		if port < 0 || port > 65535 {
			return fmt.Errorf("%w: port %d", ErrConfig, port)
		}
		c.ip, c.port = ip, port
		return nil
	}
}

// RouterExternalRoutes adds hydra-router's externalRoutes: base URL → route patterns, matched like
// a service's routes, the request forwarded to the URL with its path and query.
func RouterExternalRoutes(routes map[string][]string) RouterOption {
	return func(c *config) error {
		c.external = map[string][]string{}
		for base, patterns := range routes {
			u, err := url.Parse(base)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("%w: external route base %q is no http(s) URL", ErrConfig, base)
			}
			for _, p := range patterns {
				if _, err := compilePattern(p); err != nil {
					return fmt.Errorf("%w: %w", ErrConfig, err)
				}
			}
			c.external[base] = append([]string(nil), patterns...)
		}
		return nil
	}
}

// RouterRouteWatch sets how often the router re-reads every service's routes, beside the
// hydra-router:/refresh broadcasts. Default DefaultRouteWatch.
func RouterRouteWatch(d time.Duration) RouterOption {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: route watch %v", ErrConfig, d)
		}
		c.watch = d
		return nil
	}
}

// routerForwarder sets the forwarder (tests; the real proxy otherwise).
func routerForwarder(f forwarder) RouterOption {
	return func(c *config) error { c.forwarder = f; return nil }
}

func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
