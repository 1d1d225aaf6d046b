package proxy

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/sony/gobreaker"
)

const (
	env200 = `{"statusCode":200,"statusMessage":"OK","statusDescription":"Request succeeded without error","result":`
	env503 = `{"statusCode":503,"statusMessage":"Service Unavailable","statusDescription":"The server is currently unable to handle the request due to a temporary overloading or maintenance of the server","result":`
)

func TestNewValidates(t *testing.T) {
	if _, err := New(nil); !errors.Is(err, ErrConfig) {
		t.Errorf("nil client: want ErrConfig, have %v", err)
	}
	f := newFixture(t)
	for name, o := range map[string]ProxyOption{
		"timeout": ProxyTimeout(0), "attempts": ProxyAttempts(0), "retry buffer": ProxyRetryBuffer(-1),
		"envelope": ProxyMaxEnvelope(0), "services": ProxyMaxServices(0), "conns": ProxyMaxConnsPerInstance(0),
		"breaker": ProxyBreaker(nil), "registerer": ProxyRegisterer(nil), "nil": nil,
	} {
		if _, err := New(f.client, o); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: want ErrConfig, have %v", name, err)
		}
	}
	if _, err := New(f.client, ProxyRegisterer(f.reg)); !errors.Is(err, ErrConfig) {
		t.Errorf("second Proxy on one registerer: want ErrConfig, have %v", err)
	}
}

func TestHeadersToServiceAndBack(t *testing.T) {
	cors := http.Header{"access-control-Max-Age": {"10"}, "access-control-allow-origin": {"*"}}
	f := newFixture(t, ProxyCORS(cors))
	seen := make(chan *http.Request, 1)
	f.instance("hdr", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r
		w.Header().Set("Connection", "X-Drop")
		w.Header().Set("X-Drop", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("Access-Control-Allow-Origin", "service")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hi")
	}))
	resp, body := f.do("GET", "/hdr/a/b?q=1", "", "Connection", "X-Hop", "X-Hop", "1", "Keep-Alive", "300",
		"Proxy-Authorization", "x", "Te", "gzip", "X-Forwarded-For", "10.0.0.9", "X-Keep", "yes")
	r := <-seen
	if body != "hi" || resp.StatusCode != 200 {
		t.Fatalf("answer %d %q", resp.StatusCode, body)
	}
	for _, h := range []string{"X-Hop", "Keep-Alive", "Proxy-Authorization", "Te", "Connection"} {
		if v := r.Header.Get(h); v != "" {
			t.Errorf("hop-by-hop %s reached the service: %q", h, v)
		}
	}
	if want, have := "/a/b?q=1", r.URL.RequestURI(); want != have {
		t.Errorf("target: want %s, have %s", want, have)
	}
	if r.Header.Get("X-Keep") != "yes" {
		t.Error("end-to-end header lost")
	}
	if want, have := "10.0.0.9, 127.0.0.1", r.Header.Get("X-Forwarded-For"); want != have {
		t.Errorf("X-Forwarded-For: want %q, have %q", want, have)
	}
	front := strings.TrimPrefix(f.front.URL, "http://")
	if r.Header.Get("X-Forwarded-Host") != front || r.Host != front || r.Header.Get("X-Forwarded-Proto") != "http" {
		t.Errorf("host %q, X-Forwarded-Host %q, -Proto %q", r.Host, r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-Proto"))
	}
	tracer := r.Header.Get("X-Hydra-Tracer")
	if tracer == "" || resp.Header.Get("X-Hydra-Tracer") != tracer {
		t.Errorf("tracer: to the service %q, on the answer %q", tracer, resp.Header.Get("X-Hydra-Tracer"))
	}
	for _, h := range []string{"X-Drop", "Keep-Alive"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("hop-by-hop %s reached the client: %q", h, v)
		}
	}
	if v := resp.Header["Access-Control-Allow-Origin"]; len(v) != 1 || v[0] != "*" {
		t.Errorf("CORS origin: want [*], have %v (%v)", v, resp.Header)
	}
	if v := resp.Header.Get("access-control-Max-Age"); v != "10" {
		t.Errorf("CORS max age: %q", v)
	}
}

