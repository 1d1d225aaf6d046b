// Package queue benchmarks the hydrakit work queue end to end on a real Redis (enqueue in batches
// of 100 → consume → complete, with leases, heartbeats, recoverer and scheduler running) next to a
// raw go-redis LPUSH → BLMOVE → LREM loop measured in the same run, at 1, 8 and 32 workers, on one
// Redis and on a 3-master Redis Cluster started for the run, with the Redis servers' CPU time per
// message (INFO cpu of every master, steadier than msgs/s on a shared machine); and the Redis load of
// an idle pool, in commands per second from INFO commandstats (calls made inside Lua scripts
// included).
package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/queue"
	"github.com/hydrakit/hydrakit/umf"
)

const (
	batch  = 100  // messages per enqueue call, the same for both sides
	window = 2000 // messages enqueued but not completed, at most: ns/op is then end to end
)

// BenchmarkQueue runs every queue at 1, 8 and 32 workers, raw go-redis first, on one Redis and on a
// 3-master cluster, in one run. Metrics: msgs/s, redis-cpu-µs/msg (all masters), x-raw (hydrakit
// over the raw loop on the same shape) and, on the cluster, x-single (over the same side on one
// Redis). "queues=3" spreads the work over three services, which the cluster serves from its three
// masters (one shard each), the single Redis from its one thread.
func BenchmarkQueue(b *testing.B) {
	single := redistest.Fleet(b, redistest.Client(b))
	cluster := redistest.StartCluster(b)
	clustered := redistest.Fleet(b, cluster.Client(b))
	shapes := []struct {
		name   string
		client *hydrakit.Client
		// services returns n service names for one run: on the cluster, their queues on n
		// different masters.
		services func(n int) []string
	}{
		{"single", single, func(n int) []string { return names(n, nil) }},
		{"cluster", clustered, func(n int) []string {
			return names(n, func(svc string) string {
				return cluster.NodeForKey(b, clustered.Keyspace().QueueReceived(svc)).Addr
			})
		}},
	}
	rates := map[string]float64{} // "<shape>/<queues>/<workers>/<side>" → msgs/s
	for _, queues := range []int{1, 3} {
		for _, workers := range []int{1, 8, 32} {
			if queues > 1 && workers != 8 {
				continue
			}
			for _, sh := range shapes {
				for _, side := range []struct {
					name    string
					consume consumeFunc
				}{{"raw-go-redis", rawConsume}, {"hydrakit", hydrakitConsume}} {
					name := fmt.Sprintf("queues=%d/workers=%d/%s/%s", queues, workers, sh.name, side.name)
					b.Run(name, func(b *testing.B) {
						rate := endToEnd(b, sh.client, sh.services(queues), workers, side.consume)
						rates[name] = rate
						if side.name == "hydrakit" {
							raw := strings.TrimSuffix(name, "hydrakit") + "raw-go-redis"
							if base := rates[raw]; base > 0 {
								b.ReportMetric(rate/base, "x-raw")
							}
						}
						if sh.name == "cluster" {
							if one := rates[strings.Replace(name, "/cluster/", "/single/", 1)]; one > 0 {
								b.ReportMetric(rate/one, "x-single")
							}
						}
					})
				}
			}
		}
	}
}

// BenchmarkQueuePaired measures hydrakit's pool on the 3-master cluster against the same pool on one
// Redis in alternating blocks of pairBlock messages (each end to end: enqueued, handled, completed),
// both pools running throughout, at 1, 8 and 32 workers: x-single-paired is the cluster's rate over
// the single Redis's. Unpaired runs on this shared machine vary by ±30 % from one second to the
// next; pairing cancels most of that, as bench/transport's paired benchmarks do.
func BenchmarkQueuePaired(b *testing.B) {
	single := redistest.Fleet(b, redistest.Client(b))
	clustered := redistest.Fleet(b, redistest.StartCluster(b).Client(b))
	for _, workers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("workers=%d/cluster-vs-single", workers), func(b *testing.B) {
			sides := []*pairSide{newPairSide(b, single, workers), newPairSide(b, clustered, workers)}
			for _, s := range sides {
				s.block(b, pairBlock) // warm up: connections, scripts loaded
				s.elapsed, s.n = 0, 0
			}
			round := 0
			for b.Loop() {
				for range pairsPerLoop {
					for i := range sides {
						sides[(i+round)%2].block(b, pairBlock) // alternate which goes first
					}
					round++
				}
			}
			one, cluster := sides[0].rate(), sides[1].rate()
			b.ReportMetric(one, "single-msgs/s")
			b.ReportMetric(cluster, "cluster-msgs/s")
			b.ReportMetric(cluster/one, "x-single-paired")
		})
	}
}

