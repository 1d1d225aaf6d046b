package transport

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

// shardedBaseline and singleRate hold the raw sharded ping-pong's and the single-Redis transport's
// req/s per in-flight count, for the cluster's ratios.
var shardedBaseline, singleRate sync.Map

// redisCPU is the CPU time (INFO cpu, user + sys) each master has used so far, in a fixed order: what
// the requests cost Redis, however busy the rest of the machine is.
func redisCPU(b *testing.B, rdb goredis.UniversalClient) []time.Duration {
	ctx := context.Background()
	var nodes []*goredis.Client
	if cc, ok := rdb.(*goredis.ClusterClient); ok {
		var mu sync.Mutex
		if err := cc.ForEachMaster(ctx, func(_ context.Context, m *goredis.Client) error {
			mu.Lock()
			nodes = append(nodes, m)
			mu.Unlock()
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		slices.SortFunc(nodes, func(x, y *goredis.Client) int { return strings.Compare(x.Options().Addr, y.Options().Addr) })
	} else {
		nodes = []*goredis.Client{rdb.(*goredis.Client)}
	}
	cpu := make([]time.Duration, len(nodes))
	for i, n := range nodes {
		info, err := n.Info(ctx, "cpu").Result()
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(info, "\n") {
			name, v, ok := strings.Cut(strings.TrimSpace(line), ":")
			if ok && (name == "used_cpu_user" || name == "used_cpu_sys") {
				f, _ := strconv.ParseFloat(v, 64)
				cpu[i] += time.Duration(f * float64(time.Second))
			}
		}
	}
	return cpu
}

// reportCPU reports the Redis CPU time per request of b.N requests: in all (redis-cpu-µs/req) and on
// the busiest master (busiest-node-µs/req), which bounds the rate when each master has a core.
func reportCPU(b *testing.B, cpu []time.Duration) {
	var total, most time.Duration
	for _, d := range cpu {
		total += d
		most = max(most, d)
	}
	b.ReportMetric(total.Seconds()*1e6/float64(b.N), "redis-cpu-µs/req")
	b.ReportMetric(most.Seconds()*1e6/float64(b.N), "busiest-node-µs/req")
}

// BenchmarkClusterRequestReply measures request/reply on a 3-master Redis Cluster: sharded pub/sub,
// with the caller's and the responder's channels on different masters, so that every request and every
// reply crosses shards. In the same run: a raw SSUBSCRIBE/SPUBLISH ping-pong on the same cluster and
// the same masters (raw-sharded, the naive baseline), and the transport on one Redis (hydrakit-single).
// Metrics: x-raw-sharded and x-single (the cluster's req/s over each), x-single-paired, which
// alternates blocks of single-Redis and cluster requests so that machine load weighs on both alike,
// and the Redis CPU time per request, in all and on the busiest master (how the work spreads over
// shards). All Redis processes share the machine's cores with the benchmark itself.
func BenchmarkClusterRequestReply(b *testing.B) {
	single := redistest.Client(b)
	cluster := redistest.StartCluster(b)
	crdb := cluster.Client(b)
	keys := keyspace.New(keyspace.ClusterSafe())
	server, caller := "bench-calc", ""
	home := cluster.NodeForKey(b, keys.ServiceChannel(server))
	for i := 0; caller == ""; i++ {
		if name := "bench-caller-" + strconv.Itoa(i); cluster.NodeForKey(b, keys.ServiceChannel(name)) != home {
			caller = name
		}
	}
	for _, n := range inflight {
		b.Run(fmt.Sprintf("inflight=%d/raw-sharded", n), func(b *testing.B) {
			call := rawOn(b, crdb, true, false,
				"bench:raw:{"+server+"}:"+keyspace.NewInstanceID(), "bench:raw:{"+caller+"}:"+keyspace.NewInstanceID())
			shardedBaseline.Store(n, run(b, n, call))
		})
		b.Run(fmt.Sprintf("inflight=%d/hydrakit-single", n), func(b *testing.B) {
			call := hydrakitCall(b, single)
			cpu0 := redisCPU(b, single)
			singleRate.Store(n, run(b, n, call))
			reportCPU(b, []time.Duration{redisCPU(b, single)[0] - cpu0[0]})
		})
		b.Run(fmt.Sprintf("inflight=%d/hydrakit-cluster", n), func(b *testing.B) {
			call := hydrakitBetween(b, crdb, server, caller)
			cpu0 := redisCPU(b, crdb)
			rps := run(b, n, call)
			cpu := redisCPU(b, crdb)
			for i := range cpu {
				cpu[i] -= cpu0[i]
			}
			reportCPU(b, cpu)
			if base, ok := shardedBaseline.Load(n); ok {
				b.ReportMetric(rps/base.(float64), "x-raw-sharded")
			}
			if base, ok := singleRate.Load(n); ok {
				b.ReportMetric(rps/base.(float64), "x-single")
			}
		})
		b.Run(fmt.Sprintf("inflight=%d/paired-cluster-vs-single", n), func(b *testing.B) {
			pairedAs(b, n, hydrakitCall(b, single), hydrakitBetween(b, crdb, server, caller), "x-single-paired")
		})
	}
}
