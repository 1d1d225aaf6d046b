package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/router/proxy"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// routedByPrefix is the router's HTTP routing reduced to what these tests need: /<svc>/<rest> goes to
// svc as /<rest> (hydra-router's first-segment fallback). It is the one place to switch to the real
// Router.
func routedByPrefix(p *proxy.Proxy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.RequestURI(), "/"), "/")
		p.Forward(w, r, svc, "/"+rest)
	})
}

// routerFront starts a proxy on hc behind routedByPrefix; both stop when the test ends.
func routerFront(t *testing.T, hc *hydrakit.Client, options ...proxy.ProxyOption) (*proxy.Proxy, string) {
	t.Helper()
	p, err := proxy.New(hc, options...)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(routedByPrefix(p))
	t.Cleanup(func() { front.Close(); p.Close() })
	return p, front.URL
}

// received is what the echo routes report about the request they got.
type received struct {
	Kind   string `json:"kind"`
	Method string `json:"method"`
	URL    string `json:"url"`
	CType  string `json:"ctype"`
	Len    int    `json:"len"`
	SHA256 string `json:"sha256"`
	Tracer string `json:"tracer"`
	XFF    string `json:"xff"`
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// blob is the 5 MiB both services send from /v1/px/blob: bytes i % 251.
func blob() []byte {
	b := make([]byte, 5<<20)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// startGoEcho serves the routes of hx_peer.js with go-kit's HTTP transport and registers them as
// service svc with an sd/redis Registrar.
func startGoEcho(t *testing.T, hc *hydrakit.Client, svc string) {
	t.Helper()
	echo := httptransport.NewServer(
		func(_ context.Context, req any) (any, error) { return req, nil },
		func(_ context.Context, r *http.Request) (any, error) {
			body, err := io.ReadAll(r.Body)
			return map[string]any{"result": received{
				Kind: "go-kit", Method: r.Method, URL: r.URL.RequestURI(), CType: r.Header.Get("Content-Type"),
				Len: len(body), SHA256: sha(body), Tracer: r.Header.Get("X-Hydra-Tracer"), XFF: r.Header.Get("X-Forwarded-For"),
			}}, err
		},
		httptransport.EncodeJSONResponse,
	)
	data := blob()
	mux := http.NewServeMux()
	mux.Handle("/v1/px/echo", echo)
	mux.HandleFunc("GET /v1/px/blob", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(data)
	})
	mux.HandleFunc("GET /v1/px/text", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "plain text, not JSON")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	reg, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: svc, IP: "127.0.0.1", Port: port}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()
	t.Cleanup(reg.Deregister)
	if err := reg.RegisterRoutes(context.Background(), "[get]/v1/px/echo", "[post]/v1/px/echo", "[put]/v1/px/echo",
		"[patch]/v1/px/echo", "[delete]/v1/px/echo", "[get]/v1/px/blob", "[get]/v1/px/text"); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startHXPeer starts integration/node/hx_peer.js, a hydra-express 1.9.5 service named svc.
func startHXPeer(t *testing.T, redisURL, svc string) *nodePeer {
	t.Helper()
	dir := requireNode(t)
	cmd := exec.Command("node", "hx_peer.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PEER_SERVICE="+svc, "PEER_REDIS_URL="+redisURL, "PEER_PORT="+strconv.Itoa(freePort(t)))
	return launchNodePeer(t, cmd)
}

// waitLive waits until p lists want instances of svc (silent state: polled with a deadline).
func waitLive(t *testing.T, p *proxy.Proxy, svc string, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for p.Live(ctx, svc) && len(p.Instances(svc)) != want || want > 0 && !p.Live(ctx, svc) {
		if ctx.Err() != nil {
			t.Fatalf("%s: want %d instances listed, have %v", svc, want, p.Instances(svc))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Every body kind, every method, arrives byte for byte at a hydra-express service and at a go-kit one
// behind the proxy, and what they answer comes back: JSON merged into hydra's envelope, anything
// else raw (a 5 MiB download included). Then the Node service is SIGKILLed: within TTL + 1 s the proxy
// answers hydra-router's 503, while the Go service's calls go on undisturbed.
func TestRouterHTTPBodiesPassThrough(t *testing.T) {
	srv := redistest.Start(t)
	hc := redistest.Fleet(t, srv.Client(t))
	node := startHXPeer(t, srv.URL()+"/0", "pxnode")
	startGoEcho(t, hc, "pxgo")
	p, front := routerFront(t, hc)
	waitLive(t, p, "pxnode", 1)
	waitLive(t, p, "pxgo", 1)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(client.CloseIdleConnections)

	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("upload", "data.bin")
	fw.Write(blob()[:300<<10])
	mw.WriteField("note", "ünïcode ✓")
	mw.Close()
	binary := make([]byte, 64<<10)
	for i := range binary {
		binary[i] = byte(255 - i%256)
	}
	for _, kind := range []string{"node-express", "go-kit"} {
		svc := map[string]string{"node-express": "pxnode", "go-kit": "pxgo"}[kind]
		for _, tc := range []struct {
			method, ctype string
			body          []byte
		}{
			{"GET", "", nil},
			{"POST", "application/json", []byte(`{"name":"Ada","n":[1,2.50,{"x":null}]}`)},
			{"PUT", "application/json", []byte(`{"put":true}`)},
			{"PATCH", "application/json", []byte(`{"patch":"yes"}`)},
			{"DELETE", "application/json", []byte(`{"why":"gone"}`)},
			{"POST", "application/x-www-form-urlencoded", []byte("a=1&b=two+words&c=%C3%A9")},
			{"POST", mw.FormDataContentType(), form.Bytes()},
			{"PUT", "text/plain; charset=utf-8", []byte("not JSON at all {")},
			{"PATCH", "application/octet-stream", binary},
			{"DELETE", "", nil},
		} {
			name := fmt.Sprintf("%s %s %s", kind, tc.method, tc.ctype)
			req, _ := http.NewRequest(tc.method, front+"/"+svc+"/v1/px/echo?q=1&r=%20", bytes.NewReader(tc.body))
			if tc.body == nil {
				req.Body = nil
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var env struct {
				StatusCode    int      `json:"statusCode"`
				StatusMessage string   `json:"statusMessage"`
				Result        received `json:"result"`
			}
			if err := json.Unmarshal(raw, &env); err != nil || resp.StatusCode != 200 || env.StatusCode != 200 || env.StatusMessage != "OK" {
				t.Errorf("%s: %d %v %s", name, resp.StatusCode, err, raw)
				continue
			}
			have := env.Result
			want := received{Kind: kind, Method: tc.method, URL: "/v1/px/echo?q=1&r=%20", CType: tc.ctype,
				Len: len(tc.body), SHA256: sha(tc.body), Tracer: resp.Header.Get("X-Hydra-Tracer"), XFF: "127.0.0.1"}
			if have != want || want.Tracer == "" {
				t.Errorf("%s: the service received\nhave %+v\nwant %+v", name, have, want)
			}
		}
		for _, tc := range []struct {
			path, ctype string
			want        []byte
		}{
			{"/v1/px/blob", "application/octet-stream", blob()},
			{"/v1/px/text", "text/plain", []byte("plain text, not JSON")},
		} {
			resp, err := client.Get(front + "/" + svc + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(got, tc.want) || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
				t.Errorf("%s %s: %v, %d bytes (sha %s), want %d (sha %s), %s", kind, tc.path, err, len(got), sha(got), len(tc.want), sha(tc.want), resp.Header.Get("Content-Type"))
			}
		}
	}

	// The last pxnode instance dies; pxgo goes on.
	node.Kill()
	killed := time.Now()
	const want = `{"statusCode":503,"statusMessage":"Service Unavailable","statusDescription":"The server is currently unable to handle the request due to a temporary overloading or maintenance of the server","result":{"reason":"Unavailable pxnode instances"},"tracer":"`
	var seen []string
	for {
		resp, err := client.Get(front + "/pxnode/v1/px/echo")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(seen) == 0 || seen[len(seen)-1] != string(body) {
			seen = append(seen, string(body))
		}
		if resp.StatusCode == 503 && strings.HasPrefix(string(body), want) {
			break
		}
		if time.Since(killed) > sdredis.DefaultTTL+time.Second {
			t.Fatalf("no 503 'Unavailable pxnode instances' within TTL + 1 s of the kill; answers: %q", seen)
		}
		if gr, err := client.Get(front + "/pxgo/v1/px/echo"); err != nil || gr.StatusCode != 200 {
			t.Fatalf("pxgo disturbed while pxnode died: %v %v", err, gr)
		} else {
			io.Copy(io.Discard, gr.Body)
			gr.Body.Close()
		}
	}
	t.Logf("hydra-router's 503 for a dead service %v after the SIGKILL (TTL %v); answers meanwhile: %q", time.Since(killed).Round(time.Millisecond), sdredis.DefaultTTL, seen)
}

// routerChildEnv, set to "<redis url> <service>", turns the test binary into one instance of an HTTP
// service (see runRouterChild) for TestRouterHTTPKillUnderLoad.
const routerChildEnv = "HYDRAKIT_ROUTER_HTTP_CHILD"

func init() {
	if v := os.Getenv(routerChildEnv); v != "" {
		runRouterChild(v)
	}
}

// runRouterChild registers an instance and serves it until killed: every request is announced on
// stdout ("got <method> <X-Req>") as it arrives, before its body is echoed back.
func runRouterChild(v string) {
	url, svc, _ := strings.Cut(v, " ")
	opts, err := goredis.ParseURL(url)
	if err != nil {
		panic(err)
	}
	hc, err := hydrakit.NewClient(goredis.NewClient(opts))
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	reg, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: svc, IP: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}, log.NewNopLogger())
	if err != nil {
		panic(err)
	}
	reg.Register()
	var mu sync.Mutex
	fmt.Printf("ready %s\n", ln.Addr())
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fmt.Printf("got %s %s\n", r.Method, r.Header.Get("X-Req"))
		mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	}))
	os.Exit(0)
}

