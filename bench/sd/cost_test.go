package sd

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	sdredis "github.com/hydrakit/hydrakit/sd/redis"
)

// watcherCommands are the commands an Instancer issues; Registrars issue the others.
var watcherCommands = []string{"exists", "smembers", "mget", "hmget", "hscan"}

// BenchmarkCommandsPerSecond runs N Registrars and one watching Instancer (default timings) for a 5 s
// window per iteration and reports the Redis commands and Redis CPU time they cost per second, next to
// Node Hydra's lookup (SCAN MATCH *:svc:*:presence COUNT 100, then HGET per instance) reimplemented on
// go-redis and run once per 3 s, as Node's cache does.
func BenchmarkCommandsPerSecond(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			srv := redistest.Start(b)
			c := srv.Client(b)
			hc := redistest.Fleet(b, c)
			for i := range n {
				r, err := sdredis.NewRegistrar(hc, sdredis.Service{Name: "bench-cps", IP: "10.0.0.1", Port: 1 + i}, nil, sdredis.RegistrarJanitorGrace(0))
				if err != nil {
					b.Fatal(err)
				}
				r.Register()
				defer r.Deregister()
			}
			in, err := sdredis.NewInstancer(hc, "bench-cps", nil)
			if err != nil {
				b.Fatal(err)
			}
			defer in.Stop()
			ch := make(chan sd.Event, 4)
			in.Register(ch)
			defer in.Deregister(ch)
			waitFor(b, ch, 5*time.Second, func(s []string) bool { return len(s) == n })

			const window = 5 * time.Second // about five resyncs and one or two nodes scans
			var watcher, registrars, node cost
			b.ReportAllocs()
			for b.Loop() {
				before := commandStats(b, c)
				time.Sleep(window)
				after := commandStats(b, c)
				watcher = delta(before, after, watcherCommands...)
				all := delta(before, after)
				registrars = cost{calls: all.calls - watcher.calls, usec: all.usec - watcher.usec}

				before = commandStats(b, c)
				if got := nodeLookup(b.Context(), c, "bench-cps"); got != n {
					b.Fatalf("Node-style lookup found %d of %d", got, n)
				}
				node = delta(before, commandStats(b, c))
			}
			secs := window.Seconds()
			b.ReportMetric(float64(watcher.calls)/secs, "watch-cmds/s")
			b.ReportMetric(float64(watcher.usec)/secs, "watch-redis-us/s")
			b.ReportMetric(float64(registrars.calls)/secs, "reg-cmds/s")
			b.ReportMetric(float64(registrars.usec)/secs, "reg-redis-us/s")
			b.ReportMetric(float64(node.calls)/3, "node-watch-cmds/s")
			b.ReportMetric(float64(node.usec)/3, "node-watch-redis-us/s")
			b.ReportMetric(float64(watcher.usec)/float64(node.usec)*3/secs, "x-node-watch")
			b.Logf("watcher: %s per %v", watcher, window)
		})
	}
}