func TestAnswersShapedAsHydraRouter(t *testing.T) {
	f := newFixture(t)
	f.instance("shape", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/obj":
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(201)
			io.WriteString(w, `{"result":{"id":"42"},"extra":1}`)
		case "/arr":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `[1,2]`)
		case "/ndjson":
			w.Header().Set("Content-Type", "application/x-ndjson")
			io.WriteString(w, "{\"a\":1}\n")
		case "/gz":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gzipBytes([]byte(`{"result":"zipped"}`)))
		default:
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "plain")
		}
	}))
	for _, tc := range []struct {
		path, gzip string
		code       int
		want       string
	}{
		{"/obj", "", 201, `{"statusCode":201,"statusMessage":"Created","statusDescription":"Resource created","result":{"id":"42"},"extra":1}`},
		{"/obj", "gzip, deflate", 201, `{"statusCode":201,"statusMessage":"Created","statusDescription":"Resource created","result":{"id":"42"},"extra":1}`},
		{"/arr", "", 200, `[1,2]`},
		{"/ndjson", "", 200, "{\"a\":1}\n"},
		{"/gz", "", 200, env200 + `"zipped"}`},
		{"/text", "", 200, "plain"},
	} {
		resp, body := f.do("GET", "/shape"+tc.path, "", "Accept-Encoding", tc.gzip)
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(zr)
			body = string(b)
			if tc.gzip == "" {
				t.Errorf("%s: gzipped for a client that did not ask", tc.path)
			}
		} else if tc.gzip != "" {
			t.Errorf("%s: not gzipped for a client that accepts gzip", tc.path)
		}
		if resp.StatusCode != tc.code || body != tc.want {
			t.Errorf("%s (%q): want %d %s\nhave %d %s", tc.path, tc.gzip, tc.code, tc.want, resp.StatusCode, body)
		}
	}
}

func TestUnavailableShapes(t *testing.T) {
	f := newFixture(t, ProxyCORS(http.Header{"access-control-allow-origin": {"*"}}))
	resp, body := f.do("GET", "/nosvc/x", "")
	tracer := `,"tracer":"`
	if want := env503 + `{"reason":"Unavailable nosvc instances"}` + tracer; resp.StatusCode != 503 || !strings.HasPrefix(body, want) {
		t.Errorf("no instances:\nwant %s…\nhave %d %s", want, resp.StatusCode, body)
	}
	if resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("access-control-allow-origin") != "*" {
		t.Errorf("headers %v", resp.Header)
	}
	f.dead("gone")
	resp, body = f.do("GET", "/gone/x", "")
	if want := env503 + `{"reason":"An instance of gone is unavailable"}` + tracer; resp.StatusCode != 503 || !strings.HasPrefix(body, want) {
		t.Errorf("dead instance:\nwant %s…\nhave %d %s", want, resp.StatusCode, body)
	}
	if f.metric("hydrakit_router_http_errors_total", map[string]string{"service": "gone", "reason": "unavailable"}) != 1 ||
		f.metric("hydrakit_router_http_errors_total", map[string]string{"service": "nosvc", "reason": "no_instances"}) != 1 {
		t.Error("error metrics not counted")
	}
}

// counter counts the requests a service received by their X-Req header.
type counter struct {
	mu   sync.Mutex
	seen map[string]int
}

func (c *counter) add(r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]int{}
	}
	c.seen[r.Header.Get("X-Req")]++
}

func (c *counter) of(id string) int { c.mu.Lock(); defer c.mu.Unlock(); return c.seen[id] }

// breaking reads the request and drops the connection without answering.
func breaking(c *counter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		c.add(r)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
}

func answering(c *counter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.add(r)
		w.Header().Set("Content-Type", "text/plain")
		w.Write(b)
	})
}

func TestRetryOnlyWhatMayBeSentTwice(t *testing.T) {
	f := newFixture(t, ProxyBreaker(func(string) gobreaker.Settings {
		return gobreaker.Settings{ReadyToTrip: func(gobreaker.Counts) bool { return false }}
	}))
	var bad, good counter
	f.instance("rt", breaking(&bad))
	f.instance("rt", answering(&good))
	f.listed("rt", 2)
	var postFailed, getRetried int
	for i := range 8 {
		id := "post" + string(rune('a'+i))
		resp, _ := f.do("POST", "/rt/x", "payload", "X-Req", id)
		if n := bad.of(id) + good.of(id); n != 1 {
			t.Fatalf("POST %s received %d times", id, n)
		}
		if bad.of(id) == 1 {
			postFailed++
			if resp.StatusCode != 503 {
				t.Errorf("POST dropped by the instance: want 503, have %d", resp.StatusCode)
			}
		}
		for j := range 2 { // two in a row: one meets the breaking instance
			id = "put" + string(rune('a'+i)) + string(rune('0'+j))
			resp, body := f.do("PUT", "/rt/x", "again", "X-Req", id)
			if resp.StatusCode != 200 || body != "again" || good.of(id) != 1 {
				t.Fatalf("PUT %s: %d %q, good instance saw it %d times", id, resp.StatusCode, body, good.of(id))
			}
			getRetried += bad.of(id)
		}
	}
	if postFailed == 0 || getRetried == 0 {
		t.Errorf("round robin never reached the breaking instance: %d POSTs, %d PUTs", postFailed, getRetried)
	}
}