// routerChild is one instance process and what it received.
type routerChild struct {
	cmd  *exec.Cmd
	addr string
	got  atomic.Int64
	done chan struct{}
}

// startRouterChildren starts n instances of svc as processes; each is killed when the test ends.
// received counts the requests each X-Req reached any of them; nudge is signalled on each arrival.
func startRouterChildren(t *testing.T, redisURL, svc string, n int, received *sync.Map, nudge chan struct{}) []*routerChild {
	t.Helper()
	var children []*routerChild
	for range n {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), routerChildEnv+"="+redisURL+" "+svc)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c := &routerChild{cmd: cmd, done: make(chan struct{})}
		ready := make(chan string, 1)
		go func() {
			defer close(c.done)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				switch {
				case len(f) == 2 && f[0] == "ready":
					ready <- f[1]
				case len(f) == 3 && f[0] == "got":
					v, _ := received.LoadOrStore(f[2], new(atomic.Int64))
					v.(*atomic.Int64).Add(1)
					c.got.Add(1)
					select {
					case nudge <- struct{}{}:
					default:
					}
				}
			}
		}()
		t.Cleanup(func() { cmd.Process.Kill(); <-c.done; cmd.Wait() })
		select {
		case c.addr = <-ready:
		case <-c.done:
			t.Fatal("instance process exited before it was ready")
		case <-time.After(30 * time.Second):
			t.Fatal("instance process not ready in 30 s")
		}
		children = append(children, c)
	}
	return children
}

