package hydrakit_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/config"
	"github.com/hydrakit/hydrakit/health"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/queue"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/transport/redispubsub/balancer"
	"github.com/hydrakit/hydrakit/umf"
)

// The four common cases the README's first screen shows. Each function body between a README:begin
// and a README:end line appears in README.md as it is (TestReadmeShowsTheCommonCases), and
// Example_commonCases runs them all.

type greetRequest struct {
	Name string `json:"name"`
}

type greetResponse struct {
	Greeting string `json:"greeting"`
}

func greetEndpoint(_ context.Context, request any) (any, error) {
	return greetResponse{Greeting: "Hello, " + request.(greetRequest).Name}, nil
}

func decodeGreetRequest(_ context.Context, m *umf.Message) (any, error) {
	var r greetRequest
	return r, m.DecodeBody(&r)
}

func decodeGreetResponse(_ context.Context, m *umf.Message) (any, error) {
	var r greetResponse
	return r, m.DecodeBody(&r)
}

// httpFactory is go-kit's: a discovered host:port becomes an HTTP client endpoint.
func httpFactory(instance string) (endpoint.Endpoint, io.Closer, error) {
	u := &url.URL{Scheme: "http", Host: instance, Path: "/greet"}
	return httptransport.NewClient("POST", u, httptransport.EncodeJSONRequest, func(_ context.Context, r *http.Response) (any, error) {
		var g greetResponse
		return g, json.NewDecoder(r.Body).Decode(&g)
	}).Endpoint(), nil, nil
}

// connect is the once-per-process part.
func connect(rdb goredis.UniversalClient) (*hydrakit.Client, error) {
	// README:begin client
	client, err := hydrakit.NewClient(rdb) // rdb: any go-redis UniversalClient, still yours to close
	if err != nil {
		return nil, err
	}
	// README:end
	return client, nil
}

// discoverHTTP registers a go-kit HTTP service at ip:port and calls it through go-kit's Endpointer.
func discoverHTTP(ctx context.Context, client *hydrakit.Client, ip string, port int, logger log.Logger) (any, error) {
	// README:begin http
	// Server: announce this instance while it serves HTTP.
	registrar, err := sdredis.NewRegistrar(client, sdredis.Service{Name: "greeter", IP: ip, Port: port}, logger)
	if err != nil {
		return nil, err
	}
	registrar.Register()
	defer registrar.Deregister()

	// Client: go-kit's own stack, on the Instancer that replaces sd/consul's.
	instancer, err := sdredis.NewInstancer(client, "greeter", logger)
	if err != nil {
		return nil, err
	}
	defer instancer.Stop()
	endpointer := sd.NewEndpointer(instancer, httpFactory, logger)
	defer endpointer.Close()
	greet := lb.Retry(3, 2*time.Second, lb.NewRoundRobin(endpointer))
	// README:end
	// go-kit's Endpointer takes the Instancer's first event on a goroutine of its own.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if endpoints, _ := endpointer.Endpoints(); len(endpoints) > 0 {
			break
		}
	}
	return greet(ctx, greetRequest{Name: "Ada"})
}

// servePubSub serves greetEndpoint over Redis pub/sub until stop is called.
func servePubSub(client *hydrakit.Client, logger log.Logger) (stop func(), err error) {
	// README:begin serve
	registrar, err := sdredis.NewRegistrar(client, sdredis.Service{Name: "greeter"}, logger)
	if err != nil {
		return nil, err
	}
	conn, err := redispubsub.NewConn(client, "greeter", registrar.ID())
	if err != nil {
		return nil, err
	}
	greet, err := redispubsub.NewSubscriber(greetEndpoint, decodeGreetRequest, redispubsub.EncodeJSONResponse)
	if err != nil {
		return nil, err
	}
	conn.Handle("/greet", greet.ServeMessage)
	registrar.Register() // callers find it from now on
	// README:end
	return func() { registrar.Deregister(); _ = conn.Close() }, nil
}

// callByName calls the greeter service by name over pub/sub: round robin over its live instances,
// retries, and a circuit breaker per instance.
func callByName(ctx context.Context, client *hydrakit.Client) (any, error) {
	// README:begin call
	conn, err := redispubsub.NewConn(client, "frontend", keyspace.NewInstanceID())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	greeter, err := balancer.New(conn, "greeter", "/greet", redispubsub.EncodeJSONRequest, decodeGreetResponse)
	if err != nil {
		return nil, err
	}
	defer greeter.Close()
	response, err := greeter.Endpoint()(ctx, greetRequest{Name: "Ada"})
	// README:end
	return response, err
}

type sendEmail struct {
	To string `json:"to"`
}

// enqueueAndConsume enqueues one job and consumes it with a go-kit endpoint, retrying failures.
func enqueueAndConsume(ctx context.Context, client *hydrakit.Client, send endpoint.Endpoint) (stop func() error, err error) {
	// README:begin queue
	producer, err := queue.NewProducer(client)
	if err != nil {
		return nil, err
	}
	job, _ := umf.New("mailer:/", "shop:/", sendEmail{To: "ada@example.com"})
	if err := producer.Enqueue(ctx, job); err != nil {
		return nil, err
	}

	mailer, err := queue.NewSubscriber(send, queue.DecodeJSONBody[sendEmail])
	if err != nil {
		return nil, err
	}
	consumer, err := queue.NewConsumer(client, "mailer", mailer, queue.ConsumerMaxAttempts(5))
	// README:end
	if err != nil {
		return nil, err
	}
	return consumer.Close, nil
}

