package transport

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
	"github.com/hydrakit/hydrakit/metrics/prom"
)

// unmeasured holds the round trip's req/s without metrics per in-flight count, for the ratio.
var unmeasured = map[int]float64{}

// BenchmarkMetrics measures what reporting every transport metric to a Prometheus registry (through
// go-kit's metrics/prometheus) costs a round trip, beside the same round trip with metrics.Discard,
// in the same run: x-off is req/s with metrics over req/s without, and paired alternates blocks of
// the two (x-off-paired), the ratio to trust on a shared machine.
func BenchmarkMetrics(b *testing.B) {
	client := redistest.Client(b)
	withMetrics := func(b *testing.B) []hydrakit.Option {
		set, err := prom.New(prometheus.NewRegistry())
		if err != nil {
			b.Fatal(err)
		}
		return []hydrakit.Option{hydrakit.WithMetrics(set)}
	}
	for _, n := range []int{1, 32} {
		b.Run(fmt.Sprintf("inflight=%d/off", n), func(b *testing.B) {
			unmeasured[n] = run(b, n, hydrakitBetween(b, client, "bench-calc", "bench-caller"))
		})
		b.Run(fmt.Sprintf("inflight=%d/prometheus", n), func(b *testing.B) {
			rps := run(b, n, hydrakitBetween(b, client, "bench-calc", "bench-caller", withMetrics(b)...))
			if base, ok := unmeasured[n]; ok {
				b.ReportMetric(rps/base, "x-off")
			}
		})
		b.Run(fmt.Sprintf("inflight=%d/paired", n), func(b *testing.B) {
			pairedAs(b, n, hydrakitBetween(b, client, "bench-calc", "bench-caller"),
				hydrakitBetween(b, client, "bench-calc", "bench-caller", withMetrics(b)...), "x-off-paired")
		})
	}
}
