package integration

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/config"
	"github.com/hydrakit/hydrakit/health"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/queue"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// serviceACL is the per-service ACL SETUSER template of docs/security.md with its placeholders
// filled: <svc> the service the user runs, <peer> a service it enqueues to.
// On a cluster (cluster-safe keyspace) the per-service names are hash-tagged, as the page says.
func serviceACL(t *testing.T, svc, peer string, cluster bool) (user, password string, rules []string) {
	t.Helper()
	doc, err := os.ReadFile("../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)\n## A Redis user per service\n.*?\n```\n(.*?)\n```").FindSubmatch(doc)
	if m == nil {
		t.Fatal(`docs/security.md: no code block under "## A Redis user per service"`)
	}
	text := string(m[1])
	if cluster {
		text = strings.NewReplacer("<svc>:", "{<svc>}:", "<peer>:", "{<peer>}:").Replace(text)
	}
	text = strings.NewReplacer("<svc>", svc, "<peer>", peer).Replace(text)
	fields := strings.Fields(strings.ReplaceAll(text, "\\\n", " "))
	if len(fields) < 4 || fields[0] != "ACL" || fields[1] != "SETUSER" {
		t.Fatalf("docs/security.md: the template is not an ACL SETUSER command: %q", m[1])
	}
	for _, r := range fields[3:] {
		if p, ok := strings.CutPrefix(r, ">"); ok {
			password = p
		}
	}
	return fields[2], password, fields[3:]
}

// TestServiceACL runs two services, each as its own Redis user made from the per-service template
// of docs/security.md: orders calls billing over pub/sub and queues work to it, both register, report
// health and read their config, and ACL LOG stays empty. Then, with orders' credentials, writing
// billing's presence, service record, routes, config, in-progress list or health is refused, and a
// Registrar for billing cannot make an instance that billing's callers see.
func TestServiceACL(t *testing.T) {
	users := func(cluster bool) []redistest.ServerOption {
		ouser, opass, orules := serviceACL(t, "orders", "billing", cluster)
		buser, bpass, brules := serviceACL(t, "billing", "orders", cluster)
		return []redistest.ServerOption{redistest.ACLUser(ouser, opass, orules...), redistest.ACLUser(buser, bpass, brules...)}
	}
	t.Run("single", func(t *testing.T) {
		srv := redistest.Start(t, users(false)...)
		checkServiceACL(t, srv.Client(t), []*redistest.Server{srv}, func(user, pass string) goredis.UniversalClient {
			return goredis.NewClient(&goredis.Options{Addr: srv.Addr, Username: user, Password: pass})
		})
	})
	t.Run("cluster", func(t *testing.T) {
		c := redistest.StartCluster(t, users(true)...)
		checkServiceACL(t, c.Client(t), c.Nodes(), func(user, pass string) goredis.UniversalClient {
			opts := c.Options()
			opts.Username, opts.Password = user, pass
			return goredis.NewClusterClient(opts)
		})
	})
}

