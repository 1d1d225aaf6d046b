package proxy

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httputil"
	"sort"
	"sync"
	"time"

	"github.com/go-kit/log"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/fleet"
	"github.com/hydrakit/hydrakit/internal/ratelog"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/router/dashboard"
)

// ErrClosed is what Live and CallHTTP report once the Proxy is closed.
var ErrClosed = errors.New("proxy: closed")

// Proxy forwards routed HTTP requests to the live instances of services. It is safe for concurrent
// use; Close stops it.
type Proxy struct {
	client    *hydrakit.Client
	cfg       config
	logger    log.Logger // rate limited: what requests trigger
	metrics   *metrics
	transport *http.Transport
	rp        *httputil.ReverseProxy
	services  followers
	starting  sync.WaitGroup // followers being started or dropped
}

// New returns a Proxy that finds instances through client. Options are validated here; errors wrap
// ErrConfig.
func New(client *hydrakit.Client, options ...ProxyOption) (*Proxy, error) {
	state := fleet.Of(client)
	if state == nil {
		return nil, fmt.Errorf("%w: nil client", ErrConfig)
	}
	c := config{
		timeout: DefaultTimeout, attempts: DefaultAttempts, retryBuffer: DefaultRetryBuffer,
		maxEnvelope: DefaultMaxEnvelope, maxServices: DefaultMaxServices, maxConns: DefaultMaxConnsPerInstance,
		breaker: defaultBreaker, afterFunc: afterFunc,
	}
	for _, o := range options {
		if o == nil {
			c.refuse("nil ProxyOption")
			continue
		}
		o(&c)
	}
	if len(c.errs) > 0 {
		return nil, fmt.Errorf("%w: %v", ErrConfig, c.errs)
	}
	m, err := newMetrics(c.registerer)
	if err != nil {
		return nil, err
	}
	logger := ratelog.New(log.With(state.Logger, "component", "router/proxy"), 10)
	p := &Proxy{client: client, cfg: c, logger: logger, metrics: m}
	p.services.byName = map[string]*follower{}
	p.transport = &http.Transport{
		Proxy:                 nil, // instances are reached directly
		DialContext:           (&net.Dialer{Timeout: c.timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   c.maxConns,
		MaxConnsPerHost:       c.maxConns,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true, // bodies pass through as the service encoded them
		ExpectContinueTimeout: time.Second,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      balancing{p},
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.errorHandler,
		ErrorLog:       stdlog.New(logWriter{logger}, "", 0),
		BufferPool:     bufferPool{},
	}
	return p, nil
}

// Live reports whether service has at least one live instance. The first ask for a service starts
// following it and may wait for its first lookup, as long as ctx allows.
func (p *Proxy) Live(ctx context.Context, service string) bool {
	f, err := p.follow(ctx, service)
	return err == nil && f.listed.Load() > 0
}

// Instances returns the host:port of the instances of service the Proxy balances over now, sorted;
// nil when it does not follow service (yet).
func (p *Proxy) Instances(service string) []string {
	s := &p.services
	s.mu.RLock()
	f := s.byName[service]
	s.mu.RUnlock()
	if f == nil {
		return nil
	}
	select {
	case <-f.ready:
	default:
		return nil
	}
	return f.addrs()
}

// follow returns the follower of service, starting it on first use; at most ProxyMaxServices are
// followed, the least recently used one is dropped to make room.
func (p *Proxy) follow(ctx context.Context, service string) (*follower, error) {
	name, err := keyspace.ValidateService(service)
	if err != nil {
		return nil, err
	}
	s := &p.services
	s.mu.RLock() // the common case: followed already
	if f := s.byName[name]; f != nil {
		s.mu.RUnlock()
		f.lastUsed.Store(s.uses.Add(1))
		return p.ready(ctx, f)
	}
	s.mu.RUnlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	f := s.byName[name]
	var evicted *follower
	if f == nil {
		if len(s.byName) >= p.cfg.maxServices {
			for _, g := range s.byName {
				if evicted == nil || g.lastUsed.Load() < evicted.lastUsed.Load() {
					evicted = g
				}
			}
			delete(s.byName, evicted.service)
		}
		f = &follower{p: p, service: name, ready: make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{})}
		s.byName[name] = f
		p.starting.Add(1)
		go func() { defer p.starting.Done(); f.start() }()
	}
	f.lastUsed.Store(s.uses.Add(1))
	if evicted != nil {
		p.starting.Add(1) // under the lock: Close waits for it
		go func() { defer p.starting.Done(); p.drop(evicted) }()
	}
	s.mu.Unlock()
	return p.ready(ctx, f)
}

// ready waits for f's first lookup; a follower that failed to start is forgotten, to be tried anew.
func (p *Proxy) ready(ctx context.Context, f *follower) (*follower, error) {
	select {
	case <-f.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if f.err != nil {
		s := &p.services
		s.mu.Lock()
		if s.byName[f.service] == f {
			delete(s.byName, f.service)
		}
		s.mu.Unlock()
		return nil, f.err
	}
	return f, nil
}

// drop stops an evicted follower and forgets its series and counts.
func (p *Proxy) drop(f *follower) {
	f.stop()
	p.metrics.forgetService(f.service)
}

// Traffic returns the cumulative requests and errors (answers with a 5xx status, the Proxy's own
// 503s included) of each followed service, sorted by service.
func (p *Proxy) Traffic() []dashboard.Traffic {
	s := &p.services
	s.mu.Lock()
	out := make([]dashboard.Traffic, 0, len(s.byName))
	for name, f := range s.byName {
		out = append(out, dashboard.Traffic{Service: name, Requests: f.requests.Load(), Errors: f.errors.Load()})
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// Close stops following every service and closes idle connections. Requests in flight finish on
// what they hold. It is idempotent.
func (p *Proxy) Close() error {
	s := &p.services
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	all := make([]*follower, 0, len(s.byName))
	for _, f := range s.byName {
		all = append(all, f)
	}
	s.byName = nil
	s.mu.Unlock()
	for _, f := range all {
		f.stop()
	}
	p.starting.Wait()
	p.transport.CloseIdleConnections()
	return nil
}

// logWriter hands net/http's log lines (a client gone mid-answer, for one) to the rate-limited logger.
type logWriter struct{ l log.Logger }

func (w logWriter) Write(b []byte) (int, error) {
	w.l.Log("msg", "reverse proxy", "err", string(trimNewline(b)))
	return len(b), nil
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}

// bufferPool recycles ReverseProxy's copy buffers.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }
