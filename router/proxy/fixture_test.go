package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// failAfter bounds how long a test waits for something that must happen; never a timing claim.
const failAfter = 30 * time.Second

type fixture struct {
	t      *testing.T
	client *hydrakit.Client
	p      *Proxy
	reg    *prometheus.Registry
	front  *httptest.Server
	http   *http.Client // the client's; no compression asked unless a test asks
}

// newFixture starts a proxy on miniredis behind a front server that routes /<svc>/<rest> to svc as
// /<rest> (the core Router's job, reduced to a prefix).
func newFixture(t *testing.T, options ...ProxyOption) *fixture {
	t.Helper()
	_, rdb := redistest.Mini(t)
	f := &fixture{t: t, client: redistest.Fleet(t, rdb), reg: prometheus.NewRegistry()}
	p, err := New(f.client, append([]ProxyOption{ProxyRegisterer(f.reg)}, options...)...)
	if err != nil {
		t.Fatal(err)
	}
	f.p = p
	t.Cleanup(func() { p.Close() })
	f.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.RequestURI(), "/"), "/")
		p.Forward(w, r, svc, "/"+rest)
	}))
	t.Cleanup(f.front.Close)
	tr := &http.Transport{DisableCompression: true}
	f.http = &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)
	return f
}

// instance serves h as an instance of svc and returns its host:port.
func (f *fixture) instance(svc string, h http.Handler) string {
	f.t.Helper()
	s := httptest.NewServer(h)
	f.t.Cleanup(s.Close)
	f.register(svc, s.Listener.Addr().String())
	return s.Listener.Addr().String()
}

// dead registers an instance of svc at an address where nothing listens.
func (f *fixture) dead(svc string) string {
	f.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	f.register(svc, addr)
	return addr
}

func (f *fixture) register(svc, addr string) {
	f.t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	r, err := sdredis.NewRegistrar(f.client, sdredis.Service{Name: svc, IP: host, Port: n}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	r.Register()
	f.t.Cleanup(r.Deregister)
}

// listed waits until the proxy lists n instances of svc (silent state: polled with a deadline).
func (f *fixture) listed(svc string, n int) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	redistest.Eventually(f.t, fmt.Sprintf("%d instances of %s listed", n, svc), func() bool {
		fl, err := f.p.follow(ctx, svc)
		if err != nil {
			f.t.Fatalf("%s: %d instances never listed: %v", svc, n, err)
		}
		return int(fl.listed.Load()) == n
	})
}

// do sends a request through the front and returns the answer with its body read.
func (f *fixture) do(method, path, body string, header ...string) (*http.Response, string) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.front.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if body == "" {
		req.Body = nil
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := f.http.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	if _, err := io.Copy(b, resp.Body); err != nil {
		f.t.Fatal(err)
	}
	return resp, b.String()
}

// metric returns the value of the series of name with labels (all given), 0 when absent.
func (f *fixture) metric(name string, labels map[string]string) float64 {
	f.t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}
