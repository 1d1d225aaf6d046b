package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/config"
	"github.com/hydrakit/hydrakit/health"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/redisurl"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/umf"
)

// aclTemplate is the ACL SETUSER command of docs/operations.md, read from the document itself so that
// the tests run exactly what operators are told to run.
type aclTemplate struct {
	user, password string
	rules          []string // everything after the user name, verbatim ("on", ">password", patterns...)
}

// readACLTemplate parses the first code block under "## An ACL user for services" in
// docs/operations.md: "ACL SETUSER <user> <rules...>", with backslash-continued lines.
func readACLTemplate(t *testing.T) aclTemplate {
	t.Helper()
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)\n## An ACL user for services\n.*?\n```\n(.*?)\n```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/operations.md: no code block under \"## An ACL user for services\"")
	}
	fields := strings.Fields(strings.ReplaceAll(string(m[1]), "\\\n", " "))
	if len(fields) < 4 || fields[0] != "ACL" || fields[1] != "SETUSER" {
		t.Fatalf("docs/operations.md: the ACL template is not an ACL SETUSER command: %q", m[1])
	}
	tpl := aclTemplate{user: fields[2], rules: fields[3:]}
	for _, r := range tpl.rules {
		if p, ok := strings.CutPrefix(r, ">"); ok {
			tpl.password = p
		}
	}
	if tpl.password == "" {
		t.Fatalf("docs/operations.md: the ACL template sets no password: %q", m[1])
	}
	return tpl
}

func (a aclTemplate) option() redistest.ServerOption {
	return redistest.ACLUser(a.user, a.password, a.rules...)
}

// userinfo is the template's user and password as a URL's userinfo.
func (a aclTemplate) userinfo() string { return a.user + ":" + a.password + "@" }

// shapeEnv is one running Redis shape as the component checks see it.
type shapeEnv struct {
	name  string
	rdb   goredis.UniversalClient // the components' client: built by redisurl, as the template user when acl
	admin goredis.UniversalClient // the default user, for set-up and for looking at what was written
	fleet *hydrakit.Client        // on rdb, shared by every check of the shape
	nodes []*redistest.Server     // the data nodes, whose ACL LOG must stay empty
	acl   bool
	sent  *redistest.Sentinel // the Sentinel shape only
}

// shape starts one Redis shape for a test.
type shape struct {
	name  string
	start func(t *testing.T, tpl aclTemplate) *shapeEnv
}

