package health

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// 1,000 concurrent readiness probes against a check that blocks ignoring its context: the check runs
// once, in one goroutine, whatever the probe rate; every probe answers 503 with the timeout; once the
// check returns, its goroutine is gone too (goleak, at the end of the package's tests).
func TestReadinessProbesShareOneRunOfAStuckCheck(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	c := NewChecker()
	if err := c.Register("stuck", func(context.Context) error {
		calls.Add(1)
		<-release
		return nil
	}, CheckTimeout(20*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	defer close(release)
	h := ReadinessHandler(c)
	base := runtime.NumGoroutine()
	const probes = 1000
	codes := make([]int, probes)
	bodies := make([]string, probes)
	var wg sync.WaitGroup
	for i := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			codes[i], bodies[i] = rec.Code, rec.Body.String()
		}()
	}
	wg.Wait()
	waitFor(t, "the probes' goroutines to end", func() bool { return runtime.NumGoroutine() <= base+1 })
	t.Logf("goroutines: %d before %d probes, %d after", base, probes, runtime.NumGoroutine())
	if want, have := int32(1), calls.Load(); want != have {
		t.Errorf("check ran %d times, want %d", have, want)
	}
	for i := range probes {
		var report Report
		if err := json.Unmarshal([]byte(bodies[i]), &report); err != nil {
			t.Fatalf("probe %d: %v: %s", i, err, bodies[i])
		}
		if codes[i] != http.StatusServiceUnavailable || report.Status != StatusFailing ||
			!strings.Contains(report.Checks[0].Error, ErrCheckTimeout.Error()) {
			t.Fatalf("probe %d: %d %s", i, codes[i], bodies[i])
		}
	}
}

// A result is reused for checkCacheFor, by the checker's clock. (Joining a run in progress is
// TestReadinessProbesShareOneRunOfAStuckCheck.)
func TestCheckResultsCached(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewChecker()
	c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var calls atomic.Int32
	if err := c.Register("dep", func(context.Context) error { calls.Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		advance time.Duration
		calls   int32
	}{{0, 1}, {0, 1}, {checkCacheFor - time.Millisecond, 1}, {time.Millisecond, 2}, {0, 2}} {
		mu.Lock()
		now = now.Add(step.advance)
		mu.Unlock()
		if r := c.Run(context.Background()); r.Status != StatusOK {
			t.Fatalf("%+v", r)
		}
		if want, have := step.calls, calls.Load(); want != have {
			t.Fatalf("after %v more: check ran %d times, want %d", step.advance, have, want)
		}
	}
}

// uncached makes c's clock move a cache period at each reading, so that every Run runs the checks.
func uncached(c *Checker) *Checker {
	var readings atomic.Int64
	c.now = func() time.Time { return time.Unix(0, 0).Add(time.Duration(readings.Add(1)) * checkCacheFor) }
	return c
}
