// Package transport benchmarks request/reply over Redis pub/sub: hydrakit's redispubsub transport
// next to a raw go-redis PUBLISH/SUBSCRIBE ping-pong measured in the same run, at 1, 8 and 32
// requests in flight. Both sides (caller and responder) run in this process on one Redis, so
// allocs/op counts both sides of one request.
package transport

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

var inflight = []int{1, 8, 32}

// baseline and baselineParallel hold the raw ping-pongs' req/s per in-flight count, for the ratios.
var baseline, baselineParallel sync.Map

func BenchmarkRequestReply(b *testing.B) {
	client := redistest.Client(b)
	for _, n := range inflight {
		b.Run(fmt.Sprintf("inflight=%d/raw-go-redis", n), func(b *testing.B) {
			call := rawPingPong(b, client, false)
			rps := run(b, n, call)
			baseline.Store(n, rps)
		})
		b.Run(fmt.Sprintf("inflight=%d/raw-go-redis-parallel", n), func(b *testing.B) {
			call := rawPingPong(b, client, true)
			rps := run(b, n, call)
			baselineParallel.Store(n, rps)
		})
		b.Run(fmt.Sprintf("inflight=%d/hydrakit", n), func(b *testing.B) {
			call := hydrakitCall(b, client)
			rps := run(b, n, call)
			if base, ok := baseline.Load(n); ok {
				b.ReportMetric(rps/base.(float64), "x-raw")
			}
			if base, ok := baselineParallel.Load(n); ok {
				b.ReportMetric(rps/base.(float64), "x-raw-parallel")
			}
		})
		b.Run(fmt.Sprintf("inflight=%d/paired", n), func(b *testing.B) {
			paired(b, n, rawPingPong(b, client, false), hydrakitCall(b, client))
		})
		// The control pairs the raw baseline with a second one of its own: how far from 1 the
		// method itself lands (block order, machine load) on this run.
		b.Run(fmt.Sprintf("inflight=%d/paired-control", n), func(b *testing.B) {
			paired(b, n, rawPingPong(b, client, false), rawPingPong(b, client, false))
		})
	}
}

// paired alternates short blocks of raw and hydrakit requests, so that load from other processes,
// which drifts over seconds, weighs on both alike; x-raw-paired is hydrakit's throughput relative to
// the raw baseline's over the same stretch of time. One op is one block on each side.
func paired(b *testing.B, n int, raw, hydrakit func(context.Context, int) error) {
	pairedAs(b, n, raw, hydrakit, "x-raw-paired")
}

// pairedAs is paired reporting the ratio under the name metric (base time / measured time).
func pairedAs(b *testing.B, n int, raw, hydrakit func(context.Context, int) error, metric string) {
	block := max(64, 8*n)
	var rawTime, hkTime time.Duration
	for b.Loop() {
		for _, side := range []struct {
			call func(context.Context, int) error
			sum  *time.Duration
		}{{raw, &rawTime}, {hydrakit, &hkTime}} {
			start := time.Now()
			if err := runBlock(n, block, side.call); err != nil {
				b.Fatal(err)
			}
			*side.sum += time.Since(start)
		}
	}
	b.ReportMetric(rawTime.Seconds()/hkTime.Seconds(), metric)
}