func checkServiceACL(t *testing.T, admin goredis.UniversalClient, nodes []*redistest.Server, dial func(user, pass string) goredis.UniversalClient) {
	ctx := t.Context()
	asUser := func(svc string) *hydrakit.Client {
		user, pass, _ := serviceACL(t, svc, "", false)
		rdb := dial(user, pass)
		t.Cleanup(func() { _ = rdb.Close() })
		return redistest.Fleet(t, rdb)
	}
	orders, billing := asUser("orders"), asUser("billing")
	aclLog := func() (refusals []string) {
		for _, n := range nodes {
			for _, e := range n.ACLLog(t) {
				refusals = append(refusals, fmt.Sprintf("%s: %s refused %s %q (%s)", n.Addr, e.Username, e.Reason, e.Object, e.Context))
			}
		}
		return refusals
	}
	keys := orders.Keyspace()

	// billing: registered, serving /v1/charge over pub/sub, consuming its queue, reporting health.
	breg := registrar(t, billing, "billing")
	bconn, err := redispubsub.NewConn(billing, "billing", breg.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer bconn.Close()
	bconn.Handle("/v1/charge", func(ctx context.Context, c *redispubsub.Conn, msg *umf.Message) {
		resp, _ := umf.New("", "", map[string]bool{"charged": true})
		_ = c.Reply(ctx, msg, resp)
	})
	breg.Register()
	if err := breg.RegisterRoutes(ctx, "[post]/v1/charge"); err != nil {
		t.Fatal(err)
	}
	jobs := make(chan string, 1)
	consumer, err := queue.NewConsumer(billing, "billing", queue.HandlerFunc(func(_ context.Context, d *queue.Delivery) error {
		jobs <- d.Message.MID
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	reporter, err := health.NewReporter(billing, "billing", breg.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer reporter.Close()
	if err := admin.HSet(ctx, keys.Configs("billing"), "1.0.0", `{"rate":1}`).Err(); err != nil {
		t.Fatal(err)
	}
	bstore, err := config.NewStore(billing)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bstore.Get(ctx, "billing", "1.0.0"); err != nil {
		t.Errorf("billing reads its own config: %v", err)
	}

	// orders: registered, calling billing by service address, queueing to it.
	oreg := registrar(t, orders, "orders")
	oconn, err := redispubsub.NewConn(orders, "orders", oreg.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer oconn.Close()
	oreg.Register()
	req, _ := umf.New("billing:/v1/charge", oconn.Address(), map[string]int{"cents": 100})
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := oconn.Request(rctx, req); err != nil {
		t.Fatalf("orders → billing over pub/sub: %v", err)
	}
	producer, err := queue.NewProducer(orders)
	if err != nil {
		t.Fatal(err)
	}
	job, _ := umf.New("billing:/v1/invoice", "orders:/", map[string]int{"order": 7})
	if err := producer.Enqueue(ctx, job); err != nil {
		t.Fatalf("orders enqueues to billing: %v", err)
	}
	select {
	case mid := <-jobs:
		if mid != job.MID {
			t.Errorf("billing consumed %s, want %s", mid, job.MID)
		}
	case <-rctx.Done():
		t.Fatal("billing never consumed the job orders queued")
	}

	for _, r := range aclLog() {
		t.Errorf("ACL LOG: %s", r)
	}
	for _, n := range nodes {
		if err := n.Client(t).Do(ctx, "ACL", "LOG", "RESET").Err(); err != nil {
			t.Fatal(err)
		}
	}

	// What orders' credentials cannot do to billing.
	bid := breg.ID()
	ordersRDB := orders.Redis()
	for _, tc := range []struct {
		what string
		cmd  goredis.Cmder
	}{
		{"fake a billing presence", ordersRDB.Set(ctx, keys.Presence("billing", "f00d"), "f00d", time.Minute)},
		{"delete billing's presence", ordersRDB.Del(ctx, keys.Presence("billing", bid))},
		{"overwrite billing's service record", ordersRDB.Set(ctx, keys.Service("billing"), "{}", 0)},
		{"replace billing's routes", ordersRDB.SAdd(ctx, keys.Routes("billing"), "[get]/evil")},
		{"push billing's config", ordersRDB.HSet(ctx, keys.Configs("billing"), "1.0.0", "{}")},
		{"take billing's jobs in progress", ordersRDB.LPush(ctx, keys.QueueInProgress("billing"), "{}")},
		{"read billing's queue away", ordersRDB.RPop(ctx, keys.QueueReceived("billing"))},
		{"fake billing's health", ordersRDB.Set(ctx, keys.Health("billing", bid), "{}", time.Minute)},
		{"flush the database", ordersRDB.FlushAll(ctx)},
	} {
		if err := tc.cmd.Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
			t.Errorf("orders could %s: %v", tc.what, err)
		}
	}

	// A Registrar for billing on orders' credentials: its presence is refused, so billing's callers
	// never see the impostor.
	rogue, err := sdredis.NewRegistrar(orders, sdredis.Service{Name: "billing", IP: "10.6.6.6", Port: 666}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rogue.Register()
	defer rogue.Deregister()
	list, err := sdredis.ListInstances(ctx, billing, "billing")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range list {
		if in.ID == rogue.ID() {
			t.Errorf("the impostor registered with orders' credentials is listed as billing: %+v", in)
		}
	}
	if exists := admin.Exists(ctx, keys.Presence("billing", rogue.ID())).Val(); exists != 0 {
		t.Error("the impostor's presence key was written")
	}
	if len(aclLog()) == 0 {
		t.Error("ACL LOG recorded none of the refusals")
	}
}

func registrar(t *testing.T, client *hydrakit.Client, svc string) *sdredis.Registrar {
	t.Helper()
	r, err := sdredis.NewRegistrar(client, sdredis.Service{Name: svc, IP: "127.0.0.1", Port: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Deregister)
	return r
}
