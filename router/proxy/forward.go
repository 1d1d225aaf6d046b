package proxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hydrakit/hydrakit/router/internal/envelope"
	"github.com/hydrakit/hydrakit/router/wsgate"
)

// Forward sends r to one live instance of service as target (the path and query the service sees)
// and writes its answer to w. The body passes through untouched and streamed; the answer too, except
// a JSON object, which is merged into hydra's envelope as hydra-router does (and gzipped when the
// client accepts gzip). With no instance listed it answers hydra-router's 503 "Unavailable <svc>
// instances"; when none could be reached, or none answered within the timeout, "An instance of <svc>
// is unavailable".
func (p *Proxy) Forward(w http.ResponseWriter, r *http.Request, service, target string) {
	start := time.Now()
	c := &call{
		service: service, tracer: shortID(), method: r.Method, acceptGzip: acceptsGzip(r.Header),
		clientCtx: r.Context(), timeout: p.cfg.timeout,
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	c.ctx = context.WithValue(ctx, callKey{}, c)
	c.timer = p.cfg.afterFunc(p.cfg.timeout, func() { cancel(errTimeout) })
	defer c.timer.Stop()

	u, err := url.ParseRequestURI(target)
	if err != nil {
		p.writeEnvelope(w, http.StatusBadRequest, reason("Invalid target "+strconv.Quote(target)), c.tracer)
		return
	}
	c.target = u
	f, err := p.follow(c.ctx, service)
	switch {
	case r.Context().Err() != nil:
		return
	case err != nil:
		p.writeFailure(w, c, &failure{none: true})
		p.logger.Log("msg", "no instances", "service", service, "tracer", c.tracer, "err", err)
		return
	}
	c.f = f
	defer p.account(c, start)
	if !p.prepareBody(c, r) {
		c.status = 499
		return
	}
	p.rp.ServeHTTP(w, r.WithContext(c.ctx))
}

// account counts an answered request.
func (p *Proxy) account(c *call, start time.Time) {
	c.f.requests.Add(1)
	if c.status >= 500 {
		c.f.errors.Add(1)
		if c.reason == "" {
			c.reason = "service_5xx"
		}
	}
	if c.reason != "" {
		p.metrics.errors.With("service", c.service, "reason", c.reason).Add(1)
	}
	p.metrics.requests.With("service", c.service, "code", strconv.Itoa(c.status)).Add(1)
	p.metrics.latency.With("service", c.service).Observe(time.Since(start).Seconds())
}

// rewrite makes the request to the service: the target, the client's Host kept (as hydra-router
// sends it), X-Forwarded-For/Host/Proto, and the tracer. ReverseProxy has already removed the
// hop-by-hop headers (RFC 9110 7.6.1, those named by Connection included).
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	c := callOf(pr.Out.Context())
	out := pr.Out
	out.URL.Scheme, out.URL.Host = "http", c.service // the host is each attempt's instance
	out.URL.Path, out.URL.RawPath, out.URL.RawQuery = c.target.Path, c.target.RawPath, c.target.RawQuery
	out.Host = pr.In.Host
	// The client's X-Forwarded-For is kept and this hop appended (hydra-router passes every client
	// header on): a service trusts only the hops it knows.
	out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
	pr.SetXForwarded()
	out.Header.Set("X-Hydra-Tracer", c.tracer)
}

// modifyResponse shapes the service's answer as hydra-router does: x-hydra-tracer and the CORS
// headers added, a JSON object merged into hydra's envelope.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	c := callOf(resp.Request.Context())
	c.status = resp.StatusCode
	h := resp.Header
	h.Set("X-Hydra-Tracer", c.tracer)
	p.addCORS(h)
	if !p.mergeable(c, resp) {
		return nil
	}
	raw, err := readUpTo(resp.Body, p.cfg.maxEnvelope)
	if err != nil {
		return &failure{err: err}
	}
	if len(raw) > p.cfg.maxEnvelope { // too long to merge: the rest streams after what was read
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(raw), resp.Body), resp.Body}
		return nil
	}
	resp.Body.Close()
	plain := raw
	gzipped := strings.EqualFold(h.Get("Content-Encoding"), "gzip")
	if gzipped {
		if plain, err = gunzip(raw, p.cfg.maxEnvelope); err != nil {
			resp.Body = io.NopCloser(bytes.NewReader(raw)) // not gzip after all: through as it came
			return nil
		}
	}
	merged, err := envelope.Merge(resp.StatusCode, plain)
	if err != nil { // an array, a scalar, not JSON at all: through as it came
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		return nil
	}
	h.Del("Content-Encoding")
	if c.acceptGzip {
		merged = gzipBytes(merged)
		h.Set("Content-Encoding", "gzip")
	}
	h.Add("Vary", "Accept-Encoding")
	h.Set("Content-Length", strconv.Itoa(len(merged)))
	resp.ContentLength = int64(len(merged))
	resp.Body = io.NopCloser(bytes.NewReader(merged))
	return nil
}

