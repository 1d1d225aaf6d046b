//lint:file-ignore SA4006 the overview snippets of the docs leave out error checks for brevity; they are compiled, not run
//lint:file-ignore SA5001 as above

package hydrakit_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/config"
	"github.com/hydrakit/hydrakit/health"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/redisurl"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/transport/redispubsub/balancer"
	"github.com/hydrakit/hydrakit/umf"
)

// Every Go block in README.md and docs/*.md is a snippet of a compiled test file, marked there with
// "// DOC:begin <name>" (or "// README:begin <name>") and "// DOC:end" (or "// README:end"), and
// shown in the document as it is there, less the marker's indentation. So the docs cannot drift from
// the API: a snippet that stops compiling breaks the build, one edited only in the docs fails here.
func TestDocSnippetsCompile(t *testing.T) {
	compiled := markedSnippets(t)
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, doc := range append(docs, "README.md") {
		for _, b := range goBlocks(t, doc) {
			checked++
			if !compiled[b.text] {
				t.Errorf("%s:%d: this Go block is not a DOC:begin snippet of any compiled test file:\n%s", doc, b.line, b.text)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d Go blocks found in the docs; the pattern or the documents changed", checked)
	}
}

type goBlock struct {
	line int
	text string
}

// goBlocks returns the ```go blocks of a Markdown file.
func goBlocks(t *testing.T, path string) []goBlock {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []goBlock
	var cur []string
	var indent string // of the opening fence: a block inside a list item is indented with it
	start, in := 0, false
	for i, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimLeft(line, " \t")
		switch {
		case !in && trimmed == "```go":
			in, start, cur, indent = true, i+2, nil, line[:len(line)-len(trimmed)]
		case in && trimmed == "```":
			in = false
			blocks = append(blocks, goBlock{line: start, text: strings.Join(cur, "\n")})
		case in:
			cur = append(cur, strings.TrimPrefix(line, indent))
		}
	}
	return blocks
}

var snippetMarker = regexp.MustCompile(`^(\s*)// (?:DOC|README):begin \S+$`)

// markedSnippets returns the text of every marked block in the module's test files, dedented by the
// indentation of its begin marker.
func markedSnippets(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		var indent string
		var cur []string
		in := false
		s := bufio.NewScanner(f)
		for s.Scan() {
			line := s.Text()
			if m := snippetMarker.FindStringSubmatch(line); m != nil {
				in, indent, cur = true, m[1], nil
				continue
			}
			if trimmed := strings.TrimSpace(line); in && (trimmed == "// DOC:end" || trimmed == "// README:end") {
				in = false
				out[strings.Join(cur, "\n")] = true
				continue
			}
			if in {
				cur = append(cur, strings.TrimPrefix(line, indent))
			}
		}
		return s.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The snippets of docs/config.md, docs/changes.md, docs/operations.md and docs/security.md. They are
// compiled, not run: each needs a Redis of its own shape.

type Settings struct{ Workers int }

func apply(Settings) {}

func configSnippets(ctx context.Context, rdb goredis.UniversalClient, settings Settings) error {
	// DOC:begin config-store
	client, err := hydrakit.NewClient(rdb) // hydrakit.WithKeyspace(scheme) for prefixed or cluster-safe names
	store, err := config.NewStore(client)  // ErrConfig for a nil client

	store.Put(ctx, "orders", "1.10.0", Settings{Workers: 8}) // json.Marshal; pass json.RawMessage for raw bytes
	raw, err := store.Get(ctx, "orders", "1.10.0")           // json.RawMessage, exactly what Redis holds
	err = store.Load(ctx, "orders", "1.10.0", &settings)     // ErrNotFound, ErrInvalidDocument
	versions, err := store.List(ctx, "orders")               // ["staging", "1.9.0", "1.10.0"]
	version, raw, err := store.Latest(ctx, "orders")         // "1.10.0"
	err = store.Remove(ctx, "orders", "1.9.0")
	// DOC:end
	_, _, _, _ = raw, versions, version, err
	return configWatchSnippet(store)
}

func configWatchSnippet(store *config.Store) error {
	// DOC:begin config-watch
	w, err := store.Watch("orders", "", func(e config.Event) {
		if e.Removed {
			return // keep the last good settings
		}
		var s Settings
		if err := json.Unmarshal(e.Doc, &s); err == nil {
			apply(s)
		}
	}, config.WatchInterval(5*time.Second))
	if err != nil {
		return err
	}
	defer w.Close()
	// DOC:end
	return nil
}

func changesSnippet(opts *goredis.Options, logger log.Logger) error {
	// DOC:begin changes-client
	rdb := goredis.NewClient(opts)         // unchanged, and still yours to close
	client, err := hydrakit.NewClient(rdb) // new: once per process
	defer client.Close()
	registrar, err := sdredis.NewRegistrar(client, sdredis.Service{Name: "greeter", Port: 8080}, logger)
	// DOC:end
	_ = registrar
	return err
}

func operationsSnippets(addr, caFile, certFile, keyFile string) error {
	{
		// DOC:begin operations-tls
		opts, err := goredis.ParseURL("rediss://svc-orders:secret@redis.internal:6380/0")
		client, err := hydrakit.NewClient(goredis.NewClient(opts))
		// DOC:end
		_, _ = client, err
	}
	{
		// DOC:begin operations-sentinel
		rdb := goredis.NewUniversalClient(&goredis.UniversalOptions{
			MasterName: "mymaster",
			Addrs:      []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"},
		})
		client, err := hydrakit.NewClient(rdb)
		// DOC:end
		_, _ = client, err
	}
	// DOC:begin operations-redisurl
	rdb, err := redisurl.NewClient(addr, redisurl.CAFile(caFile), redisurl.ClientCert(certFile, keyFile))
	// DOC:end
	_ = rdb
	return err
}

func securitySnippet(rdb goredis.UniversalClient) error {
	// DOC:begin security-signing
	client, err := hydrakit.NewClient(rdb,
		hydrakit.WithSigning(os.Getenv("HYDRAKIT_SECRET")), // sign everything sent
		hydrakit.WithRequiredSignatures(),                  // drop what is not signed
	)
	// DOC:end
	_ = client
	return err
}

// The snippet functions are compiled, never called.
var _ = []any{configSnippets, changesSnippet, operationsSnippets, securitySnippet}

func handlerWrapperSnippet(conn *redispubsub.Conn, sub *redispubsub.Subscriber, shutdown context.Context) {
	// DOC:begin transport-handler-wrapper
	conn.Handle("/x", func(ctx context.Context, c *redispubsub.Conn, m *umf.Message) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(shutdown, cancel)() // also end the handler when shutdown ends
		sub.ServeMessage(ctx, c, m)
	})
	// DOC:end
}

var _ = handlerWrapperSnippet

// The snippets of docs/discovery.md, docs/health.md, docs/queue.md and docs/transport.md.

func discoverySnippet(ctx context.Context, opts *goredis.Options, port int, logger log.Logger) error {
	// DOC:begin discovery-overview
	rdb := goredis.NewClient(opts)         // any goredis.UniversalClient; hydrakit never closes it
	client, err := hydrakit.NewClient(rdb) // once per process: the fleet's keyspace, logger, shared watches
	defer client.Close()

	registrar, err := sdredis.NewRegistrar(client, sdredis.Service{Name: "inventory", Port: port}, logger) // ip, version: Node's defaults
	registrar.Register()                                                                                   // idempotent; keeps the instance registered until Deregister
	defer registrar.Deregister()                                                                           // synchronous: presence gone and the leave announced when it returns
	err = registrar.RegisterRoutes(ctx, "[get]/v1/inventory/items")                                        // Node's route set + hydra-router refresh

	instancer, err := sdredis.NewInstancer(client, "inventory", logger) // host:port strings, for HTTP/gRPC
	defer instancer.Stop()
	byID, err := sdredis.NewInstancer(client, "inventory", logger, sdredis.InstancerInstanceID()) // instance IDs, for transport/redispubsub

	live, err := sdredis.ListInstances(ctx, client, "inventory") // one-shot read for tools: ID, address, version, updatedOn...
	// DOC:end
	_, _ = byID, live
	return err
}

func healthSnippet(addr, ip string, port int, logger log.Logger, db *sql.DB, cachePing health.Check, mux *http.ServeMux) error {
	// DOC:begin health-overview
	rdb := goredis.NewClient(&goredis.Options{Addr: addr, ContextTimeoutEnabled: true})
	client, err := hydrakit.NewClient(rdb, hydrakit.WithLogger(logger)) // the components' own failures go here
	if err != nil {
		return err
	}
	defer client.Close()
	reg, err := sdredis.NewRegistrar(client, sdredis.Service{Name: "orders", IP: ip, Port: port}, logger)
	if err != nil {
		return err
	}
	reg.Register()
	defer reg.Deregister()

	// Flight recorder: errors go to Redis and to the usual logger; everything else to the usual logger only.
	recorder, err := health.NewRecorder(client, "orders", reg.ID(), health.RecorderNext(logger))
	if err != nil {
		return err
	}
	defer recorder.Close()
	logger = recorder // hand this logger to the rest of the service

	// Checks, the snapshot and the probes.
	checks := health.NewChecker()
	checks.Register("redis", health.RedisCheck(client))
	checks.Register("db", func(ctx context.Context) error { return db.PingContext(ctx) }, health.CheckTimeout(time.Second))
	checks.Register("cache", cachePing, health.CheckOptional())
	reporter, err := health.NewReporter(client, "orders", reg.ID(), health.ReporterChecker(checks)) // first snapshot written
	if err != nil {
		return err
	}
	defer reporter.Close()

	mux.Handle("/healthz", health.LivenessHandler())
	mux.Handle("/readyz", health.ReadinessHandler(checks))
	// DOC:end
	_ = logger
	return nil
}

type ResizeRequest struct{ File string }

func resizeEndpoint(context.Context, any) (any, error) { return nil, nil }

func queueSnippet(ctx context.Context, rdb goredis.UniversalClient, logger log.Logger) error {
	// DOC:begin queue-overview
	client, err := hydrakit.NewClient(rdb, hydrakit.WithLogger(logger)) // one per process; rdb is go-redis's
	if err != nil {
		return err
	}
	defer client.Close()

	producer, err := queue.NewProducer(client)
	if err != nil {
		return err
	}
	m, err := umf.New("resize:/", "uploader:/", map[string]string{"file": "a.png"})
	if err != nil {
		return err
	}
	if err := producer.Enqueue(ctx, m); err != nil { // any number of messages in one round trip; also EnqueueAt
		return err
	}

	resize, err := queue.NewSubscriber(resizeEndpoint, queue.DecodeJSONBody[ResizeRequest]) // a go-kit endpoint
	if err != nil {
		return err
	}
	consumer, err := queue.NewConsumer(client, "resize", resize, queue.ConsumerWorkers(8)) // running from here on
	if err != nil {
		return err // every argument and option is checked here: errors wrap queue.ErrConfig
	}
	defer consumer.Close() // graceful: nothing is dropped
	// DOC:end
	return nil
}

type sumRequest struct{ A, B int }

func sumEndpoint(context.Context, any) (any, error) { return nil, nil }

func decodeSum(context.Context, *umf.Message) (any, error) { return nil, nil }

func decodeSumResponse(context.Context, *umf.Message) (any, error) { return nil, nil }

func transportSnippet(ctx context.Context, rdb goredis.UniversalClient, logger log.Logger) error {
	// DOC:begin transport-overview
	client, err := hydrakit.NewClient(rdb, hydrakit.WithLogger(logger)) // once per process

	// Server: subscribe FIRST, then announce presence (Node announces first and can lose messages).
	id := keyspace.NewInstanceID() // or any 32-hex ID; use the same for the Registrar
	conn, err := redispubsub.NewConn(client, "calc", id)
	defer conn.Close() // deferred first, so it runs after Deregister
	sub, err := redispubsub.NewSubscriber(sumEndpoint, decodeSum, redispubsub.EncodeJSONResponse)
	conn.Handle("/sum", sub.ServeMessage)
	reg, err := sdredis.NewRegistrar(client, sdredis.Service{Name: "calc", ID: id}, logger)
	reg.Register()
	defer reg.Deregister() // presence goes first, then the Conn

	// Client: one Conn per process is enough; the balanced client is one object.
	b, err := balancer.New(conn, "calc", "/sum", redispubsub.EncodeJSONRequest, decodeSumResponse)
	defer b.Close()
	resp, err := b.Endpoint()(ctx, sumRequest{A: 1, B: 2})
	// DOC:end
	_ = resp
	return err
}

// DOC:begin transport-request-id
type requestIDKey struct{}

func requestIDToHeader(ctx context.Context, msg *umf.Message) context.Context { // PublisherBefore
	id, ok := ctx.Value(requestIDKey{}).(string)
	if !ok {
		id = msg.MID // so that both sides log the same ID
	}
	_ = msg.SetHeader("x-request-id", id)
	return ctx
}

func requestIDFromHeader(ctx context.Context, msg *umf.Message) context.Context { // SubscriberBefore
	if id, ok := msg.Header("x-request-id"); ok {
		return context.WithValue(ctx, requestIDKey{}, id)
	}
	return ctx
}

// DOC:end

var _ = []any{discoverySnippet, healthSnippet, queueSnippet, transportSnippet, requestIDToHeader, requestIDFromHeader}