// waitNudged waits, on each arrival signalled on nudge, until ok holds.
func waitNudged(t *testing.T, nudge chan struct{}, what string, ok func() bool) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for !ok() {
		select {
		case <-nudge:
		case <-deadline:
			t.Fatalf("not seen in 60 s: %s", what)
		}
	}
}

type routedOutcome struct {
	id, method string
	start      time.Time
	ok         bool
	detail     string
}

// Two proxies (two routers) and three instance processes; 32 concurrent clients; one instance is
// SIGKILLed. No request started after the instance left discovery fails, no idempotent request fails
// at all (it is retried on another instance), and no request is ever received twice.
func TestRouterHTTPKillUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a real Redis and processes; skipped with -short")
	}
	srv := redistest.Start(t)
	const svc = "pxload"
	var received sync.Map
	nudge := make(chan struct{}, 1)
	children := startRouterChildren(t, srv.URL()+"/0", svc, 3, &received, nudge)
	var proxies []*proxy.Proxy
	var fronts []string
	for range 2 {
		p, front := routerFront(t, redistest.Fleet(t, srv.Client(t)))
		waitLive(t, p, svc, 3)
		proxies, fronts = append(proxies, p), append(fronts, front)
	}

	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var routedOutcomes []routedOutcome
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				o := routedOutcome{id: fmt.Sprintf("w%d-%d", w, n), method: "GET", start: time.Now()}
				if n%2 == 0 {
					o.method = "POST"
				}
				body := "payload " + o.id
				req, _ := http.NewRequest(o.method, fronts[(w+n)%2]+"/"+svc+"/work", strings.NewReader(body))
				req.Header.Set("X-Req", o.id)
				resp, err := client.Do(req)
				if err != nil {
					o.detail = err.Error()
				} else {
					got, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					o.ok = resp.StatusCode == 200 && string(got) == body
					o.detail = fmt.Sprintf("%d %.160s", resp.StatusCode, got)
				}
				mu.Lock()
				routedOutcomes = append(routedOutcomes, o)
				mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	})

	waitNudged(t, nudge, "every instance busy", func() bool {
		return children[0].got.Load() > 100 && children[1].got.Load() > 100 && children[2].got.Load() > 100
	})
	victim := children[0]
	victim.cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	deadline := killed.Add(30 * time.Second)
	for slices.Contains(proxies[0].Instances(svc), victim.addr) || slices.Contains(proxies[1].Instances(svc), victim.addr) {
		if time.Now().After(deadline) {
			t.Fatalf("the killed instance %s never left discovery", victim.addr)
		}
		time.Sleep(2 * time.Millisecond) // silent state: polled
	}
	left := time.Now()
	base1, base2 := children[1].got.Load(), children[2].got.Load()
	waitNudged(t, nudge, "traffic after the instance left", func() bool {
		return children[1].got.Load() > base1+500 && children[2].got.Load() > base2+500
	})
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	var failedPOST, failedAfter, failedGET, twice int
	for _, o := range routedOutcomes {
		if v, ok := received.Load(o.id); ok && v.(*atomic.Int64).Load() > 1 {
			twice++
			t.Errorf("%s %s received %d times", o.method, o.id, v.(*atomic.Int64).Load())
		}
		if o.ok {
			continue
		}
		switch {
		case o.start.After(left):
			failedAfter++
			t.Errorf("%s %s started after the instance left discovery and failed: %s", o.method, o.id, o.detail)
		case o.method == "GET":
			failedGET++
			t.Errorf("idempotent %s %s failed: %s", o.method, o.id, o.detail)
		default:
			failedPOST++
		}
	}
	t.Logf("%d requests through 2 proxies to 3 instances, one SIGKILLed; it left discovery %v after the kill; "+
		"%d POSTs in flight to it failed (never resent), %d GETs failed, %d after it left, %d received twice",
		len(routedOutcomes), left.Sub(killed).Round(time.Millisecond), failedPOST, failedGET, failedAfter, twice)
}
