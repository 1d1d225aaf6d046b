// Package standin is a minimal HTTP forwarder with router/proxy's contract, used by package router
// until router/proxy is merged: it picks a random live instance per request, with no breaker, no
// retries and no metrics. It is replaced by router/proxy at merge; nothing else imports it.
package standin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/router/dashboard"
	"github.com/hydrakit/hydrakit/router/internal/envelope"
	"github.com/hydrakit/hydrakit/router/wsgate"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/umf"
)

const maxServices = 1024 // services whose counts are kept

// Proxy forwards to live instances found with sd/redis.ListInstances.
type Proxy struct {
	client    *hydrakit.Client
	transport *http.Transport
	timeout   time.Duration

	mu      sync.Mutex
	traffic map[string]*dashboard.Traffic
}

// New returns a Proxy; timeout bounds each request.
func New(client *hydrakit.Client, timeout time.Duration) *Proxy {
	return &Proxy{client: client, timeout: timeout, transport: &http.Transport{MaxIdleConnsPerHost: 64},
		traffic: map[string]*dashboard.Traffic{}}
}

func (p *Proxy) instance(ctx context.Context, service string) (string, bool) {
	instances, err := sdredis.ListInstances(ctx, p.client, service)
	if err != nil || len(instances) == 0 {
		return "", false
	}
	return instances[rand.IntN(len(instances))].Addr(), true
}

// Live reports whether service has a live instance.
func (p *Proxy) Live(ctx context.Context, service string) bool {
	_, ok := p.instance(ctx, service)
	return ok
}

func (p *Proxy) count(service string, failed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.traffic[service]
	if !ok {
		if len(p.traffic) >= maxServices {
			return
		}
		t = &dashboard.Traffic{Service: service}
		p.traffic[service] = t
	}
	t.Requests++
	if failed {
		t.Errors++
	}
}

// Forward sends r to a live instance of service, as target (path?query).
func (p *Proxy) Forward(w http.ResponseWriter, r *http.Request, service, target string) {
	addr, ok := p.instance(r.Context(), service)
	if !ok {
		p.count(service, true)
		unavailable(w, "Unavailable "+service+" instances")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
	defer cancel()
	failed := false
	rp := &httputil.ReverseProxy{
		Transport: p.transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			u, _ := url.Parse("http://" + addr + target)
			pr.Out.URL = u
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			failed = true
			unavailable(w, "An instance of "+service+" is unavailable")
		},
		FlushInterval: -1,
	}
	rp.ServeHTTP(w, r.WithContext(ctx))
	p.count(service, failed)
}

func unavailable(w http.ResponseWriter, reason string) {
	envelope.Write(w, http.StatusServiceUnavailable, map[string]string{"reason": reason},
		envelope.Field{Key: "tracer", Value: umf.NewMID()[:8]})
}

// CallHTTP makes one HTTP call to a live instance of service.
func (p *Proxy) CallHTTP(ctx context.Context, service, method, target string, header http.Header, body []byte) (wsgate.HTTPResponse, error) {
	addr, ok := p.instance(ctx, service)
	if !ok {
		return wsgate.HTTPResponse{}, errors.New("Unavailable " + service + " instances")
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+target, bytes.NewReader(body))
	if err != nil {
		return wsgate.HTTPResponse{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Transport: p.transport}).Do(req)
	if err != nil {
		p.count(service, true)
		return wsgate.HTTPResponse{}, errors.New("An instance of " + service + " is unavailable")
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	p.count(service, err != nil || resp.StatusCode >= 500)
	return wsgate.HTTPResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

// Traffic returns the counts per service.
func (p *Proxy) Traffic() []dashboard.Traffic {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]dashboard.Traffic, 0, len(p.traffic))
	for _, t := range p.traffic {
		out = append(out, *t)
	}
	return out
}

// Close releases idle connections.
func (p *Proxy) Close() error {
	p.transport.CloseIdleConnections()
	return nil
}
