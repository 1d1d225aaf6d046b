// Package health benchmarks the flight recorder and the health reporter on a real Redis, each next to
// a raw go-redis baseline measured in the same run:
//   - Log: what the caller pays per error-level event. The baseline is the synchronous write a naive
//     Redis logger would make (MULTI LPUSH LTRIM EXPIRE, as Node Hydra does per entry); "x-raw" is the
//     recorder's ns/op divided by it. The recorder only encodes and queues; its goroutine batches the
//     writes, and what it cannot write in time is dropped and counted ("dropped/op").
//   - Report: one health snapshot (runtime sampling, JSON, one pipelined round trip) against a raw
//     SET PX + EXPIRE of a pre-encoded snapshot.
package health

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit/health"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/keyspace"
)

var baseline sync.Map // benchmark name → baseline ns/op

func nsPerOp(b *testing.B, start time.Time) float64 {
	return float64(time.Since(start).Nanoseconds()) / float64(b.N)
}

func ratio(b *testing.B, name string, start time.Time) {
	if base, ok := baseline.Load(name); ok {
		b.ReportMetric(nsPerOp(b, start)/base.(float64), "x-raw")
	}
}

func BenchmarkLog(b *testing.B) {
	rdb := redistest.Client(b)
	client := redistest.Fleet(b, rdb)
	ctx := context.Background()
	svc, iid := redistest.Name("bench"), keyspace.NewInstanceID()
	key := client.Keyspace().HealthLog(svc, iid)
	entry, _ := json.Marshal(health.Entry{TS: "2026-11-25T18:00:00.000Z", ServiceName: svc, Type: "error",
		ProcessID: 1, Msg: `payment failed err="card declined" mid=a7f3c1d2`})

	b.Run("raw-lpush", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			_, err := rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				p.LPush(ctx, key, entry)
				p.LTrim(ctx, key, 0, 63)
				p.Expire(ctx, key, 7*24*time.Hour)
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		baseline.Store("log", nsPerOp(b, start))
	})
	b.Run("nop-logger", func(b *testing.B) {
		b.ReportAllocs()
		logger := log.NewNopLogger()
		start := time.Now()
		for b.Loop() {
			_ = level.Error(logger).Log("msg", "payment failed", "err", "card declined", "mid", "a7f3c1d2")
		}
		ratio(b, "log", start)
	})
	for _, tc := range []struct {
		name  string
		level func(log.Logger) log.Logger
	}{
		{"recorder-error", level.Error}, // recorded
		{"recorder-info", level.Info},   // passed on only
	} {
		b.Run(tc.name, func(b *testing.B) {
			rec, err := health.NewRecorder(client, svc, iid)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				_ = tc.level(rec).Log("msg", "payment failed", "err", "card declined", "mid", "a7f3c1d2")
			}
			ratio(b, "log", start)
			b.StopTimer()
			if err := rec.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(rec.Stats().Dropped)/float64(b.N), "dropped/op")
		})
	}
}

func BenchmarkReport(b *testing.B) {
	rdb := redistest.Client(b)
	client := redistest.Fleet(b, rdb)
	ctx := context.Background()
	svc, iid := redistest.Name("bench"), keyspace.NewInstanceID()
	r, err := health.NewReporter(client, svc, iid) // writes the first snapshot
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := r.Close(); err != nil {
			b.Error(err)
		}
	})
	first, err := r.Report(ctx)
	if err != nil {
		b.Fatal(err)
	}
	snapshot, _ := json.Marshal(first)
	healthKey, logKey := client.Keyspace().Health(svc, iid), client.Keyspace().HealthLog(svc, iid)
	b.Run("raw-set", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			_, err := rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
				p.Set(ctx, healthKey, snapshot, 12*time.Second)
				p.Expire(ctx, logKey, 7*24*time.Hour)
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		baseline.Store("report", nsPerOp(b, start))
	})
	b.Run("reporter", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			if _, err := r.Report(ctx); err != nil {
				b.Fatal(err)
			}
		}
		ratio(b, "report", start)
	})
}