// observe reports health, keeps a flight log and follows a config document for one instance.
func observe(client *hydrakit.Client, registrar *sdredis.Registrar, mux *http.ServeMux, logger log.Logger) (stop func(), err error) {
	// README:begin observe
	checks := health.NewChecker()
	if err := checks.Register("redis", health.RedisCheck(client)); err != nil {
		return nil, err
	}
	reporter, err := health.NewReporter(client, "greeter", registrar.ID(), health.ReporterChecker(checks))
	if err != nil {
		return nil, err
	}
	mux.Handle("/ready", health.ReadinessHandler(checks)) // and LivenessHandler, for probes
	recorder, err := health.NewRecorder(client, "greeter", registrar.ID(), health.RecorderNext(logger))
	if err != nil {
		return nil, err
	}
	logger = recorder // a go-kit logger: level.Error events also go to Hydra's flight log

	store, err := config.NewStore(client)
	if err != nil {
		return nil, err
	}
	watcher, err := store.Watch("greeter", "", func(e config.Event) { logger.Log("msg", "config", "version", e.Version) })
	// README:end
	if err != nil {
		return nil, err
	}
	return func() { _ = watcher.Close(); _ = recorder.Close(); _ = reporter.Close() }, nil
}

// The four common cases, on an in-process Redis.
func Example_commonCases() {
	m, _ := miniredis.Run()
	defer m.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: m.Addr()})
	defer rdb.Close()
	client, err := connect(rdb)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	ctx := context.Background()
	logger := log.NewNopLogger()

	// A go-kit HTTP service, registered and found through go-kit's Endpointer.
	srv := httptest.NewServer(httptransport.NewServer(greetEndpoint,
		func(_ context.Context, r *http.Request) (any, error) {
			var g greetRequest
			return g, json.NewDecoder(r.Body).Decode(&g)
		}, httptransport.EncodeJSONResponse))
	defer srv.Close()
	host, portText, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	port, _ := strconv.Atoi(portText)
	resp, err := discoverHTTP(ctx, client, host, port, logger)
	fmt.Println("http:", resp, err)

	// The same endpoint over pub/sub, called by service name.
	stop, err := servePubSub(client, logger)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()
	resp, err = callByName(ctx, client)
	fmt.Println("pub/sub:", resp, err)

	// A queued job, failing once and retried.
	sent, tries := make(chan string, 1), 0
	send := func(_ context.Context, request any) (any, error) {
		if tries++; tries == 1 {
			return nil, errors.New("mail server busy")
		}
		sent <- request.(sendEmail).To
		return nil, nil
	}
	closeConsumer, err := enqueueAndConsume(ctx, client, send)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer closeConsumer()
	fmt.Println("queue: sent to", <-sent, "after", tries, "attempts")

	// Health, flight log and config of one instance.
	registrar, err := sdredis.NewRegistrar(client, sdredis.Service{Name: "greeter"}, logger)
	if err != nil {
		fmt.Println(err)
		return
	}
	stopObserving, err := observe(client, registrar, http.NewServeMux(), logger)
	if err != nil {
		fmt.Println(err)
		return
	}
	stopObserving()
	fmt.Println("observed")
	// Output:
	// http: {Hello, Ada} <nil>
	// pub/sub: {Hello, Ada} <nil>
	// queue: sent to ada@example.com after 2 attempts
	// observed
}

// readmeSnippets returns the README:begin/README:end blocks of this file, dedented by one tab.
func readmeSnippets(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	snippets := map[string][]string{}
	var name string
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimPrefix(s.Text(), "\t")
		switch {
		case strings.HasPrefix(line, "// README:begin "):
			name = strings.TrimPrefix(line, "// README:begin ")
		case line == "// README:end":
			name = ""
		case name != "":
			snippets[name] = append(snippets[name], line)
		}
	}
	return snippets
}

// setupLines counts a snippet's lines of set-up: not blank, not comments, not error checks.
func setupLines(lines []string) int {
	n := 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		switch {
		case l == "", l == "}", strings.HasPrefix(l, "//"), strings.HasPrefix(l, "if err != nil"),
			strings.HasPrefix(l, "return nil, err"), strings.HasPrefix(l, "return err"):
		default:
			n++
		}
	}
	return n
}

// README.md (and docs/getting-started.md) show each common case as this file runs it, and each takes
// at most 12 lines of set-up beside the client's.
func TestReadmeShowsTheCommonCases(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	snippets := readmeSnippets(t)
	for _, name := range []string{"client", "http", "serve", "call", "queue"} {
		lines := snippets[name]
		if len(lines) == 0 {
			t.Fatalf("no README:begin %s block in readme_test.go", name)
		}
		if !strings.Contains(readme, strings.Join(lines, "\n")+"\n") {
			t.Errorf("README.md does not show the %q snippet as readme_test.go runs it:\n%s", name, strings.Join(lines, "\n"))
		}
		if n := setupLines(lines); name != "client" && n > 12 {
			t.Errorf("%s: %d lines of set-up, want at most 12", name, n)
		}
	}
	// The first screen: the cases come before the package table and the rest of the README.
	if cases, rest := strings.Index(readme, "```go"), strings.Index(readme, "## Packages"); cases < 0 || rest < 0 || cases > rest {
		t.Error("README.md must show the common cases before its ## Packages section")
	}
	guide, err := os.ReadFile("docs/getting-started.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"client", "http", "serve", "call", "queue", "observe"} {
		if !strings.Contains(string(guide), strings.Join(snippets[name], "\n")+"\n") {
			t.Errorf("docs/getting-started.md does not show the %q snippet as readme_test.go runs it", name)
		}
	}
}