func TestBreakerOpensOnDeadInstance(t *testing.T) {
	f := newFixture(t)
	var good counter
	dead := f.dead("br")
	f.instance("br", answering(&good))
	f.listed("br", 2)
	for range 12 {
		if resp, _ := f.do("GET", "/br/x", ""); resp.StatusCode != 200 {
			t.Fatalf("GET with one live instance: %d", resp.StatusCode)
		}
	}
	labels := map[string]string{"service": "br", "instance": dead}
	if have := f.metric("hydrakit_router_breaker_state", labels); have != 2 {
		t.Errorf("breaker of the dead instance: want 2 (open), have %v", have)
	}
	labels["outcome"] = "error"
	if have := f.metric("hydrakit_router_upstream_attempts_total", labels); have != 3 {
		t.Errorf("sends to the dead instance: want 3 (then the breaker is open), have %v", have)
	}
	labels["outcome"] = "breaker_open"
	if have := f.metric("hydrakit_router_upstream_attempts_total", labels); have == 0 {
		t.Error("no request met the open breaker")
	}
}

func TestBodyBounds(t *testing.T) {
	f := newFixture(t, ProxyRetryBuffer(16), ProxyMaxEnvelope(64))
	var a, b counter
	f.instance("bb", breaking(&a))
	f.instance("bb", breaking(&b))
	f.listed("bb", 2)
	f.do("PUT", "/bb/x", "small body", "X-Req", "small")
	if n := a.of("small") + b.of("small"); n != 2 {
		t.Errorf("PUT with a kept body: want 2 sends, have %d", n)
	}
	f.do("PUT", "/bb/x", strings.Repeat("x", 17), "X-Req", "big")
	if n := a.of("big") + b.of("big"); n != 1 {
		t.Errorf("PUT with a body past the retry buffer: want 1 send, have %d", n)
	}

	long := `{"result":"` + strings.Repeat("y", 100) + `"}`
	f.instance("env", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, long)
	}))
	for _, path := range []string{"/env/known", "/env/chunked"} {
		if _, body := f.do("GET", path, ""); body != long {
			t.Errorf("%s: JSON past the envelope bound: want it raw, have %s", path, body)
		}
	}
	if _, err := f.p.CallHTTP(context.Background(), "env", "GET", "/known", nil, nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("CallHTTP past the bound: want ErrTooLarge, have %v", err)
	}
}

func TestTimeoutAnswer(t *testing.T) {
	f := newFixture(t, ProxyTimeout(50*time.Millisecond))
	var c counter
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server notices the proxy hanging up
		c.add(r)
		<-r.Context().Done()
	})
	f.instance("slow", slow)
	f.instance("slow", slow)
	f.listed("slow", 2)
	resp, body := f.do("POST", "/slow/x", "{}", "X-Req", "p")
	if want := env503 + `{"reason":"An instance of slow is unavailable"}`; resp.StatusCode != 503 || !strings.HasPrefix(body, want) {
		t.Errorf("timeout:\nwant %s…\nhave %d %s", want, resp.StatusCode, body)
	}
	if c.of("p") != 1 {
		t.Errorf("timed-out POST sent %d times", c.of("p"))
	}
	if f.metric("hydrakit_router_http_errors_total", map[string]string{"service": "slow", "reason": "timeout"}) != 1 {
		t.Error("timeout not counted")
	}
}

func TestStreamsBothWays(t *testing.T) {
	f := newFixture(t)
	next := make(chan struct{})
	got := make(chan []byte, 1)
	f.instance("st", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/up" {
			b, _ := io.ReadAll(r.Body)
			got <- b
			return
		}
		io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		<-next // the second part only once the client has the first
		io.WriteString(w, "second")
	}))
	resp, err := http.Get(f.front.URL + "/st/down")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("first part: %q %v", buf, err)
	}
	close(next)
	rest, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(rest) != "second" {
		t.Errorf("second part: %q", rest)
	}

	pr, pw := io.Pipe()
	go func() {
		for i := range 100 {
			pw.Write(bytes.Repeat([]byte{byte(i)}, 1000))
		}
		pw.Close()
	}()
	resp, err = http.Post(f.front.URL+"/st/up", "application/octet-stream", pr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	b := <-got
	if len(b) != 100000 || b[0] != 0 || b[99999] != 99 {
		t.Errorf("chunked upload arrived as %d bytes", len(b))
	}
}