// BenchmarkRefreshCommands measures one full discovery read (ListInstances: index, nodes scan,
// presence check; an Instancer does this every 3 s and a cheaper one every second) with and without
// 100,000 unrelated keys in the DB, next to Node's SCAN-based lookup reimplemented on go-redis. The
// commands sd/redis issues do not change with the keyspace; Node's grow with it.
func BenchmarkRefreshCommands(b *testing.B) {
	for _, unrelated := range []int{0, 100_000} {
		b.Run(fmt.Sprintf("unrelated=%d", unrelated), func(b *testing.B) {
			srv := redistest.Start(b)
			c := srv.Client(b)
			hc := redistest.Fleet(b, c)
			seedFleet(b, c)
			if err := populate(b.Context(), c, unrelated); err != nil {
				b.Fatal(err)
			}
			ctx := b.Context()
			if _, err := sdredis.ListInstances(ctx, hc, "bench-svc"); err != nil { // warm the connection
				b.Fatal(err)
			}
			before := commandStats(b, c)
			if _, err := sdredis.ListInstances(ctx, hc, "bench-svc"); err != nil {
				b.Fatal(err)
			}
			ours := delta(before, commandStats(b, c))
			before = commandStats(b, c)
			nodeLookup(ctx, c, "bench-svc")
			node := delta(before, commandStats(b, c))

			// The Node-style lookup takes ~1,000 round trips with 100,000 keys: time a few outside the loop.
			const nodeRuns = 5
			start := time.Now()
			for range nodeRuns {
				nodeLookup(ctx, c, "bench-svc")
			}
			nodeNs := time.Since(start) / nodeRuns

			b.ReportAllocs()
			start = time.Now()
			runs := 0
			for b.Loop() {
				if list, err := sdredis.ListInstances(ctx, hc, "bench-svc"); err != nil || len(list) != 5 {
					b.Fatalf("%d instances, %v", len(list), err)
				}
				runs++
			}
			oursNs := time.Since(start) / time.Duration(runs)
			b.ReportMetric(float64(nodeNs.Microseconds()), "node-us/lookup")
			b.ReportMetric(float64(oursNs)/float64(nodeNs), "x-node")
			b.ReportMetric(float64(ours.calls), "cmds/refresh")
			b.ReportMetric(float64(node.calls), "node-cmds/lookup")
			b.ReportMetric(float64(ours.usec), "redis-us/refresh")
			b.ReportMetric(float64(node.usec), "node-redis-us/lookup")
			b.Logf("unrelated=%d: sd/redis %s; Node-style %s", unrelated, ours, node)
		})
	}
}

// seedFleet writes 3 Go-style and 2 Node-style instances of bench-svc, and 50 instances of other
// services, as their registrars would.
func seedFleet(b *testing.B, c goredis.UniversalClient) {
	b.Helper()
	ctx := b.Context()
	k := keyspace.New()
	for i := range 55 {
		svc, id := "bench-svc", fmt.Sprintf("i%031d", i)
		if i >= 5 {
			svc = fmt.Sprintf("other%d", i)
		}
		c.Set(ctx, k.Presence(svc, id), id, 0)
		c.HSet(ctx, k.Nodes(), id, fmt.Sprintf(`{"serviceName":%q,"instanceID":%q,"ip":"10.0.0.1","port":%d}`, svc, id, 1000+i))
		if i < 3 {
			c.SAdd(ctx, k.Own(svc, "instances"), id)
		}
	}
}

// nodeLookup is Node Hydra 1.9.3's _checkServicePresence on go-redis: SCAN the whole keyspace for the
// service's presence keys, then HGET each instance's nodes entry in one MULTI. It returns how many
// instances it found.
func nodeLookup(ctx context.Context, c goredis.UniversalClient, svc string) int {
	var ids []string
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, "*:"+svc+":*:presence", 100).Result()
		if err != nil {
			return -1
		}
		for _, key := range keys {
			ids = append(ids, keyspace.New().Prefix()+":"+svc+":"+key[len(keyspace.New().Prefix()+":"+svc+":"):len(key)-len(":presence")])
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	pipe := c.TxPipeline()
	for _, id := range ids {
		pipe.HGet(ctx, keyspace.New().Nodes(), id[len(keyspace.New().Prefix()+":"+svc+":"):])
	}
	if len(ids) == 0 {
		return 0
	}
	cmds, _ := pipe.Exec(ctx)
	found := 0
	for _, cmd := range cmds {
		if cmd.Err() == nil {
			found++
		}
	}
	return found
}

// populate writes n unrelated keys, 10,000 per Lua call.
func populate(ctx context.Context, c goredis.UniversalClient, n int) error {
	const script = `for i = ARGV[1], ARGV[2] do redis.call('SET', 'unrelated:' .. i, i) end`
	for i := 0; i < n; i += 10_000 {
		if err := c.Eval(ctx, script, nil, i, min(i+10_000, n)-1).Err(); err != nil && !errors.Is(err, goredis.Nil) {
			return err
		}
	}
	return nil
}
