// Package queue benchmarks the hydrakit work queue end to end on a real Redis (enqueue in batches
// of 100 → consume → complete, with leases, heartbeats, recoverer and scheduler running) next to a
// raw go-redis LPUSH → BLMOVE → LREM loop measured in the same run, at 1 and 8 workers, with the
// Redis server's CPU time per message (INFO cpu, steadier than msgs/s on a shared machine); and the
// Redis load of an idle pool, in commands per second from INFO commandstats (calls made inside Lua
// scripts included).
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

var baseline sync.Map // workers → raw msgs/s

func BenchmarkQueue(b *testing.B) {
	client := redistest.Fleet(b, redistest.Client(b))
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("workers=%d/raw-go-redis", workers), func(b *testing.B) {
			baseline.Store(workers, endToEnd(b, client, workers, rawConsume))
		})
		b.Run(fmt.Sprintf("workers=%d/hydrakit", workers), func(b *testing.B) {
			rate := endToEnd(b, client, workers, hydrakitConsume)
			if base, ok := baseline.Load(workers); ok {
				b.ReportMetric(rate/base.(float64), "x-raw")
			}
		})
	}
}

// consumeFunc starts consumers of service that call handled once per completed message and
// returns a function that stops them.
type consumeFunc func(b *testing.B, c *hydrakit.Client, service string, workers int, handled func()) (stop func())

// endToEnd enqueues one message per b.Loop iteration (sent in batches, at most window of them
// outstanding) while consumers run, waits until every message was completed, and reports msgs/s.
func endToEnd(b *testing.B, c *hydrakit.Client, workers int, consume consumeFunc) float64 {
	service := redistest.Name("bench")
	var done atomic.Int64
	all := make(chan struct{})
	var want atomic.Int64
	want.Store(-1)
	stop := consume(b, c, service, workers, func() {
		if n := done.Add(1); n == want.Load() {
			close(all)
		}
	})
	defer stop()
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

// redisCPU is the CPU time the Redis server has used (INFO cpu, user + sys): what one message costs
// Redis, independent of how busy the rest of the machine is.
func redisCPU(b *testing.B, c goredis.UniversalClient) time.Duration {
	info, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		name, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (name == "used_cpu_user" || name == "used_cpu_sys") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
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
					b.Error(err)
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