// pairBlock is the number of messages of one block of BenchmarkQueuePaired, pairsPerLoop the
// blocks of each side in one b.Loop iteration (about 0.4 s): about 8 pairs with the default
// -benchtime.
const (
	pairBlock    = 2000
	pairsPerLoop = 3
)

// pairSide is one shape of BenchmarkQueuePaired: a pool that runs for the whole benchmark and the
// time its blocks took.
type pairSide struct {
	client   *hydrakit.Client
	service  string
	producer *queue.Producer
	done     atomic.Int64
	wake     chan struct{}
	elapsed  time.Duration
	n        int64
}

func newPairSide(b *testing.B, c *hydrakit.Client, workers int) *pairSide {
	s := &pairSide{client: c, service: redistest.Name("paired"), wake: make(chan struct{}, 1)}
	var err error
	if s.producer, err = queue.NewProducer(c); err != nil {
		b.Fatal(err)
	}
	stop := hydrakitConsume(b, c, s.service, workers, func() {
		s.done.Add(1)
		select {
		case s.wake <- struct{}{}:
		default:
		}
	})
	b.Cleanup(stop)
	return s
}

// block enqueues n messages in batches (at most window outstanding) and waits until all are
// completed, adding the time it took to the side's total.
func (s *pairSide) block(b *testing.B, n int) {
	ctx := context.Background()
	start := time.Now()
	target := s.done.Load() + int64(n)
	pending := make([]*umf.Message, 0, batch)
	for i := range n {
		m, err := umf.New(s.service+":/", "bench:/", map[string]int{"n": i})
		if err != nil {
			b.Fatal(err)
		}
		if pending = append(pending, m); len(pending) == batch || i == n-1 {
			for target-int64(n-i)-s.done.Load() > window {
				time.Sleep(20 * time.Microsecond)
			}
			if err := s.producer.Enqueue(ctx, pending...); err != nil {
				b.Fatal(err)
			}
			pending = pending[:0]
		}
	}
	timeout := time.After(60 * time.Second)
	for s.done.Load() < target {
		select {
		case <-s.wake:
		case <-timeout:
			b.Fatalf("%d of %d messages completed", s.done.Load()-target+int64(n), n)
		}
	}
	s.elapsed += time.Since(start)
	s.n += int64(n)
}

func (s *pairSide) rate() float64 { return float64(s.n) / s.elapsed.Seconds() }

// names returns n unique service names; with node, names whose queues node puts on n different
// nodes.
func names(n int, node func(service string) string) []string {
	var out []string
	taken := map[string]bool{}
	for len(out) < n {
		svc := redistest.Name("bench")
		if node != nil {
			addr := node(svc)
			if taken[addr] {
				continue
			}
			taken[addr] = true
		}
		out = append(out, svc)
	}
	return out
}

// consumeFunc starts consumers of service, with workers workers, that call handled once per
// completed message and returns a function that stops them.
type consumeFunc func(b *testing.B, c *hydrakit.Client, service string, workers int, handled func()) (stop func())

// endToEnd enqueues one message per b.Loop iteration to services in turn (sent in batches, at most
// window of them outstanding) while consumers of every service run, waits until every message was
// completed, and reports msgs/s.
func endToEnd(b *testing.B, c *hydrakit.Client, services []string, workers int, consume consumeFunc) float64 {
	var done atomic.Int64
	all := make(chan struct{})
	var want atomic.Int64
	want.Store(-1)
	for _, service := range services {
		stop := consume(b, c, service, workers, func() {
			if n := done.Add(1); n == want.Load() {
				close(all)
			}
		})
		defer stop()
	}
	producer, err := queue.NewProducer(c)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	pending := make([]*umf.Message, 0, batch)
	flush := func() {
		if err := producer.Enqueue(ctx, pending...); err != nil {
			b.Fatal(err)
		}
		pending = pending[:0]
	}
	b.ReportAllocs()
	cpu0 := redisCPU(b, c.Redis())
	start := time.Now()
	n := int64(0)
	for b.Loop() {
		service := services[int(n/batch)%len(services)] // one batch per service in turn
		m, err := umf.New(service+":/", "bench:/", map[string]int64{"n": n})
		if err != nil {
			b.Fatal(err)
		}
		pending = append(pending, m)
		n++
		if len(pending) == batch {
			for n-done.Load() > window {
				time.Sleep(20 * time.Microsecond)
			}
			flush()
		}
	}
	flush()
	want.Store(n)
	if done.Load() == n {
		close(all)
	}
	select {
	case <-all:
	case <-time.After(60 * time.Second):
		b.Fatalf("%d of %d messages completed", done.Load(), n)
	}
	rate := float64(n) / time.Since(start).Seconds()
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric((redisCPU(b, c.Redis())-cpu0).Seconds()*1e6/float64(n), "redis-cpu-µs/msg")
	return rate
}