// newShapeEnv makes the components' client from url, as the examples' -redis flag does.
func newShapeEnv(t *testing.T, name, url string, admin goredis.UniversalClient, nodes []*redistest.Server, acl bool, options ...redisurl.Option) *shapeEnv {
	t.Helper()
	rdb, err := redisurl.NewClient(url, options...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return &shapeEnv{name: name, rdb: rdb, admin: admin, fleet: redistest.Fleet(t, rdb), nodes: nodes, acl: acl}
}

var shapes = []shape{
	{"single", func(t *testing.T, _ aclTemplate) *shapeEnv {
		srv := redistest.Start(t)
		return newShapeEnv(t, "single", srv.URL()+"/0", srv.Client(t), []*redistest.Server{srv}, false)
	}},
	{"tls", func(t *testing.T, _ aclTemplate) *shapeEnv {
		srv := redistest.Start(t, redistest.TLS())
		return newShapeEnv(t, "tls", srv.URL()+"/0", srv.Client(t), []*redistest.Server{srv}, false,
			redisurl.CAFile(srv.TLSFiles().CACert))
	}},
	{"mutual-tls", func(t *testing.T, _ aclTemplate) *shapeEnv {
		srv := redistest.Start(t, redistest.MutualTLS())
		files := srv.TLSFiles()
		return newShapeEnv(t, "mutual-tls", srv.URL()+"/0", srv.Client(t), []*redistest.Server{srv}, false,
			redisurl.CAFile(files.CACert), redisurl.ClientCert(files.ClientCert, files.ClientKey))
	}},
	{"acl", func(t *testing.T, tpl aclTemplate) *shapeEnv {
		srv := redistest.Start(t, tpl.option())
		return newShapeEnv(t, "acl", "redis://"+tpl.userinfo()+srv.Addr+"/0", srv.Client(t), []*redistest.Server{srv}, true)
	}},
	// The cluster and the Sentinel set also run as the template's user: a production cluster has
	// ACLs too, and the template must be enough there (CLUSTER SLOTS, sharded pub/sub).
	{"cluster", func(t *testing.T, tpl aclTemplate) *shapeEnv {
		c := redistest.StartCluster(t, tpl.option())
		env := newShapeEnv(t, "cluster", "redis+cluster://"+tpl.userinfo()+c.Seeds(), c.Client(t), c.Nodes(), true)
		if !env.fleet.Cluster() || !env.fleet.Keyspace().IsClusterSafe() {
			t.Fatal("a hydrakit.Client on a cluster client must be in cluster mode with the cluster-safe keyspace")
		}
		return env
	}},
	{"sentinel", func(t *testing.T, tpl aclTemplate) *shapeEnv {
		s := redistest.StartSentinel(t, tpl.option())
		url := "redis+sentinel://" + tpl.userinfo() + s.SentinelAddrs()[0] + "/" + s.MasterName() + "/0"
		env := newShapeEnv(t, "sentinel", url, s.Client(t), s.Nodes(), true)
		env.sent = s
		return env
	}},
}

// shapeChecks are the behaviour checks every shape runs, each on services of its own.
var shapeChecks = []struct {
	name string
	run  func(t *testing.T, env *shapeEnv, round string)
}{
	{"sd", shapeCheckSD},
	{"janitor", shapeCheckJanitor},
	{"queue", shapeCheckQueue},
	{"health", shapeCheckHealth},
	{"config", shapeCheckConfig},
	{"transport", shapeCheckTransport},
}

// TestShapes runs the behaviour checks of sd/redis, queue, health, config and the pub/sub transport on every Redis shape a
// user runs: one Redis; TLS with a private CA; mutual TLS; an ACL user with exactly the rules of the
// template in docs/operations.md (ACL LOG empty afterwards); a 3-master Redis Cluster; a Sentinel set,
// where the checks run again after a SENTINEL FAILOVER forced in the middle of queue and discovery
// traffic. Every shape is started once; shapes and checks run concurrently (see runConcurrently).
func TestShapes(t *testing.T) {
	tpl := readACLTemplate(t)
	runConcurrently(t, len(shapes), func(i int) {
		sh := shapes[i]
		t.Run(sh.name, func(t *testing.T) {
			env := sh.start(t, tpl)
			runShapeChecks(t, env, "checks")
			if env.sent != nil {
				t.Run("failover", func(t *testing.T) { shapeFailover(t, env) })
				// The same clients and components, now on the new primary.
				runShapeChecks(t, env, "after-failover")
			}
			if env.acl {
				for _, n := range env.nodes {
					for _, e := range n.ACLLog(t) {
						t.Errorf("%s: ACL LOG: %s refused %s %q (%s)", n.Addr, e.Username, e.Reason, e.Object, e.Context)
					}
				}
			}
		})
	})
}

func runShapeChecks(t *testing.T, env *shapeEnv, round string) {
	t.Run(round, func(t *testing.T) {
		runConcurrently(t, len(shapeChecks), func(i int) {
			t.Run(shapeChecks[i].name, func(t *testing.T) { shapeChecks[i].run(t, env, round) })
		})
	})
}

// runConcurrently calls run(0) to run(n-1) at once, each in a goroutine of its own, and returns when
// all have returned. Subtests started this way (t.Run may be called from several goroutines) are not
// held back by -parallel, which is GOMAXPROCS, 2 here: the checks mostly wait on Redis and timers, and
// the whole matrix then takes as long as its slowest shape.
func runConcurrently(t *testing.T, n int, run func(i int)) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(i)
		}()
	}
	wg.Wait()
}

// shapeService is a service name unique to a check and a round.
func shapeService(check, round string) string { return "shape-" + check + "-" + round }

