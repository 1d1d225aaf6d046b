package statcount

import (
	"sync/atomic"

	kitmetrics "github.com/go-kit/kit/metrics"
)

// Counter is a Stats counter; Add reports to Metric too when it is set.
type Counter struct {
	atomic.Uint64
	Metric kitmetrics.Counter // nil in a component made without a client, as tests do
}

// Add adds n and returns the new count.
func (c *Counter) Add(n uint64) uint64 {
	if c.Metric != nil {
		c.Metric.Add(float64(n))
	}
	return c.Uint64.Add(n)
}
