package transport

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
	"github.com/hydrakit/hydrakit/transport/redispubsub"
	"github.com/hydrakit/hydrakit/umf"
)

// BenchmarkBusyReply measures how long a caller waits to learn that a saturated instance (its one
// handler slot taken) refuses its request: the Conn answers 503 (ErrBusy) at once instead of leaving
// the caller to its deadline. Every call runs under a 50 ms deadline; within-50ms is the share refused
// with ErrBusy before it (target: 1 while refusals stay under ConnErrorReplyRate, 1,000 a second by
// default), p50-µs and p99-µs the refusal's latency. "saturated" calls 500 times a second, under the
// rate bound; "flood" calls back to back, past it, where the bound shows: the refusals past 1,000 a
// second are not answered and those callers wait out their deadline. "idle" is the baseline in the
// same run: a plain round trip to the same instance with its slot free.
func BenchmarkBusyReply(b *testing.B) {
	client := redistest.Fleet(b, redistest.Client(b))
	serverID := keyspace.NewInstanceID()
	server, err := redispubsub.NewConn(client, "bench-busy", serverID, redispubsub.ConnConcurrency(1))
	if err != nil {
		b.Fatal(err)
	}
	caller, err := redispubsub.NewConn(client, "bench-busy-caller", keyspace.NewInstanceID())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = caller.Close()
		_ = server.Close()
	})
	var mu sync.Mutex
	var release chan struct{} // the slot holder of the running sub-benchmark waits on it
	held := make(chan struct{}, 1)
	server.Handle("/hold", func(ctx context.Context, _ *redispubsub.Conn, _ *umf.Message) {
		mu.Lock()
		ch := release
		mu.Unlock()
		held <- struct{}{}
		select {
		case <-ch:
		case <-ctx.Done():
		}
	})
	server.Handle("/idle", func(ctx context.Context, c *redispubsub.Conn, m *umf.Message) {
		_ = c.Reply(ctx, m, &umf.Message{Body: []byte(`1`)})
	})
	// The baseline's instance has the default slots: with one, a call right after a reply can find
	// the slot not yet given back and be refused, which is what the others measure.
	idleID := keyspace.NewInstanceID()
	idleServer, err := redispubsub.NewConn(client, "bench-idle", idleID)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = idleServer.Close() })
	idleServer.Handle("/idle", func(ctx context.Context, c *redispubsub.Conn, m *umf.Message) {
		_ = c.Reply(ctx, m, &umf.Message{Body: []byte(`1`)})
	})
	endpoint := func(to string) func() (time.Duration, error) {
		pub, err := redispubsub.NewPublisher(caller, to, redispubsub.EncodeJSONRequest,
			func(context.Context, *umf.Message) (any, error) { return nil, nil })
		if err != nil {
			b.Fatal(err)
		}
		e := pub.Endpoint()
		return func() (time.Duration, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := e(ctx, 1)
			return time.Since(start), err
		}
	}
	idle, busy := endpoint(idleID+"@bench-idle:/idle"), endpoint(serverID+"@bench-busy:/idle")
	// saturate takes the only handler slot until the returned func is called.
	saturate := func(b *testing.B) func() {
		ch := make(chan struct{})
		mu.Lock()
		release = ch
		mu.Unlock()
		m, _ := umf.New(serverID+"@bench-busy:/hold", caller.Address(), 1)
		if err := caller.Send(context.Background(), m); err != nil {
			b.Fatal(err)
		}
		<-held
		return func() { close(ch) }
	}
	b.Run("idle", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			d, err := idle()
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, d)
		}
		reportLatency(b, lat)
	})
	for _, tc := range []struct {
		name  string
		every time.Duration
	}{{"saturated", 2 * time.Millisecond}, {"flood", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			stop := saturate(b)
			defer stop()
			var lat []time.Duration
			refused, calls := 0, 0
			next := time.Now()
			for range b.N { // b.Loop here crashes the go1.26.8 compiler
				if d := time.Until(next); d > 0 {
					time.Sleep(d) // pacing the load, not synchronisation
				}
				next = next.Add(tc.every)
				d, err := busy()
				calls++
				switch {
				case errors.Is(err, redispubsub.ErrBusy):
					refused++
					lat = append(lat, d)
				case errors.Is(err, context.DeadlineExceeded):
				default:
					b.Fatalf("want ErrBusy or the deadline from a saturated instance, have %v", err)
				}
			}
			reportLatency(b, lat)
			b.ReportMetric(float64(refused)/float64(calls), "within-50ms")
		})
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}