// shapeEventually polls cond every 20 ms until it returns "" (done), failing with its last answer
// after timeout. For states that announce themselves nowhere (a list's length).
func shapeEventually(t *testing.T, timeout time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		problem := cond()
		if problem == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not done after %v: %s", what, timeout, problem)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Registrar, Instancer, ListInstances and RegisterRoutes: a registration is seen, routes are
// replaced and a live router is told, a deregistration is seen.
func shapeCheckSD(t *testing.T, env *shapeEnv, round string) {
	ctx := t.Context()
	svc := shapeService("sd", round)
	in, err := sdredis.NewInstancer(env.fleet, svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := sdEvents(t, in)
	sdWait(t, ch, 5*time.Second)

	r, err := sdredis.NewRegistrar(env.fleet, sdredis.Service{Name: svc, IP: "127.0.0.1", Port: 8080}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Register()
	defer r.Deregister()
	took := sdWait(t, ch, 5*time.Second, "127.0.0.1:8080")
	t.Logf("registration seen after %v", took)

	list, err := sdredis.ListInstances(ctx, env.fleet, svc)
	if err != nil || len(list) != 1 || list[0].ID != r.ID() {
		t.Fatalf("ListInstances: %v %+v", err, list)
	}

	// A live hydra-router hears the refresh of the routes.
	router, err := sdredis.NewRegistrar(env.fleet, sdredis.Service{Name: keyspace.RouterService}, nil)
	if err != nil {
		t.Fatal(err)
	}
	router.Register()
	defer router.Deregister()
	sub := env.admin.Subscribe(ctx, env.fleet.Keyspace().RouterChannel())
	defer func() { _ = sub.Close() }()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.RegisterRoutes(ctx, "[get]/v1/shape"); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msg, err := sub.ReceiveMessage(rctx)
	if err != nil {
		t.Fatalf("no route refresh on %s: %v", env.fleet.Keyspace().RouterChannel(), err)
	}
	var refresh struct {
		To  string
		Bdy struct{ Action, ServiceName string }
	}
	if err := json.Unmarshal([]byte(msg.Payload), &refresh); err != nil || refresh.To != "hydra-router:/refresh" || refresh.Bdy.ServiceName != svc {
		t.Errorf("route refresh: %v %s", err, msg.Payload)
	}
	routes, err := env.admin.SMembers(ctx, env.fleet.Keyspace().Routes(svc)).Result()
	want := []string{"[get]/v1/shape", "[get]/" + svc, "[get]/" + svc + "/", "[get]/" + svc + "/:rest"}
	slices.Sort(routes)
	slices.Sort(want)
	if err != nil || !slices.Equal(routes, want) {
		t.Errorf("routes: want %v, have %v (%v)", want, routes, err)
	}

	r.Deregister()
	took = sdWait(t, ch, 5*time.Second)
	t.Logf("deregistration seen after %v", took)
}

// The janitor removes the nodes entry of an instance that died long ago (as Node leaves them).
func shapeCheckJanitor(t *testing.T, env *shapeEnv, round string) {
	ctx := t.Context()
	svc := shapeService("janitor", round)
	keys := env.fleet.Keyspace()
	dead := keyspace.NewInstanceID()
	entry := fmt.Sprintf(`{"serviceName":%q,"serviceDescription":"gone","version":"1.0.0","instanceID":%q,`+
		`"updatedOn":%q,"processID":1,"ip":"127.0.0.1","port":1,"hostName":"gone"}`,
		svc, dead, time.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"))
	if err := env.admin.HSet(ctx, keys.Nodes(), dead, entry).Err(); err != nil {
		t.Fatal(err)
	}
	removed := make(chan struct{}, 1)
	var logged []string
	var mu sync.Mutex
	logger := log.LoggerFunc(func(kv ...any) error {
		mu.Lock()
		logged = append(logged, fmt.Sprint(kv...))
		mu.Unlock()
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == "msg" && kv[i+1] == "janitor removed dead nodes entries" {
				select {
				case removed <- struct{}{}:
				default:
				}
			}
		}
		return nil
	})
	r, err := sdredis.NewRegistrar(env.fleet, sdredis.Service{Name: svc}, logger, sdredis.RegistrarJanitorGrace(sdredis.MinJanitorGrace))
	if err != nil {
		t.Fatal(err)
	}
	r.Register()
	defer r.Deregister()
	select {
	case <-removed:
	case <-time.After(sdredis.MinJanitorGrace):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("the janitor removed nothing within a period; its log: %q", logged)
	}
	if env.admin.HExists(ctx, keys.Nodes(), dead).Val() {
		t.Error("the dead instance's nodes entry is still there")
	}
	if !env.admin.HExists(ctx, keys.Nodes(), r.ID()).Val() {
		t.Error("the live instance's nodes entry was removed")
	}
}

// shapeJob is one handled queue message, as the handler saw it.
type shapeJob struct {
	kind, reason string
	attempt      int
	at           time.Time
}

// Producer, Consumer (a retry, a delayed job, a dead letter) and Inspector (Stats, Incomplete,
// Requeue).
func shapeCheckQueue(t *testing.T, env *shapeEnv, round string) {
	ctx := t.Context()
	svc := shapeService("queue", round)
	producer, err := queue.NewProducer(env.fleet)
	if err != nil {
		t.Fatal(err)
	}
	inspector, err := queue.NewInspector(env.fleet)
	if err != nil {
		t.Fatal(err)
	}
	jobs := make(chan shapeJob, 16)
	handler := queue.HandlerFunc(func(_ context.Context, d *queue.Delivery) error {
		var body struct{ Kind, Reason string }
		_ = json.Unmarshal(d.Message.Body, &body)
		jobs <- shapeJob{kind: body.Kind, reason: body.Reason, attempt: d.Attempt, at: time.Now()}
		switch {
		case body.Kind == "retry" && d.Attempt == 1:
			return errors.New("the first attempt fails")
		case body.Kind == "dead" && body.Reason == "":
			return queue.Permanent(errors.New("poison"))
		}
		return nil
	})
	consumer, err := queue.NewConsumer(env.fleet, svc, handler, queue.ConsumerWorkers(2),
		queue.ConsumerBackoff(func(int) time.Duration { return 50 * time.Millisecond }))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := consumer.Close(); err != nil {
			t.Error(err)
		}
	}()
	msg := func(kind string) *umf.Message {
		m, err := umf.New(svc+":/", "shape-test:/", map[string]string{"kind": kind})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if err := producer.Enqueue(ctx, msg("ok"), msg("retry"), msg("dead")); err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(300 * time.Millisecond)
	if err := producer.EnqueueAt(ctx, msg("delayed"), due); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"ok/1": true, "retry/1": true, "retry/2": true, "dead/1": true, "delayed/1": true}
	waitJobs := func(want map[string]bool) []shapeJob {
		var got []shapeJob
		timeout := time.After(10 * time.Second)
		for len(want) > 0 {
			select {
			case j := <-jobs:
				key := fmt.Sprintf("%s/%d", j.kind, j.attempt)
				if !want[key] {
					t.Fatalf("unexpected delivery %s (%+v)", key, j)
				}
				delete(want, key)
				got = append(got, j)
			case <-timeout:
				t.Fatalf("not delivered within 10 s: %v", want)
			}
		}
		return got
	}
	for _, j := range waitJobs(want) {
		if j.kind == "delayed" && j.at.Before(due) {
			t.Errorf("the delayed job ran %v early", due.Sub(j.at))
		}
	}
	var stats queue.Stats
	shapeEventually(t, 5*time.Second, "one dead letter, nothing else", func() string {
		stats, err = inspector.Stats(ctx, svc)
		if err != nil || stats != (queue.Stats{Incomplete: 1}) {
			return fmt.Sprintf("%+v %v", stats, err)
		}
		return ""
	})
	items, err := inspector.Incomplete(ctx, svc, 0, 10)
	if err != nil || len(items) != 1 || items[0].Reason != "poison" {
		t.Fatalf("Incomplete: %v %+v", err, items)
	}
	if err := inspector.Requeue(ctx, svc, items[0].Raw); err != nil {
		t.Fatal(err)
	}
	if j := waitJobs(map[string]bool{"dead/1": true})[0]; j.reason != "poison" {
		t.Errorf("the requeued dead letter lost its reason: %+v", j)
	}
	shapeEventually(t, 5*time.Second, "an empty queue", func() string {
		stats, err = inspector.Stats(ctx, svc)
		if err != nil || stats != (queue.Stats{}) {
			return fmt.Sprintf("%+v %v", stats, err)
		}
		return ""
	})
}

// Checker with RedisCheck, Reporter (the snapshot Node reads, its TTL, its expiry at Close) and
// Recorder (the flight-recorder entries).
func shapeCheckHealth(t *testing.T, env *shapeEnv, round string) {
	ctx := t.Context()
	svc := shapeService("health", round)
	iid := keyspace.NewInstanceID()
	keys := env.fleet.Keyspace()
	checker := health.NewChecker()
	if err := checker.Register("redis", health.RedisCheck(env.fleet)); err != nil {
		t.Fatal(err)
	}
	if report := checker.Run(ctx); report.Status != health.StatusOK {
		t.Fatalf("RedisCheck: %+v", report)
	}
	reporter, err := health.NewReporter(env.fleet, svc, iid, health.ReporterChecker(checker))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := env.admin.Get(ctx, keys.Health(svc, iid)).Bytes()
	if err != nil {
		t.Fatalf("no snapshot once NewReporter returned: %v", err)
	}
	var snap health.Snapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		t.Fatal(err)
	}
	if snap.InstanceID != iid || snap.ServiceName != svc || snap.Status != health.StatusOK ||
		len(snap.Checks) != 1 || snap.Checks[0].Status != health.StatusOK {
		t.Errorf("snapshot: %s", raw)
	}
	if ttl := env.admin.PTTL(ctx, keys.Health(svc, iid)).Val(); ttl <= 0 {
		t.Errorf("snapshot TTL %v", ttl)
	}

	recorder, err := health.NewRecorder(env.fleet, svc, iid)
	if err != nil {
		t.Fatal(err)
	}
	_ = level.Error(recorder).Log("msg", "shape check", "shape", env.name)
	if err := recorder.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := env.admin.LRange(ctx, keys.HealthLog(svc, iid), 0, -1).Result()
	if err != nil || len(entries) != 1 || !strings.Contains(entries[0], "shape check") {
		t.Errorf("flight recorder entries: %v %q", err, entries)
	}

	if err := reporter.Close(); err != nil {
		t.Fatal(err)
	}
	if ttl := env.admin.PTTL(ctx, keys.Health(svc, iid)).Val(); ttl <= 0 || ttl > 3*time.Second {
		t.Errorf("snapshot TTL after Close: %v, want at most 3 s", ttl)
	}
}

// Store Put, Get and Latest, and a Watcher following the latest version.
func shapeCheckConfig(t *testing.T, env *shapeEnv, round string) {
	ctx := t.Context()
	svc := shapeService("config", round)
	store, err := config.NewStore(env.fleet)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(ctx, svc, "1.0.0", map[string]int{"workers": 1}); err != nil {
		t.Fatal(err)
	}
	if doc, err := store.Get(ctx, svc, "1.0.0"); err != nil || string(doc) != `{"workers":1}` {
		t.Fatalf("Get: %s %v", doc, err)
	}
	events := make(chan config.Event, 8)
	w, err := store.Watch(svc, "", func(e config.Event) { events <- e }, config.WatchInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Close() }()
	next := func() config.Event {
		select {
		case e := <-events:
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no config event within 5 s")
			return config.Event{}
		}
	}
	if e := next(); e.Version != "1.0.0" || string(e.Doc) != `{"workers":1}` {
		t.Errorf("first event: %+v", e)
	}
	if err := store.Put(ctx, svc, "1.10.0", map[string]int{"workers": 2}); err != nil {
		t.Fatal(err)
	}
	if e := next(); e.Version != "1.10.0" || string(e.Doc) != `{"workers":2}` {
		t.Errorf("event after Put: %+v", e)
	}
	if v, doc, err := store.Latest(ctx, svc); err != nil || v != "1.10.0" || string(doc) != `{"workers":2}` {
		t.Errorf("Latest: %s %s %v", v, doc, err)
	}
}

// shapeProgress lets the test goroutine wait for what traffic goroutines report, without sleeping.
type shapeProgress struct {
	mu      sync.Mutex
	changed chan struct{} // a token whenever something changed
}

func newShapeProgress() *shapeProgress { return &shapeProgress{changed: make(chan struct{}, 1)} }

func (p *shapeProgress) update(f func()) {
	p.mu.Lock()
	f()
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// wait returns once done (called under the lock) reports "", failing with its last answer after
// timeout.
func (p *shapeProgress) wait(t *testing.T, timeout time.Duration, what string, done func() string) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		problem := done()
		p.mu.Unlock()
		if problem == "" {
			return
		}
		select {
		case <-p.changed:
		case <-deadline.C:
			t.Fatalf("%s: not done after %v: %s", what, timeout, problem)
		}
	}
}