// runBlock makes count requests with n in flight.
func runBlock(n, count int, call func(context.Context, int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(count); i = next.Add(1) {
				if err := call(context.Background(), int(i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// run keeps n requests in flight until b.Loop ends and reports req/s and latency percentiles.
func run(b *testing.B, n int, call func(ctx context.Context, i int) error) float64 {
	b.ReportAllocs()
	tokens := make(chan int, n)
	lat := make([][]time.Duration, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range tokens {
				start := time.Now()
				if err := call(context.Background(), i); err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				lat[w] = append(lat[w], time.Since(start))
			}
		}()
	}
	start := time.Now()
	i := 0
	for b.Loop() {
		tokens <- i
		i++
	}
	close(tokens)
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	rps := float64(i) / elapsed.Seconds()
	b.ReportMetric(rps, "req/s")
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
	}
	return rps
}

// rawPingPong is the naive baseline: the responder reads its channel and PUBLISHes each reply in
// turn (parallel: each from a goroutine of its own, so replies overlap on the connection pool); the
// caller PUBLISHes and waits for the reply demultiplexed by an ID prefix. The payload is the size of
// the transport's UMF request.
func rawPingPong(b *testing.B, client *goredis.Client, parallel bool) func(context.Context, int) error {
	return rawOn(b, client, false, parallel, "bench:raw:req:"+keyspace.NewInstanceID(), "bench:raw:reply:"+keyspace.NewInstanceID())
}

// rawOn is the raw ping-pong on the channels reqCh and replyCh, with SSUBSCRIBE and SPUBLISH when
// sharded.
func rawOn(b *testing.B, client goredis.UniversalClient, sharded, parallel bool, reqCh, replyCh string) func(context.Context, int) error {
	ctx := context.Background()
	padding := string(make([]byte, 200))
	subscribe, publish := client.Subscribe, client.Publish
	if sharded {
		subscribe, publish = client.SSubscribe, client.SPublish
	}

	server := subscribe(ctx, reqCh)
	caller := subscribe(ctx, replyCh)
	for _, ps := range []*goredis.PubSub{server, caller} {
		if _, err := ps.Receive(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var pmu sync.Mutex
	pending := map[string]chan struct{}{}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			m, err := server.ReceiveMessage(ctx)
			if err != nil {
				return
			}
			if !parallel {
				publish(ctx, replyCh, m.Payload)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				publish(ctx, replyCh, m.Payload)
			}()
		}
	}()
	go func() {
		defer wg.Done()
		for {
			m, err := caller.ReceiveMessage(ctx)
			if err != nil {
				return
			}
			id := m.Payload[:16]
			pmu.Lock()
			ch := pending[id]
			delete(pending, id)
			pmu.Unlock()
			if ch != nil {
				ch <- struct{}{}
			}
		}
	}()
	b.Cleanup(func() {
		_ = server.Close()
		_ = caller.Close()
		wg.Wait()
	})
	return func(ctx context.Context, i int) error {
		id := fmt.Sprintf("%016d", i)
		ch := make(chan struct{}, 1)
		pmu.Lock()
		pending[id] = ch
		pmu.Unlock()
		if err := publish(ctx, reqCh, id+padding).Err(); err != nil {
			return err
		}
		select {
		case <-ch:
			return nil
		case <-time.After(5 * time.Second):
			return fmt.Errorf("raw: no reply to %s", id)
		}
	}
}

type sumRequest struct{ A, B int }

// hydrakitCall is the same round trip through a Publisher and a Subscriber on two Conns.
func hydrakitCall(b *testing.B, rdb goredis.UniversalClient) func(context.Context, int) error {
	return hydrakitBetween(b, rdb, "bench-calc", "bench-caller")
}

// hydrakitBetween is hydrakitCall from a Conn of service callerSvc to one of serverSvc, both on one
// fleet client made with options.
func hydrakitBetween(b *testing.B, rdb goredis.UniversalClient, serverSvc, callerSvc string, options ...hydrakit.Option) func(context.Context, int) error {
	client := redistest.Fleet(b, rdb, options...)
	serverID := keyspace.NewInstanceID()
	server, err := redispubsub.NewConn(client, serverSvc, serverID)
	if err != nil {
		b.Fatal(err)
	}
	caller, err := redispubsub.NewConn(client, callerSvc, keyspace.NewInstanceID())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = caller.Close()
		_ = server.Close()
	})
	sub, err := redispubsub.NewSubscriber(
		func(_ context.Context, req interface{}) (interface{}, error) {
			r := req.(sumRequest)
			return r.A + r.B, nil
		},
		func(_ context.Context, m *umf.Message) (interface{}, error) {
			var r sumRequest
			return r, m.DecodeBody(&r)
		},
		redispubsub.EncodeJSONResponse)
	if err != nil {
		b.Fatal(err)
	}
	server.Handle("/sum", sub.ServeMessage)
	pub, err := redispubsub.NewPublisher(caller, serverID+"@"+serverSvc+":/sum",
		redispubsub.EncodeJSONRequest,
		func(_ context.Context, m *umf.Message) (interface{}, error) {
			return strconv.Atoi(string(m.Body))
		})
	if err != nil {
		b.Fatal(err)
	}
	e := pub.Endpoint()
	return func(ctx context.Context, i int) error {
		v, err := e(ctx, sumRequest{A: i, B: 1})
		if err != nil {
			return err
		}
		if v.(int) != i+1 {
			return fmt.Errorf("hydrakit: wrong sum %d for %d", v, i)
		}
		return nil
	}
}
