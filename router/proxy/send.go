package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/sony/gobreaker"
)

var (
	errTried      = errors.New("proxy: instance already tried")
	errCallerGone = errors.New("proxy: caller gone")
	errTimeout    = errors.New("proxy: request timeout")
)

// failure is why a request got no answer from the service: kind picks hydra's 503 reason.
type failure struct {
	none bool  // no instance listed: "Unavailable <svc> instances"; else "An instance of <svc> is unavailable"
	err  error // the last instance's error, or errTimeout
}

func (f *failure) Error() string {
	if f.err == nil {
		return "proxy: no instances"
	}
	return "proxy: unavailable: " + f.err.Error()
}
func (f *failure) Unwrap() error { return f.err }

type callKey struct{}

// call is one routed request's state, shared by its attempts (made one after the other).
type call struct {
	service    string
	f          *follower
	target     *url.URL
	tracer     string
	method     string
	acceptGzip bool
	clientCtx  context.Context // the request's own
	ctx        context.Context // clientCtx, ended by the timeout too
	timer      progressTimer
	timeout    time.Duration

	replay     []byte       // the whole body, kept for retries
	replayable bool         // the request may be sent again after it may have reached an instance
	stream     *trackedBody // the body when it is not kept

	tried  []string // instances that failed this request
	status int      // the answer's status; 499 when the client left first
	reason string   // error reason for the metrics, "" for none
}

func callOf(ctx context.Context) *call { return ctx.Value(callKey{}).(*call) }

func (c *call) triedAddr(addr string) bool { return slices.Contains(c.tried, addr) }

// idempotent reports whether a request may be sent twice: RFC 9110's idempotent methods, and a
// request carrying an Idempotency-Key (as net/http's Transport treats it).
func idempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	_, key := r.Header["Idempotency-Key"]
	_, xkey := r.Header["X-Idempotency-Key"]
	return key || xkey
}

// prepareBody decides how the body is sent: kept in memory (up to the retry buffer) for an
// idempotent request, so that it can be sent again; streamed otherwise, and then sent again only if
// no byte of it was read. It returns false when the client's body could not be read.
func (p *Proxy) prepareBody(c *call, r *http.Request) bool {
	again := idempotent(r)
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		c.replayable = again
		return true
	}
	if again && p.cfg.retryBuffer > 0 && r.ContentLength <= int64(p.cfg.retryBuffer) {
		buf, err := io.ReadAll(io.LimitReader(r.Body, int64(p.cfg.retryBuffer)+1))
		if err != nil {
			return false
		}
		if len(buf) <= p.cfg.retryBuffer {
			c.replay, c.replayable = buf, true
			return true
		}
		c.stream = &trackedBody{r: io.MultiReader(bytes.NewReader(buf), r.Body)}
		return true
	}
	c.stream = &trackedBody{r: r.Body}
	return true
}

// bodyFor returns an attempt's body and its GetBody (net/http's Transport sends a request again on a
// fresh connection by itself when the first one failed before writing, if it can get the body anew).
func (c *call) bodyFor() (io.ReadCloser, func() (io.ReadCloser, error)) {
	switch {
	case c.replay != nil:
		get := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(c.replay)), nil }
		b, _ := get()
		return b, get
	case c.stream != nil:
		return c.stream, c.stream.again
	}
	return nil, nil
}

// trackedBody is a streamed request body: it knows whether any of it was read, and its Close is left
// to the server (an attempt that failed must not close it for the next).
type trackedBody struct {
	r    io.Reader
	read atomic.Bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		b.read.Store(true)
	}
	return n, err
}

func (b *trackedBody) Close() error { return nil }

func (b *trackedBody) again() (io.ReadCloser, error) {
	if b.read.Load() {
		return nil, errors.New("proxy: streamed body already sent")
	}
	return b, nil
}

// attempt is one send of a call to one instance.
type attempt struct {
	c       *call
	req     *http.Request
	addr    string
	gotConn atomic.Bool // a connection to the instance was had: the request may have reached it
}