// shapeFailover forces a SENTINEL FAILOVER while a producer enqueues, a consumer consumes, and
// registrars refresh and an Instancer watches. Every enqueue acknowledged and replicated before the
// failover (WAIT 1 after it) is handled; enqueues and registrations succeed again on the new primary
// without any component being restarted.
func shapeFailover(t *testing.T, env *shapeEnv) {
	ctx := t.Context()
	const svc, idleSvc, sdSvc = "shape-failover", "shape-failover-idle", "shape-failover-sd"
	producer, err := queue.NewProducer(env.fleet)
	if err != nil {
		t.Fatal(err)
	}
	type ack struct {
		mid string
		at  time.Time
	}
	var (
		p                   = newShapeProgress()
		acks                []ack
		handled             = map[string]int{}
		failures            int
		firstFail, lastFail time.Time
		lastErr             error
	)
	consumer, err := queue.NewConsumer(env.fleet, svc, queue.HandlerFunc(func(_ context.Context, d *queue.Delivery) error {
		p.update(func() { handled[d.Message.MID]++ })
		return nil
	}), queue.ConsumerLease(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := consumer.Close(); err != nil {
			t.Error(err)
		}
	}()

	// A second consumer waits on an empty queue through the failover, blocked in BLMOVE on the old
	// primary.
	idleJobs := make(chan string, 1)
	idle, err := queue.NewConsumer(env.fleet, idleSvc, queue.HandlerFunc(func(_ context.Context, d *queue.Delivery) error {
		idleJobs <- d.Message.MID
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := idle.Close(); err != nil {
			t.Error(err)
		}
	}()

	in, err := sdredis.NewInstancer(env.fleet, sdSvc, nil, sdredis.InstancerInstanceID())
	if err != nil {
		t.Fatal(err)
	}
	ch := sdEvents(t, in)
	before, err := sdredis.NewRegistrar(env.fleet, sdredis.Service{Name: sdSvc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	before.Register()
	defer before.Deregister()
	sdWait(t, ch, 5*time.Second, before.ID())

	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m, err := umf.New(svc+":/", "shape-failover:/", map[string]int{"n": i})
			if err != nil {
				panic(err)
			}
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			err = producer.Enqueue(cctx, m)
			cancel()
			now := time.Now()
			p.update(func() {
				if err == nil {
					acks = append(acks, ack{m.MID, now})
					return
				}
				if failures == 0 {
					firstFail = now
				}
				failures, lastFail, lastErr = failures+1, now, err
			})
			time.Sleep(2 * time.Millisecond) // pace the traffic: a few hundred enqueues a second
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-stopped
	}()

	p.wait(t, 10*time.Second, "traffic before the failover", func() string {
		if len(acks) < 100 || len(handled) < 50 {
			return fmt.Sprintf("%d enqueued, %d handled", len(acks), len(handled))
		}
		return ""
	})
	// Everything acknowledged so far is on the replica once WAIT says so: replication is one ordered
	// stream, so a later write of ours that reached the replica carries every earlier one.
	p.mu.Lock()
	replicated := slices.Clone(acks)
	p.mu.Unlock()
	var waited *goredis.Cmd
	if _, err := env.admin.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		pipe.Set(ctx, "shape-failover-checkpoint", time.Now().UnixNano(), 0)
		waited = pipe.Do(ctx, "WAIT", 1, 5000) // on the connection that wrote: WAIT counts its writes
		return nil
	}); err != nil {
		t.Fatalf("WAIT 1: %v", err)
	} else if n, err := waited.Int(); err != nil || n < 1 {
		t.Fatalf("WAIT 1: %d replicas acknowledged (%v)", n, err)
	}

	began := time.Now()
	env.sent.Failover(t)
	promoted := time.Now()

	// A registration made now is seen with the one that lived through the failover.
	after, err := sdredis.NewRegistrar(env.fleet, sdredis.Service{Name: sdSvc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	after.Register()
	defer after.Deregister()
	both := []string{before.ID(), after.ID()}
	slices.Sort(both)
	took := sdWait(t, ch, 10*time.Second, both...)
	t.Logf("registration after the failover seen in %v", took)

	m, err := umf.New(idleSvc+":/", "shape-failover:/", map[string]string{"after": "failover"})
	if err != nil {
		t.Fatal(err)
	}
	if err := producer.Enqueue(ctx, m); err != nil {
		t.Fatal(err)
	}
	select {
	case mid := <-idleJobs:
		if mid != m.MID {
			t.Errorf("the idle consumer handled %s, want %s", mid, m.MID)
		}
		t.Logf("the consumer idle through the failover handled a new message %v after the promotion", time.Since(promoted))
	case <-time.After(10 * time.Second):
		t.Fatal("the consumer idle through the failover handled nothing within 10 s")
	}

	p.wait(t, 15*time.Second, "enqueues on the new primary", func() string {
		n := 0
		for _, a := range acks {
			if a.at.After(promoted) {
				n++
			}
		}
		if n < 100 {
			return fmt.Sprintf("%d enqueued since the failover (%d failures, last: %v)", n, failures, lastErr)
		}
		return ""
	})
	close(stop)
	<-stopped
	p.wait(t, 30*time.Second, "every enqueue replicated before the failover, or made after it, handled", func() string {
		missing := 0
		for _, a := range replicated {
			if handled[a.mid] == 0 {
				missing++
			}
		}
		late := 0
		for _, a := range acks {
			if a.at.After(promoted) && handled[a.mid] == 0 {
				late++
			}
		}
		if missing+late > 0 {
			return fmt.Sprintf("%d of %d replicated enqueues and %d enqueues since the failover not handled", missing, len(replicated), late)
		}
		return ""
	})
	p.mu.Lock()
	unreplicated, lost, duplicates := 0, 0, 0
	for _, a := range acks[len(replicated):] {
		if !a.at.After(promoted) {
			unreplicated++
			if handled[a.mid] == 0 {
				lost++
			}
		}
	}
	for _, n := range handled {
		duplicates += n - 1
	}
	t.Logf("failover: SENTINEL FAILOVER to a promoted primary in %v; %d enqueues acknowledged, %d failed "+
		"(from %v to %v after the failover began; last error: %v); %d acknowledged after the WAIT and before "+
		"the promotion, %d of them lost with the old primary; %d handled twice",
		promoted.Sub(began), len(acks), failures, nonNeg(firstFail, began), nonNeg(lastFail, began), lastErr,
		unreplicated, lost, duplicates)
	p.mu.Unlock()

	inspector, err := queue.NewInspector(env.fleet)
	if err != nil {
		t.Fatal(err)
	}
	shapeEventually(t, 10*time.Second, "an empty queue after the failover", func() string {
		s, err := inspector.Stats(ctx, svc)
		if err != nil || s.Received+s.InProgress+s.Leased+s.Delayed+s.Incomplete != 0 {
			return fmt.Sprintf("%+v %v", s, err)
		}
		return ""
	})

	before.Deregister()
	took = sdWait(t, ch, 5*time.Second, after.ID())
	t.Logf("deregistration after the failover seen in %v", took)
}

// nonNeg is t - since, or 0 when t is the zero time.
func nonNeg(t, since time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return t.Sub(since)
}