func TestCallHTTP(t *testing.T) {
	f := newFixture(t)
	f.instance("ws", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"result":{"method":"`+r.Method+`","body":`+string(b)+`}}`)
	}))
	resp, err := f.p.CallHTTP(context.Background(), "ws", "POST", "/v1/x", http.Header{"Accept-Encoding": {"gzip"}}, []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := env200 + `{"method":"POST","body":{"a":1}}}`; resp.Status != 200 || string(resp.Body) != want {
		t.Errorf("want 200 %s\nhave %d %s", want, resp.Status, resp.Body)
	}
	resp, err = f.p.CallHTTP(context.Background(), "nosvc", "GET", "/", nil, nil)
	if err != nil || resp.Status != 503 || !strings.HasPrefix(string(resp.Body), env503+`{"reason":"Unavailable nosvc instances"}`) {
		t.Errorf("no instances: %v %d %s", err, resp.Status, resp.Body)
	}
}

func TestLiveAndTraffic(t *testing.T) {
	f := newFixture(t, ProxyMaxServices(2))
	var c counter
	f.instance("one", answering(&c))
	ctx := context.Background()
	if !f.p.Live(ctx, "one") || f.p.Live(ctx, "two") {
		t.Fatal("Live: want one live, two not")
	}
	f.do("GET", "/one/x", "")
	f.do("GET", "/two/x", "")
	tr := f.p.Traffic()
	if len(tr) != 2 || tr[0].Service != "one" || tr[0].Requests != 1 || tr[0].Errors != 0 || tr[1].Errors != 1 {
		t.Errorf("traffic %+v", tr)
	}
	f.p.Live(ctx, "three") // past the bound: the least recently used (one) is dropped
	if tr := f.p.Traffic(); len(tr) != 2 || tr[0].Service != "three" || tr[1].Service != "two" {
		t.Errorf("traffic after eviction %+v", tr)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if f.p.Live(cancelled, "four") {
		t.Error("Live with an ended context")
	}
	f.p.Close()
	if f.p.Live(ctx, "one") {
		t.Error("Live after Close")
	}
	if _, err := f.p.CallHTTP(ctx, "one", "GET", "/", nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("CallHTTP after Close: %v", err)
	}
}

func TestNoGoroutinePerRequest(t *testing.T) {
	f := newFixture(t)
	var c counter
	f.instance("gr", answering(&c))
	f.listed("gr", 1)
	for range 10 {
		f.do("POST", "/gr/x", "warm")
	}
	before := runtime.NumGoroutine()
	for range 300 {
		f.do("POST", "/gr/x", "body")
	}
	if !redistest.Poll(func() bool { return runtime.NumGoroutine() <= before+4 }) {
		t.Fatalf("goroutines: %d before 300 requests, %d after", before, runtime.NumGoroutine())
	}
}

func TestUpgradePassesThrough(t *testing.T) {
	f := newFixture(t)
	timers := &manualTimers{}
	f.p.cfg.afterFunc = timers.afterFunc
	f.instance("up", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			http.Error(w, "no upgrade", 400)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		brw.WriteString("echo " + line)
		brw.Flush()
	}))
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.front.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /up/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	// The timeout runs out, which cuts a request without progress but not an upgraded connection.
	if fired := timers.fireAll(); fired != 0 {
		t.Errorf("%d timeouts still armed on the upgraded connection", fired)
	}
	io.WriteString(conn, "hello\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo hello\n" {
		t.Errorf("through the upgraded connection: %q %v", line, err)
	}
}

// manualTimers stand in for time.AfterFunc: a timer fires when the test says so, unless stopped.
type manualTimers struct {
	mu     sync.Mutex
	timers []*manualTimer
}

type manualTimer struct {
	mu    sync.Mutex
	armed bool
	f     func()
}

func (m *manualTimers) afterFunc(_ time.Duration, f func()) progressTimer {
	t := &manualTimer{armed: true, f: f}
	m.mu.Lock()
	m.timers = append(m.timers, t)
	m.mu.Unlock()
	return t
}

// fireAll runs every armed timer's function, as if its time ran out, and returns how many ran.
func (m *manualTimers) fireAll() int {
	m.mu.Lock()
	timers := m.timers
	m.mu.Unlock()
	fired := 0
	for _, t := range timers {
		t.mu.Lock()
		armed := t.armed
		t.armed = false
		t.mu.Unlock()
		if armed {
			t.f()
			fired++
		}
	}
	return fired
}

func (t *manualTimer) Stop() bool { return t.set(false) }

func (t *manualTimer) Reset(time.Duration) bool { return t.set(true) }

func (t *manualTimer) set(armed bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	was := t.armed
	t.armed = armed
	return was
}
