package statcount

import (
	"testing"

	kitmetrics "github.com/go-kit/kit/metrics"
)

// sum is a go-kit Counter that adds up what it is given.
type sum struct{ total float64 }

func (s *sum) With(...string) kitmetrics.Counter { return s }
func (s *sum) Add(delta float64)                 { s.total += delta }

func TestCounterReportsToItsMetric(t *testing.T) {
	var bare Counter
	if have := bare.Add(2); have != 2 {
		t.Errorf("without a metric: want 2, have %d", have)
	}
	m := &sum{}
	c := Counter{Metric: m}
	c.Add(1)
	c.Add(3)
	if want, have := uint64(4), c.Load(); want != have {
		t.Errorf("count: want %d, have %d", want, have)
	}
	if want, have := 4.0, m.total; want != have {
		t.Errorf("metric: want %v, have %v", want, have)
	}
}