// mayHaveArrived reports whether the instance may have seen the request: not when no connection was
// had, nor when the last try was a dial (net/http tries a fresh connection only after nothing was
// written on a reused one).
func (a *attempt) mayHaveArrived(err error) bool {
	var op *net.OpError
	return a.gotConn.Load() && !(errors.As(err, &op) && op.Op == "dial")
}

// sendEndpoint is the endpoint of one instance (inside its breaker): one HTTP send to addr.
func (p *Proxy) sendEndpoint(addr string) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		a := request.(*attempt)
		trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { a.gotConn.Store(true) }}
		out := a.req.WithContext(httptrace.WithClientTrace(ctx, trace))
		u := *a.req.URL
		u.Host = addr
		out.URL = &u
		out.Body, out.GetBody = a.c.bodyFor()
		resp, err := p.transport.RoundTrip(out)
		if err != nil {
			if a.c.clientCtx.Err() != nil {
				return nil, errors.Join(errCallerGone, err)
			}
			if context.Cause(a.c.ctx) == errTimeout {
				return nil, errors.Join(errTimeout, err)
			}
			return nil, err
		}
		return resp, nil
	}
}

// balancing is the ReverseProxy's transport: it sends the request to the service's instances in
// round-robin order, one after the other, until one answers or the retry policy says stop.
type balancing struct{ p *Proxy }

func (b balancing) RoundTrip(req *http.Request) (*http.Response, error) {
	p := b.p
	c := callOf(req.Context())
	var last error
	sends, skips, listed := 0, 0, false
	for {
		eps, _ := c.f.Endpoints()
		e, err := c.f.rr.Endpoint()
		if err != nil || len(eps) == 0 {
			if !listed {
				return nil, &failure{none: true}
			}
			return nil, &failure{err: last}
		}
		listed = true
		a := &attempt{c: c, req: req}
		resp, err := e(c.ctx, a)
		if err == nil {
			p.metrics.attempts.With("service", c.service, "instance", a.addr, "outcome", "ok").Add(1)
			r := resp.(*http.Response)
			if r.StatusCode == http.StatusSwitchingProtocols {
				c.timer.Stop() // an upgraded connection (a WebSocket) lives as long as its ends want
				return r, nil
			}
			c.timer.Reset(c.timeout) // from here the timeout is the time without progress
			r.Body = &idleBody{ReadCloser: r.Body, c: c}
			return r, nil
		}
		if errors.Is(err, errTried) || errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			if !errors.Is(err, errTried) {
				p.metrics.attempts.With("service", c.service, "instance", a.addr, "outcome", "breaker_open").Add(1)
				if last == nil {
					last = err
				}
			}
			if skips++; skips > 2*len(eps) {
				return nil, &failure{err: last}
			}
			continue
		}
		p.metrics.attempts.With("service", c.service, "instance", a.addr, "outcome", "error").Add(1)
		c.tried = append(c.tried, a.addr)
		sends++
		last = err
		switch {
		case errors.Is(err, errCallerGone):
			return nil, err
		case errors.Is(err, errTimeout):
			return nil, &failure{err: err}
		case !c.replayable && (a.mayHaveArrived(err) || c.stream != nil && c.stream.read.Load()), sends >= p.cfg.attempts:
			return nil, &failure{err: err}
		}
	}
}

// idleBody is the service's answer body: each read that makes progress gives the call its timeout
// anew; closing it stops the timeout.
type idleBody struct {
	io.ReadCloser
	c *call
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.c.timer.Reset(b.c.timeout)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.c.timer.Stop()
	return b.ReadCloser.Close()
}

// shortID is hydra's Utils.shortID: a random integer below 2^53 in base 36.
func shortID() string { return strconv.FormatUint(rand.Uint64N(1<<53), 36) }

// acceptsGzip reports whether the client takes a gzip answer (hydra-router: the header mentions gzip).
func acceptsGzip(h http.Header) bool {
	for _, v := range h.Values("Accept-Encoding") {
		if strings.Contains(v, "gzip") {
			return true
		}
	}
	return false
}
