package redis

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

// A graceful Deregister is announced: an Instancer that would not read again for an hour (no resync,
// no nodes scan) drops the instance on the announcement alone. How soon is BenchmarkDeregisterToEvent's
// business (bench/sd).
func TestDeregisterAnnounced(t *testing.T) {
	c := redistest.Client(t)
	svc := redistest.Name("graceful")
	register(t, redistest.Fleet(t, c), Service{Name: svc, ID: "stays", IP: "10.0.0.1", Port: 1})
	leaving := register(t, redistest.Fleet(t, c), Service{Name: svc, ID: "leaves", IP: "10.0.0.2", Port: 2})
	in, err := NewInstancer(redistest.Fleet(t, c), svc, nil, InstancerResync(time.Hour), InstancerNodesScan(0))
	if err != nil {
		t.Fatal(err)
	}
	ch := watchEvents(t, in)
	waitInstances(t, ch, "10.0.0.1:1", "10.0.0.2:2")
	leaving.Deregister()
	waitInstances(t, ch, "10.0.0.1:1")
}

// A Redis that restarts empty is repopulated by a live Registrar at its next refresh, service record
// and nodes entry included, and the Instancer holds the instance again, with no process restarted.
func TestRedisRestartRepopulated(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	logger, lines := logEvents()
	r, err := NewRegistrar(redistest.Fleet(t, c), Service{Name: "svc", ID: "abc", IP: "10.0.0.1", Port: 1}, logger)
	if err != nil {
		t.Fatal(err)
	}
	r.Register()
	t.Cleanup(r.Deregister)
	in, err := NewInstancer(redistest.Fleet(t, c), "svc", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitInstances(t, watchEvents(t, in), "10.0.0.1:1")
	srv.Restart(t)
	waitLog(t, lines, "re-registered") // written, then logged
	check := srv.Client(t)
	n, err := check.Exists(t.Context(), "hydra:service:svc:service", "hydra:service:svc:abc:presence").Result()
	if err != nil || n != 2 || !check.HExists(t.Context(), "hydra:service:nodes", "abc").Val() {
		t.Fatalf("not repopulated: %d of the service record and presence, nodes entry %v (%v)",
			n, check.HExists(t.Context(), "hydra:service:nodes", "abc").Val(), err)
	}
	// The Instancer may never have seen the gap (the Registrar can be faster than its resync): a new
	// subscriber gets its state at once, and the next one if that is the gap.
	ch := watchEvents(t, in)
	waitInstances(t, ch, "10.0.0.1:1")
}

// The commands a discovery refresh issues do not depend on the size of the keyspace: no KEYS, no SCAN.
func TestRefreshCostIndependentOfKeyspace(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	// Written by hand rather than by a Registrar, whose refreshes would be counted too.
	c.SAdd(t.Context(), indexKey(keyspace.New(), "svc"), "go1")
	c.Set(t.Context(), "hydra:service:svc:go1:presence", "go1", 0)
	c.HSet(t.Context(), "hydra:service:nodes", "go1", `{"serviceName":"svc","instanceID":"go1","ip":"h","port":1}`)
	c.HSet(t.Context(), "hydra:service:nodes", "node1", `{"serviceName":"svc","instanceID":"node1","ip":"h","port":"2"}`)
	c.Set(t.Context(), "hydra:service:svc:node1:presence", "node1", 0)
	f := &finder{client: c, keys: keyspace.New(), service: "svc"}
	w := &watch{f: f, key: watchKey{resync: time.Second, nodesScan: DefaultNodesScan}}

	before := refreshCost(t, c, w)
	if err := populate(t.Context(), c, 100_000); err != nil {
		t.Fatal(err)
	}
	after := refreshCost(t, c, w)
	if before != after {
		t.Errorf("commands per refresh changed with 100,000 unrelated keys:\nbefore %s\nafter  %s", before, after)
	}
	t.Logf("per read (full | index | presence): %s", after)
}

// refreshCost returns the commands a full, an index and a presence read issue.
func refreshCost(t *testing.T, c *goredis.Client, w *watch) string {
	t.Helper()
	var out []string
	var live []Instance
	for _, kind := range []readKind{readFull, readIndex, readPresence} {
		before := commandStats(t.Context(), c)
		got, err := w.read(t.Context(), kind, live)
		if err != nil || len(got) != 2 {
			t.Fatalf("read: %v %v", got, err)
		}
		live = got
		out = append(out, formatDelta(before, commandStats(t.Context(), c)))
	}
	return strings.Join(out, " | ")
}

// populate writes n unrelated keys in one Lua call per 10,000.
func populate(ctx context.Context, c goredis.UniversalClient, n int) error {
	const script = `for i = ARGV[1], ARGV[2] do redis.call('SET', 'unrelated:' .. i, i) end`
	for i := 0; i < n; i += 10_000 {
		if err := c.Eval(ctx, script, nil, i, i+9_999).Err(); err != nil && !errors.Is(err, goredis.Nil) {
			return err
		}
	}
	return nil
}

// commandStats returns calls per command from INFO commandstats.
func commandStats(ctx context.Context, c goredis.UniversalClient) map[string]int64 {
	info, _ := c.Info(ctx, "commandstats").Result()
	calls := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.SplitN(rest, ",", 2)[0], 10, 64)
		calls[name] = n
	}
	return calls
}

// connectionSetup are the commands a client sends to open a connection, and INFO itself: they are not
// part of a refresh.
var connectionSetup = map[string]bool{"info": true, "hello": true, "client|setinfo": true, "client|setname": true, "select": true, "auth": true}

// formatDelta lists the commands issued between two commandStats, connection setup excluded.
func formatDelta(before, after map[string]int64) string {
	var parts []string
	for name, n := range after {
		if d := n - before[name]; d > 0 && !connectionSetup[name] {
			parts = append(parts, name+"="+strconv.FormatInt(d, 10))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}