// mergeable reports whether the answer is a JSON document hydra-router would merge into its
// envelope: an application/json or +json media type (not a stream such as NDJSON), with a body, not
// known to be longer than the bound, not encoded or gzip-encoded.
func (p *Proxy) mergeable(c *call, resp *http.Response) bool {
	if c.method == http.MethodHead || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified ||
		resp.ContentLength > int64(p.cfg.maxEnvelope) {
		return false
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return false
	}
	enc := resp.Header.Get("Content-Encoding")
	return enc == "" || strings.EqualFold(enc, "identity") || strings.EqualFold(enc, "gzip")
}

// errorHandler answers when no instance gave an answer.
func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	c := callOf(r.Context())
	if c.clientCtx.Err() != nil {
		c.status = 499 // nobody left to answer
		return
	}
	var f *failure
	if !errors.As(err, &f) {
		f = &failure{err: err}
	}
	p.writeFailure(w, c, f)
	p.logger.Log("msg", "unavailable", "service", c.service, "tracer", c.tracer, "err", err)
}

// writeFailure writes hydra-router's 503 for f, the tracer in the body.
func (p *Proxy) writeFailure(w http.ResponseWriter, c *call, f *failure) {
	text, why := "An instance of "+c.service+" is unavailable", "unavailable"
	switch {
	case f.none:
		text, why = "Unavailable "+c.service+" instances", "no_instances"
	case errors.Is(f.err, errTimeout):
		why = "timeout"
	}
	c.status, c.reason = http.StatusServiceUnavailable, why
	p.writeEnvelope(w, http.StatusServiceUnavailable, reason(text), c.tracer)
}

type reason string

func (p *Proxy) writeEnvelope(w http.ResponseWriter, code int, text reason, tracer string) {
	p.addCORS(w.Header())
	envelope.Write(w, code, struct {
		Reason string `json:"reason"`
	}{string(text)}, envelope.Field{Key: "tracer", Value: tracer})
}

// addCORS sets the configured CORS headers, spelled as configured, replacing the service's.
func (p *Proxy) addCORS(h http.Header) {
	for _, c := range p.cfg.cors {
		delete(h, c.canonical)
		h[c.name] = c.values
	}
}

// readUpTo reads r to its end or to max+1 bytes.
func readUpTo(r io.Reader, max int) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, int64(max)+1))
}

func gunzip(b []byte, max int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out, err := readUpTo(zr, max)
	if err == nil && len(out) > max {
		err = errors.New("proxy: gzip answer too long to merge")
	}
	return out, err
}

var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	zw.Write(b)
	zw.Close()
	gzipWriters.Put(zw)
	return buf.Bytes()
}

type readCloser struct {
	io.Reader
	io.Closer
}

// ErrTooLarge is returned by CallHTTP for an answer longer than ProxyMaxEnvelope.
var ErrTooLarge = errors.New("proxy: answer too large")

// CallHTTP makes the call a WebSocket frame addressed svc:[method]/path asks for, balanced and
// retried exactly like Forward, and returns the answer as Forward writes it: a JSON object merged
// into hydra's envelope (the gateway reads its result), any other body raw, and when no instance
// answered, hydra's 503 envelope with its reason (as hydra's makeAPIRequest resolves). Accept-Encoding
// is not passed on: the answer is never compressed. It fails only when ctx ends, the Proxy is closed
// or the answer is longer than ProxyMaxEnvelope.
func (p *Proxy) CallHTTP(ctx context.Context, service, method, target string, header http.Header, body []byte) (wsgate.HTTPResponse, error) {
	if p.isClosed() {
		return wsgate.HTTPResponse{}, ErrClosed
	}
	r, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return wsgate.HTTPResponse{}, err
	}
	r.Header = header.Clone()
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Del("Accept-Encoding")
	r.Host = ""
	bw := &bufferWriter{header: http.Header{}, max: p.cfg.maxEnvelope}
	p.Forward(bw, r, service, target)
	switch {
	case ctx.Err() != nil:
		return wsgate.HTTPResponse{}, ctx.Err()
	case bw.over:
		return wsgate.HTTPResponse{}, ErrTooLarge
	}
	if bw.code == 0 {
		bw.code = http.StatusOK
	}
	return wsgate.HTTPResponse{Status: bw.code, Header: bw.header, Body: bw.buf.Bytes()}, nil
}

func (p *Proxy) isClosed() bool {
	p.services.mu.Lock()
	defer p.services.mu.Unlock()
	return p.services.closed
}

// bufferWriter is CallHTTP's ResponseWriter: it keeps up to max bytes.
type bufferWriter struct {
	header http.Header
	code   int
	buf    bytes.Buffer
	max    int
	over   bool
}

func (w *bufferWriter) Header() http.Header { return w.header }

func (w *bufferWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *bufferWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.buf.Len()+len(b) > w.max {
		w.over = true
		return 0, ErrTooLarge
	}
	return w.buf.Write(b)
}