// redisCPU is the CPU time the Redis servers have used (INFO cpu, user + sys; every master of a
// cluster): what one message costs Redis, independent of how busy the rest of the machine is.
func redisCPU(b *testing.B, c goredis.UniversalClient) time.Duration {
	ctx := context.Background()
	if cc, ok := c.(*goredis.ClusterClient); ok {
		var mu sync.Mutex
		var total time.Duration
		if err := cc.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error {
			d, err := cpuOf(ctx, m)
			mu.Lock()
			total += d
			mu.Unlock()
			return err
		}); err != nil {
			b.Fatal(err)
		}
		return total
	}
	d, err := cpuOf(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func cpuOf(ctx context.Context, c goredis.UniversalClient) (time.Duration, error) {
	info, err := c.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, err
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		name, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (name == "used_cpu_user" || name == "used_cpu_sys") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second)), nil
}

// rawConsume is the baseline: each worker BLMOVEs received → in-progress and LREMs what it took,
// Hydra's wire without leases, retries or recovery.
func rawConsume(b *testing.B, client *hydrakit.Client, service string, workers int, handled func()) func() {
	c := client.Redis()
	received, inProgress := client.Keyspace().QueueReceived(service), client.Keyspace().QueueInProgress(service)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				raw, err := c.BLMove(ctx, received, inProgress, "RIGHT", "LEFT", time.Second).Result()
				if errors.Is(err, goredis.Nil) {
					continue
				}
				if err != nil {
					if ctx.Err() == nil {
						b.Error(err)
					}
					return
				}
				if err := c.LRem(ctx, inProgress, -1, raw).Err(); err != nil {
					b.Error(err)
					return
				}
				handled()
			}
		}()
	}
	return func() { cancel(); wg.Wait() }
}

func hydrakitConsume(b *testing.B, c *hydrakit.Client, service string, workers int, handled func()) func() {
	con, err := queue.NewConsumer(c, service, queue.HandlerFunc(func(context.Context, *queue.Delivery) error {
		handled()
		return nil
	}), queue.ConsumerWorkers(workers))
	if err != nil {
		b.Fatal(err)
	}
	return func() {
		if err := con.Close(); err != nil {
			b.Error(err)
		}
	}
}

// BenchmarkIdle measures the Redis commands per second an idle pool (default options, 8 workers)
// costs, next to one raw BLMOVE loop with the same 2 s timeout. Each iteration is 4 s idle.
func BenchmarkIdle(b *testing.B) {
	c := redistest.Start(b).Client(b)
	client := redistest.Fleet(b, c)
	var raw float64
	b.Run("raw-blmove", func(b *testing.B) {
		raw = idle(b, c, func() func() {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				for ctx.Err() == nil {
					c.BLMove(ctx, "idle:raw", "idle:raw", "RIGHT", "RIGHT", 2*time.Second)
				}
			}()
			return func() { cancel(); <-done }
		})
	})
	b.Run("hydrakit", func(b *testing.B) {
		rate := idle(b, c, func() func() {
			con, err := queue.NewConsumer(client, redistest.Name("idle"), queue.HandlerFunc(func(context.Context, *queue.Delivery) error {
				return nil
			}))
			if err != nil {
				b.Fatal(err)
			}
			return func() {
				if err := con.Close(); err != nil {
					b.Error(err)
				}
			}
		})
		if raw > 0 {
			b.ReportMetric(rate/raw, "x-raw")
		}
	})
}

func idle(b *testing.B, c goredis.UniversalClient, start func() (stop func())) float64 {
	stop := start()
	defer stop()
	time.Sleep(300 * time.Millisecond) // start-up commands are not idle load
	before := commands(b, c)
	t0 := time.Now()
	for b.Loop() {
		time.Sleep(4 * time.Second)
	}
	rate := float64(commands(b, c)-before-1) / time.Since(t0).Seconds() // -1: our INFO
	b.ReportMetric(rate, "cmds/s")
	return rate
}

// commands is the total of calls in INFO commandstats.
func commands(b *testing.B, c goredis.UniversalClient) int64 {
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, line := range strings.Split(info, "\n") {
		_, rest, ok := strings.Cut(line, ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.SplitN(rest, ",", 2)[0], 10, 64)
		total += n
	}
	return total
}
