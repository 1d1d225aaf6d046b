// Package router benchmarks hydrakit-router's HTTP forwarding (router/proxy): routed requests per
// second and p99 latency at 1 and 32 concurrent clients, beside httputil.ReverseProxy sending the same
// requests straight to the same backend in the same run, and their ratio.
package router

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
