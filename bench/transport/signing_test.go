package transport

import (
	"fmt"
	"testing"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
)

// unsigned holds the unsigned round trip's req/s per in-flight count, for the ratio.
var unsigned = map[int]float64{}

// BenchmarkSigning measures what signing every message and requiring valid signatures costs a round
// trip (the request and the reply are each signed by their sender and verified by their receiver,
// HMAC-SHA256 over Hydra's long form) beside the same round trip unsigned, in the same run:
// x-unsigned is signed req/s over unsigned req/s, and paired alternates blocks of the two
// (x-unsigned-paired), the ratio to trust on a shared machine.
func BenchmarkSigning(b *testing.B) {
	client := redistest.Client(b)
	signing := []hydrakit.Option{hydrakit.WithSigning("bench-secret", "previous-secret"), hydrakit.WithRequiredSignatures()}
	for _, n := range []int{1, 32} {
		b.Run(fmt.Sprintf("inflight=%d/unsigned", n), func(b *testing.B) {
			unsigned[n] = run(b, n, hydrakitBetween(b, client, "bench-calc", "bench-caller"))
		})
		b.Run(fmt.Sprintf("inflight=%d/signed", n), func(b *testing.B) {
			rps := run(b, n, hydrakitBetween(b, client, "bench-calc", "bench-caller", signing...))
			if base, ok := unsigned[n]; ok {
				b.ReportMetric(rps/base, "x-unsigned")
			}
		})
		b.Run(fmt.Sprintf("inflight=%d/paired", n), func(b *testing.B) {
			pairedAs(b, n, hydrakitBetween(b, client, "bench-calc", "bench-caller"),
				hydrakitBetween(b, client, "bench-calc", "bench-caller", signing...), "x-unsigned-paired")
		})
	}
}
