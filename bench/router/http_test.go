package router

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/router"
	"github.com/hydrakit/hydrakit/router/proxy"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// BenchmarkRouterHTTP sends b.N GET requests through hydrakit-router (router.New: its route table
// matches the service's registered [get] route, router/proxy forwards) and b.N straight through
// httputil.ReverseProxy to one backend that answers a small JSON object (which the router merges into
// hydra's envelope, as hydra-router does), alternating in ten rounds (the machine's load drifts). It
// reports both rates, their ratio (router/direct) and both p99s.
func BenchmarkRouterHTTP(b *testing.B) {
	for _, clients := range []int{1, 32} {
		b.Run("clients="+strconv.Itoa(clients), func(b *testing.B) { benchHTTP(b, clients) })
	}
}

func benchHTTP(b *testing.B, clients int) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"result":{"ok":true,"path":"/v1/bench"}}`)
	}))
	defer backend.Close()
	u, _ := url.Parse(backend.URL)
	port, _ := strconv.Atoi(u.Port())

	_, rdb := redistest.Mini(b)
	hc := redistest.Fleet(b, rdb)
	reg, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: "bench", IP: "127.0.0.1", Port: port}, nil)
	if err != nil {
		b.Fatal(err)
	}
	reg.Register()
	defer reg.Deregister()
	if err := reg.RegisterRoutes(b.Context(), "[get]/v1/bench"); err != nil {
		b.Fatal(err)
	}
	rt, err := router.New(hc)
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	routed := httptest.NewServer(rt)
	defer routed.Close()
	// The baseline gets a connection pool as large as the proxy's (DefaultTransport keeps 2 idle
	// connections per host, which would make it churn connections at 32 clients) and a buffer pool as
	// the proxy has (else each answer allocates a 32 KiB copy buffer): what differs is hydrakit's work.
	directTr := &http.Transport{MaxIdleConnsPerHost: proxy.DefaultMaxConnsPerInstance, DisableCompression: true}
	defer directTr.CloseIdleConnections()
	// It also adds the router's default CORS block, so that both answers carry the same headers.
	cors := router.DefaultCORS()
	direct := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
		Transport: directTr,
		ModifyResponse: func(resp *http.Response) error {
			for k, v := range cors {
				resp.Header[k] = []string{v}
			}
			return nil
		},
		BufferPool: bufferPool{},
	})
	defer direct.Close()
	if len(rt.Instances(b.Context(), "bench")) == 0 {
		b.Fatal("bench service not live")
	}

	tr := &http.Transport{MaxIdleConnsPerHost: 2 * clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	run := func(target string, n int) ([]time.Duration, time.Duration) {
		lat := make([]time.Duration, n)
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= int64(n) {
						return
					}
					t0 := time.Now()
					resp, err := client.Get(target)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("%s: %d", target, resp.StatusCode)
						return
					}
					lat[i] = time.Since(t0)
				}
			}()
		}
		wg.Wait()
		return lat, time.Since(start)
	}
	// Warm both paths' connections outside the timer.
	run(routed.URL+"/v1/bench", 4*clients)
	run(direct.URL+"/v1/bench", 4*clients)

	var latProxy, latDirect []time.Duration
	var tProxy, tDirect time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	const rounds = 10
	for r := range rounds {
		n := b.N / rounds
		if r == rounds-1 {
			n = b.N - (rounds-1)*(b.N/rounds)
		}
		if n == 0 {
			continue
		}
		l, d := run(direct.URL+"/v1/bench", n)
		latDirect, tDirect = append(latDirect, l...), tDirect+d
		l, d = run(routed.URL+"/v1/bench", n)
		latProxy, tProxy = append(latProxy, l...), tProxy+d
	}
	b.StopTimer()
	rateProxy := float64(len(latProxy)) / tProxy.Seconds()
	rateDirect := float64(len(latDirect)) / tDirect.Seconds()
	b.ReportMetric(rateProxy, "proxy_req/s")
	b.ReportMetric(rateDirect, "direct_req/s")
	b.ReportMetric(rateProxy/rateDirect, "ratio")
	b.ReportMetric(p99(latProxy), "proxy_p99_ms")
	b.ReportMetric(p99(latDirect), "direct_p99_ms")
}

func p99(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[int(0.99*float64(len(s)-1))]) / float64(time.Millisecond)
}

type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }
