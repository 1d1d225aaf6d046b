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
	"github.com/hydrakit/hydrakit/router"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// startRouter starts a real hydrakit-router (router.New) on hc behind an HTTP server; both stop
// when the test ends.
func startRouter(t *testing.T, hc *hydrakit.Client, options ...router.RouterOption) (*router.Router, string) {
	t.Helper()
	r, err := router.New(hc, options...)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(r)
	t.Cleanup(func() { front.Close(); r.Close() })
	return r, front.URL
}

// waitInstances waits until r balances over want instances of svc: the router's own view of
// discovery (silent state: polled with a deadline).
func waitInstances(t *testing.T, r *router.Router, svc string, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), redistest.Patience)
	defer cancel()
	if !redistest.Poll(func() bool { return len(r.Instances(ctx, svc)) == want }) {
		t.Fatalf("%s: want %d instances, the router has %v", svc, want, r.Instances(context.Background(), svc))
	}
}

// waitRoute waits until the router at front lists pattern (without its [method]) among svc's routes
// (silent state: a route refresh has no event of its own).
func waitRoute(t *testing.T, front, svc, pattern string) {
	t.Helper()
	redistest.Eventually(t, "router at "+front+" to list "+svc+" "+pattern, func() bool {
		resp, err := http.Get(front + "/v1/router/list/routes")
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Result []struct {
				ServiceName string   `json:"serviceName"`
				Routes      []string `json:"routes"`
			} `json:"result"`
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list.Result {
			if e.ServiceName == svc && slices.Contains(e.Routes, pattern) {
				return true
			}
		}
		return false
	})
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

// blob is the 5 MiB both services send from /v1/<svc>/blob: bytes i % 251.
func blob() []byte {
	b := make([]byte, 5<<20)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// goEcho is a go-kit HTTP service serving the routes of hx_peer.js under /v1/<svc>, registered with
// an sd/redis Registrar. It records every request that reaches it ("<method> <url>") before
// answering, so that once a client has its answer, the record is complete.
type goEcho struct {
	mu   sync.Mutex
	seen []string
}

func (g *goEcho) requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.seen)
}

func startGoEcho(t *testing.T, hc *hydrakit.Client, svc string) *goEcho {
	t.Helper()
	g := &goEcho{}
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
	base := "/v1/" + svc
	mux := http.NewServeMux()
	mux.Handle(base+"/echo", echo)
	mux.HandleFunc("GET "+base+"/blob", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(data)
	})
	mux.HandleFunc("GET "+base+"/text", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "plain text, not JSON")
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.seen = append(g.seen, r.Method+" "+r.URL.RequestURI())
		g.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	reg, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: svc, IP: "127.0.0.1", Port: port}, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	reg.Register()
	t.Cleanup(reg.Deregister)
	if err := reg.RegisterRoutes(context.Background(), "[get]"+base+"/echo", "[post]"+base+"/echo", "[put]"+base+"/echo",
		"[patch]"+base+"/echo", "[delete]"+base+"/echo", "[get]"+base+"/blob", "[get]"+base+"/text"); err != nil {
		t.Fatal(err)
	}
	return g
}

// nodeRequests reads hx_peer.js's request events ("<method> <url>") up to and including the one
// for url: Node announces each request as it arrives, in order, so a request sent before url
// that reached the service is among them.
func nodeRequests(t *testing.T, p *nodePeer, url string) []string {
	t.Helper()
	var seen []string
	for {
		var m struct{ Method, URL string }
		if err := json.Unmarshal(p.WaitEvent("request", 20*time.Second).Msg, &m); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, m.Method+" "+m.URL)
		if m.URL == url {
			return seen
		}
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

// Through a real hydrakit-router, routed by the routes the services registered: every body kind,
// every method, arrives byte for byte at a hydra-express 1.9.5 service and at a go-kit one, and
// what they answer comes back: JSON merged into hydra's envelope, anything else raw (a 5 MiB
// download included); hydra-router's /<svc>/… passthrough works too. Method-aware: a POST to a
// path only a [get] route takes is answered hydra-router's 404 by the router itself and reaches
// neither service. Then the Node service is SIGKILLed: within TTL + 1 s the router answers
// hydra-router's 503, while the Go service's calls go on undisturbed.
func TestRouterHTTPBodiesPassThrough(t *testing.T) {
	srv := redistest.Start(t)
	hc := redistest.Fleet(t, srv.Client(t))
	node := startHXPeer(t, srv.URL()+"/0", "pxnode")
	goSvc := startGoEcho(t, hc, "pxgo")
	r, front := startRouter(t, hc)
	waitInstances(t, r, "pxnode", 1)
	waitInstances(t, r, "pxgo", 1)
	for _, svc := range []string{"pxnode", "pxgo"} {
		for _, p := range []string{"echo", "blob", "text"} {
			waitRoute(t, front, svc, "/v1/"+svc+"/"+p) // hydra-express registers its routes after "ready"
		}
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(client.CloseIdleConnections)
	path := func(svc string) string { return "/v1/" + svc + "/echo?q=1&r=%20" }

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
			passthrough   bool // /<svc>/v1/<svc>/echo, hydra-router's first-segment fallback
		}{
			{"GET", "", nil, false},
			{"POST", "application/json", []byte(`{"name":"Ada","n":[1,2.50,{"x":null}]}`), false},
			{"PUT", "application/json", []byte(`{"put":true}`), false},
			{"PATCH", "application/json", []byte(`{"patch":"yes"}`), false},
			{"DELETE", "application/json", []byte(`{"why":"gone"}`), false},
			{"POST", "application/x-www-form-urlencoded", []byte("a=1&b=two+words&c=%C3%A9"), false},
			{"POST", mw.FormDataContentType(), form.Bytes(), false},
			{"PUT", "text/plain; charset=utf-8", []byte("not JSON at all {"), false},
			{"PATCH", "application/octet-stream", binary, false},
			{"DELETE", "", nil, false},
			{"POST", "application/json", []byte(`{"via":"passthrough"}`), true},
			{"GET", "", nil, true},
		} {
			name := fmt.Sprintf("%s %s %s", kind, tc.method, tc.ctype)
			url := front + path(svc)
			if tc.passthrough {
				url, name = front+"/"+svc+path(svc), name+" (passthrough)"
			}
			req, _ := http.NewRequest(tc.method, url, bytes.NewReader(tc.body))
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
			want := received{Kind: kind, Method: tc.method, URL: path(svc), CType: tc.ctype,
				Len: len(tc.body), SHA256: sha(tc.body), Tracer: resp.Header.Get("X-Hydra-Tracer"), XFF: "127.0.0.1"}
			if have != want || want.Tracer == "" {
				t.Errorf("%s: the service received\nhave %+v\nwant %+v", name, have, want)
			}
		}
		for _, tc := range []struct {
			path, ctype string
			want        []byte
		}{
			{"/v1/" + svc + "/blob", "application/octet-stream", blob()},
			{"/v1/" + svc + "/text", "text/plain", []byte("plain text, not JSON")},
		} {
			resp, err := client.Get(front + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(got, tc.want) || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
				t.Errorf("%s %s: %v, %d bytes (sha %s), want %d (sha %s), %s", kind, tc.path, err, len(got), sha(got), len(tc.want), sha(tc.want), resp.Header.Get("Content-Type"))
			}
		}

		// Method-aware: only [get]/v1/<svc>/blob takes this path, so a POST matches no route, no
		// fallback takes it, and the router answers hydra-router's 404 itself (no tracer: nothing
		// was forwarded). hydra-router would forward it to the [get] route's service.
		req, _ := http.NewRequest("POST", front+"/v1/"+svc+"/blob", strings.NewReader(`{"not":"forwarded"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || string(got) != routerNotFound || resp.Header.Get("X-Hydra-Tracer") != "" {
			t.Errorf("%s: POST to a [get] route: %d %v %s", kind, resp.StatusCode, resp.Header, got)
		}
	}
	// Neither service received the POSTs to the [get] routes; each got every other request once.
	syncURL := "/v1/pxnode/text?sync=1"
	if resp, err := client.Get(front + syncURL); err != nil || resp.StatusCode != 200 {
		t.Fatalf("sync request: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	for svc, seen := range map[string][]string{"pxnode": nodeRequests(t, node, syncURL), "pxgo": goSvc.requests()} {
		count := map[string]int{}
		for _, s := range seen {
			count[s]++
		}
		if n := count["POST /v1/"+svc+"/blob"]; n != 0 {
			t.Errorf("%s: the POST to its [get] route reached it %d times; it received %q", svc, n, seen)
		}
		if want, have := 12, count["GET "+path(svc)]+count["POST "+path(svc)]+count["PUT "+path(svc)]+
			count["PATCH "+path(svc)]+count["DELETE "+path(svc)]; want != have {
			t.Errorf("%s: want %d echo requests, have %d: %q", svc, want, have, seen)
		}
	}

	// The last pxnode instance dies; pxgo goes on.
	node.Kill()
	killed := time.Now()
	const want = `{"statusCode":503,"statusMessage":"Service Unavailable","statusDescription":"The server is currently unable to handle the request due to a temporary overloading or maintenance of the server","result":{"reason":"Unavailable pxnode instances"},"tracer":"`
	var seen []string
	for {
		resp, err := client.Get(front + "/v1/pxnode/echo")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answer, _, _ := strings.Cut(string(body), `,"tracer":`) // each answer has its own tracer
		if len(seen) == 0 || seen[len(seen)-1] != answer {
			seen = append(seen, answer)
		}
		if resp.StatusCode == 503 && strings.HasPrefix(string(body), want) {
			break
		}
		if time.Since(killed) > sdredis.DefaultTTL+time.Second {
			t.Fatalf("no 503 'Unavailable pxnode instances' within TTL + 1 s of the kill; answers: %q", seen)
		}
		if gr, err := client.Get(front + "/v1/pxgo/echo"); err != nil || gr.StatusCode != 200 {
			t.Fatalf("pxgo disturbed while pxnode died: %v %v", err, gr)
		} else {
			io.Copy(io.Discard, gr.Body)
			gr.Body.Close()
		}
	}
	t.Logf("hydra-router's 503 for a dead service %v after the SIGKILL (TTL %v); answers meanwhile: %q", time.Since(killed).Round(time.Millisecond), sdredis.DefaultTTL, seen)
	if gr, err := client.Get(front + "/v1/pxgo/blob"); err != nil || gr.StatusCode != 200 {
		t.Errorf("pxgo after pxnode died: %v %v", err, gr)
	} else {
		io.Copy(io.Discard, gr.Body)
		gr.Body.Close()
	}
}

// routerNotFound is hydra-router's 404 envelope.
const routerNotFound = `{"statusCode":404,"statusMessage":"Not Found","statusDescription":"The requested resource was not found on the server","result":{}}`

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
	if err := reg.RegisterRoutes(context.Background(), "[get]/v1/"+svc+"/work", "[post]/v1/"+svc+"/work"); err != nil {
		panic(err)
	}
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

// Two real routers and three instance processes; 32 concurrent clients spread over both routers,
// routed by the instances' registered routes; one instance is SIGKILLed. No request started after
// the instance left discovery (both routers' own view) fails, no idempotent request fails at all (it
// is retried on another instance), and no request is ever received twice (counted by the
// instances: a POST that may have reached the dead one is answered 503, never resent).
func TestRouterHTTPKillUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a real Redis and processes; skipped with -short")
	}
	srv := redistest.Start(t)
	const svc = "pxload"
	var received sync.Map
	nudge := make(chan struct{}, 1)
	children := startRouterChildren(t, srv.URL()+"/0", svc, 3, &received, nudge)
	var routers []*router.Router
	var fronts []string
	for range 2 {
		r, front := startRouter(t, redistest.Fleet(t, srv.Client(t)))
		waitRoute(t, front, svc, "/v1/"+svc+"/work")
		waitInstances(t, r, svc, 3)
		routers, fronts = append(routers, r), append(fronts, front)
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
				req, _ := http.NewRequest(o.method, fronts[(w+n)%2]+"/v1/"+svc+"/work", strings.NewReader(body))
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
	bg := context.Background()
	redistest.Eventually(t, "the killed instance "+victim.addr+" to leave discovery", func() bool {
		return !slices.Contains(routers[0].Instances(bg, svc), victim.addr) && !slices.Contains(routers[1].Instances(bg, svc), victim.addr)
	})
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
	t.Logf("%d requests through 2 routers to 3 instances, one SIGKILLed; it left discovery %v after the kill; "+
		"%d POSTs in flight to it failed (never resent), %d GETs failed, %d after it left, %d received twice",
		len(routedOutcomes), left.Sub(killed).Round(time.Millisecond), failedPOST, failedGET, failedAfter, twice)
}
